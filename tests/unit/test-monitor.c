/*
 * Tests of the QMP monitor over real unix sockets: event delivery and
 * request order across connections.
 *
 * Two monitors run in this process on two socket chardevs; the test is
 * their client too, so the event loop is pumped by hand (aio_poll) while
 * it waits for bytes.
 */
#include "qemu/osdep.h"

#include <sys/socket.h>
#include <sys/un.h>

#include "monitor/chardev.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/json-stream.h"

static char *tmpdir;

static int client_connect(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), ==,
                    0);
    g_assert_cmpint(fcntl(fd, F_SETFL, O_NONBLOCK), ==, 0);
    return fd;
}

/*
 * Pump the event loop until @fd has delivered one whole line (or, with
 * @expect_none, until a short while has passed); returns the line
 * without its CRLF, or NULL.
 */
static char *read_line(int fd, bool expect_none)
{
    g_autoptr(GString) buf = g_string_new(NULL);
    int64_t deadline = g_get_monotonic_time() +
                       (expect_none ? 200 : 5000) * 1000;

    while (g_get_monotonic_time() < deadline) {
        char c;
        ssize_t n;

        aio_poll(qemu_get_aio_context(), false);
        n = read(fd, &c, 1);
        if (n == 1) {
            g_string_append_c(buf, c);
            if (g_str_has_suffix(buf->str, "\r\n")) {
                g_string_truncate(buf, buf->len - 2);
                return g_strdup(buf->str);
            }
        } else {
            g_usleep(1000);
        }
    }
    return NULL;
}

static void send_line(int fd, const char *text)
{
    g_assert_cmpint(write(fd, text, strlen(text)), ==, strlen(text));
}

static JsonObject *parse_object(const char *text)
{
    g_autoptr(JsonNode) node = json_parse_string(text, &error_abort);

    g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
    return json_object_ref(json_node_get_object(node));
}

/*
 * An event reaches every connection that negotiated capabilities, with a
 * timestamp, and none that did not.
 */
static void test_events_to_negotiated_only(void)
{
    g_autofree char *p1 = g_build_filename(tmpdir, "m1.sock", NULL);
    g_autofree char *p2 = g_build_filename(tmpdir, "m2.sock", NULL);
    g_autofree char *opt1 = g_strdup_printf("socket,id=ev1,path=%s,"
                                            "server=on,wait=off", p1);
    g_autofree char *opt2 = g_strdup_printf("socket,id=ev2,path=%s,"
                                            "server=on,wait=off", p2);
    g_autofree char *line = NULL;
    g_autoptr(JsonObject) ev = NULL;
    JsonObject *data, *ts;
    struct stat st;
    int a, b;

    g_assert_nonnull(chardev_new_from_opts(opt1, &error_abort));
    g_assert_nonnull(chardev_new_from_opts(opt2, &error_abort));
    g_assert_nonnull(monitor_new_qmp("ev1", false, &error_abort));
    g_assert_nonnull(monitor_new_qmp("ev2", false, &error_abort));
    /* Only the owner may talk to a monitor. */
    g_assert_cmpint(stat(p1, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);

    a = client_connect(p1);
    b = client_connect(p2);
    g_free(read_line(a, false));            /* greetings */
    g_free(read_line(b, false));
    send_line(a, "{\"execute\": \"qmp_capabilities\"}");
    line = read_line(a, false);
    g_assert_cmpstr(line, ==, "{\"return\": {}}");

    data = json_object_new();
    json_object_set_string_member(data, "id", "job0");
    qapi_event_emit("TEST_EVENT", data);

    g_free(line);
    line = read_line(a, false);
    g_assert_nonnull(line);
    ev = parse_object(line);
    g_assert_cmpstr(json_object_get_string_member(ev, "event"), ==,
                    "TEST_EVENT");
    data = json_object_get_object_member(ev, "data");
    g_assert_cmpstr(json_object_get_string_member(data, "id"), ==, "job0");
    ts = json_object_get_object_member(ev, "timestamp");
    g_assert_cmpint(json_object_get_int_member(ts, "seconds"), >,
                    1700000000);
    g_assert_cmpint(json_object_get_int_member(ts, "microseconds"), <,
                    1000000);
    /* QEMU's member order on the wire. */
    g_assert_true(g_str_has_prefix(line, "{\"timestamp\": {\"seconds\": "));

    /* The connection still negotiating sees nothing. */
    g_free(line);
    line = read_line(b, true);
    g_assert_null(line);

    /* Once it negotiates, the next event reaches it too. */
    send_line(b, "{\"execute\": \"qmp_capabilities\"}");
    line = read_line(b, false);
    g_assert_cmpstr(line, ==, "{\"return\": {}}");
    qapi_event_emit("TEST_EVENT2", NULL);
    g_free(line);
    line = read_line(b, false);
    g_assert_true(g_str_has_suffix(line, "\"event\": \"TEST_EVENT2\"}"));
    g_free(line);
    line = read_line(a, false);
    g_assert_true(g_str_has_suffix(line, "\"event\": \"TEST_EVENT2\"}"));
    close(a);
    close(b);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    monitor_init_globals();
    tmpdir = g_dir_make_tmp("test-monitor-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/monitor/events/negotiated-only",
                    test_events_to_negotiated_only);
    ret = g_test_run();
    monitor_cleanup();
    chardev_close_all();
    rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
