/*
 * test-nbd-common.c: the NBD wire headers against hand-written byte
 * strings from the protocol document's layout, the errno mapping both
 * ways, and SocketAddress listen/connect over real sockets.
 */
#include "qemu/osdep.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include "block/nbd.h"
#include "qemu/sockets.h"

static void test_request_bytes(void)
{
    /* READ 4 KiB at 1 MiB, cookie 7, FUA set: the header's own example. */
    static const uint8_t want[NBD_REQUEST_SIZE] = {
        0x25, 0x60, 0x95, 0x13,  0x00, 0x01,  0x00, 0x00,
        0, 0, 0, 0, 0, 0, 0, 7,
        0, 0, 0, 0, 0x00, 0x10, 0x00, 0x00,
        0x00, 0x00, 0x10, 0x00,
    };
    NBDRequest req = {
        .flags = NBD_CMD_FLAG_FUA, .type = NBD_CMD_READ, .cookie = 7,
        .offset = 1024 * 1024, .len = 4096,
    };
    NBDRequest back;
    uint8_t buf[NBD_REQUEST_SIZE];

    nbd_encode_request(buf, &req);
    g_assert_cmpmem(buf, sizeof(buf), want, sizeof(want));
    g_assert_true(nbd_decode_request(buf, &back));
    g_assert_cmpuint(back.flags, ==, req.flags);
    g_assert_cmpuint(back.type, ==, req.type);
    g_assert_cmpuint(back.cookie, ==, req.cookie);
    g_assert_cmpuint(back.offset, ==, req.offset);
    g_assert_cmpuint(back.len, ==, req.len);

    /* Every field at its extreme survives the trip. */
    req = (NBDRequest) {
        .flags = 0xffff, .type = 0xffff, .cookie = UINT64_MAX,
        .offset = UINT64_MAX, .len = UINT32_MAX,
    };
    nbd_encode_request(buf, &req);
    g_assert_true(nbd_decode_request(buf, &back));
    g_assert_cmpuint(back.cookie, ==, UINT64_MAX);
    g_assert_cmpuint(back.offset, ==, UINT64_MAX);
    g_assert_cmpuint(back.len, ==, UINT32_MAX);

    /* A wrong magic is refused. */
    buf[0] ^= 1;
    g_assert_false(nbd_decode_request(buf, &back));
}

static void test_reply_bytes(void)
{
    static const uint8_t simple[NBD_SIMPLE_REPLY_SIZE] = {
        0x67, 0x44, 0x66, 0x98,  0x00, 0x00, 0x00, 0x05,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    };
    static const uint8_t chunk[NBD_STRUCTURED_REPLY_SIZE] = {
        0x66, 0x8e, 0x33, 0xef,  0x00, 0x01,  0x00, 0x01,
        0, 0, 0, 0, 0, 0, 0, 7,
        0x00, 0x00, 0x10, 0x08,
    };
    uint8_t buf[NBD_STRUCTURED_REPLY_SIZE];
    NBDReply r;

    nbd_encode_simple_reply(buf, NBD_EIO, 0x0102030405060708ULL);
    g_assert_cmpmem(buf, NBD_SIMPLE_REPLY_SIZE, simple, sizeof(simple));
    g_assert_cmpuint(nbd_reply_header_size(buf), ==, NBD_SIMPLE_REPLY_SIZE);
    nbd_decode_reply(buf, &r);
    g_assert_cmphex(r.magic, ==, NBD_SIMPLE_REPLY_MAGIC);
    g_assert_cmpuint(r.error, ==, NBD_EIO);
    g_assert_cmphex(r.cookie, ==, 0x0102030405060708ULL);

    nbd_encode_structured_reply(buf, NBD_REPLY_FLAG_DONE,
                                NBD_REPLY_TYPE_OFFSET_DATA, 7, 4096 + 8);
    g_assert_cmpmem(buf, sizeof(buf), chunk, sizeof(chunk));
    g_assert_cmpuint(nbd_reply_header_size(buf), ==,
                     NBD_STRUCTURED_REPLY_SIZE);
    nbd_decode_reply(buf, &r);
    g_assert_cmpuint(r.flags, ==, NBD_REPLY_FLAG_DONE);
    g_assert_cmpuint(r.type, ==, NBD_REPLY_TYPE_OFFSET_DATA);
    g_assert_cmpuint(r.cookie, ==, 7);
    g_assert_cmpuint(r.length, ==, 4104);
    g_assert_false(nbd_reply_type_is_error(r.type));
    g_assert_true(nbd_reply_type_is_error(NBD_REPLY_TYPE_ERROR_OFFSET));

    buf[3] = 0;
    g_assert_cmpuint(nbd_reply_header_size(buf), ==, 0);
}

static void test_errno_mapping(void)
{
    static const struct {
        int sys;
        uint32_t wire;
    } both_ways[] = {
        { 0, NBD_SUCCESS }, { EPERM, NBD_EPERM }, { EIO, NBD_EIO },
        { ENOMEM, NBD_ENOMEM }, { EINVAL, NBD_EINVAL },
        { ENOSPC, NBD_ENOSPC }, { EOVERFLOW, NBD_EOVERFLOW },
        { ENOTSUP, NBD_ENOTSUP }, { ESHUTDOWN, NBD_ESHUTDOWN },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(both_ways); i++) {
        g_assert_cmpuint(nbd_errno_from_system(both_ways[i].sys), ==,
                         both_ways[i].wire);
        g_assert_cmpuint(nbd_errno_from_system(-both_ways[i].sys), ==,
                         both_ways[i].wire);
        g_assert_cmpint(nbd_errno_to_system(both_ways[i].wire), ==,
                        both_ways[i].sys);
    }
    /* Host-only errors fold into the nearest wire error. */
    g_assert_cmpuint(nbd_errno_from_system(-EROFS), ==, NBD_EPERM);
    g_assert_cmpuint(nbd_errno_from_system(EFBIG), ==, NBD_ENOSPC);
    g_assert_cmpuint(nbd_errno_from_system(EDQUOT), ==, NBD_ENOSPC);
    g_assert_cmpuint(nbd_errno_from_system(EOPNOTSUPP), ==, NBD_ENOTSUP);
    g_assert_cmpuint(nbd_errno_from_system(ENOENT), ==, NBD_EINVAL);
    /* A wire error a peer made up becomes EINVAL, never 0. */
    g_assert_cmpint(nbd_errno_to_system(4242), ==, EINVAL);
}

static void test_names(void)
{
    g_assert_cmpstr(nbd_opt_name(NBD_OPT_GO), ==, "go");
    g_assert_cmpstr(nbd_opt_name(99), ==, "<unknown>");
    g_assert_cmpstr(nbd_rep_name(NBD_REP_ERR_UNKNOWN), ==, "export unknown");
    g_assert_cmpstr(nbd_info_name(NBD_INFO_EXPORT), ==, "export");
    g_assert_cmpstr(nbd_info_name(NBD_INFO_BLOCK_SIZE), ==, "block size");
    g_assert_cmpstr(nbd_cmd_name(NBD_CMD_READ), ==, "read");
    g_assert_cmpstr(nbd_cmd_name(NBD_CMD_BLOCK_STATUS), ==, "block status");
    g_assert_cmpstr(nbd_reply_type_name(NBD_REPLY_TYPE_NONE), ==, "none");
    g_assert_cmpstr(nbd_err_name(NBD_SUCCESS), ==, "success");
    g_assert_cmpstr(nbd_err_name(NBD_ENOSPC), ==, "ENOSPC");
}

/* Listen on @addr, connect to it, and pass one byte across. */
static void check_listen_connect(const SocketAddress *laddr,
                                 const SocketAddress *caddr)
{
    int lfd, cfd, afd;
    char c = 'x';

    lfd = socket_address_listen(laddr, 1, &error_abort);
    cfd = socket_address_connect(caddr, &error_abort);
    afd = accept(lfd, NULL, NULL);
    g_assert_cmpint(afd, >=, 0);
    g_assert_cmpint(write(cfd, &c, 1), ==, 1);
    c = 0;
    g_assert_cmpint(read(afd, &c, 1), ==, 1);
    g_assert_cmpint(c, ==, 'x');
    /* close-on-exec, as the contract says. */
    g_assert_true(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
    close(afd);
    close(cfd);
    close(lfd);
}

static void test_unix(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-nbd-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *missing = g_build_filename(dir, "no", "s.sock", NULL);
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    g_autofree char *str = NULL;
    Error *err = NULL;

    addr.u.q_unix.path = path;
    check_listen_connect(&addr, &addr);
    str = socket_address_to_string(&addr);
    g_assert_true(g_str_has_prefix(str, "unix:"));

    /* Nobody listens any more: the connect fails with QEMU's text. */
    g_assert_cmpint(socket_address_connect(&addr, &err), ==, -1);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "Failed to connect to '"));
    g_clear_pointer(&err, error_free);

    addr.u.q_unix.path = missing;
    g_assert_cmpint(socket_address_listen(&addr, 1, &err), ==, -1);
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "Failed to bind socket to "));
    g_clear_pointer(&err, error_free);

    /* An abstract name leaves nothing in the file system. */
    addr.u.q_unix.path = path;
    addr.u.q_unix.has_abstract = true;
    addr.u.q_unix.abstract = true;
    unlink(path);
    check_listen_connect(&addr, &addr);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    rmdir(dir);
}

static void test_inet(void)
{
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_INET };
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    g_autofree char *port = NULL;
    g_autofree char *refused = NULL;
    Error *err = NULL;
    int lfd, busy;

    /* Find a free port by binding port 0, then use it by number. */
    addr.u.inet.host = (char *)"127.0.0.1";
    addr.u.inet.port = (char *)"0";
    lfd = socket_address_listen(&addr, 1, &error_abort);
    g_assert_cmpint(getsockname(lfd, (struct sockaddr *)&sin, &len), ==, 0);
    close(lfd);
    port = g_strdup_printf("%d", ntohs(sin.sin_port));
    addr.u.inet.port = port;
    check_listen_connect(&addr, &addr);

    /* A port in use, as QEMU words it. */
    busy = socket_address_listen(&addr, 1, &error_abort);
    g_assert_cmpint(socket_address_listen(&addr, 1, &err), ==, -1);
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "Failed to find an available port: "));
    g_clear_pointer(&err, error_free);
    close(busy);

    /* Refused. */
    g_assert_cmpint(socket_address_connect(&addr, &err), ==, -1);
    refused = g_strdup_printf("Failed to connect to '127.0.0.1:%s': "
                              "Connection refused", port);
    g_assert_cmpstr(error_get_pretty(err), ==, refused);
    g_clear_pointer(&err, error_free);

    /* A name that does not resolve. */
    addr.u.inet.host = (char *)"no-such-host.invalid";
    g_assert_cmpint(socket_address_connect(&addr, &err), ==, -1);
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "address resolution failed for "
                                   "no-such-host.invalid:"));
    g_clear_pointer(&err, error_free);
}

static void test_fd_and_legacy(void)
{
    SocketAddressLegacy legacy = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    UnixSocketAddress u = { .path = (char *)"/tmp/x.sock" };
    UnixSocketAddressWrapper w = { .data = &u };
    SocketAddress fdaddr = { .type = SOCKET_ADDRESS_TYPE_FD };
    g_autoptr(SocketAddress) addr = NULL;
    g_autofree char *num = NULL;
    Error *err = NULL;
    int sv[2], fd;

    legacy.u.q_unix = w;
    addr = socket_address_from_legacy(&legacy);
    g_assert_cmpint(addr->type, ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_cmpstr(addr->u.q_unix.path, ==, "/tmp/x.sock");
    g_assert_true(addr->u.q_unix.path != u.path);

    /* An inherited stream socket, by number. */
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    num = g_strdup_printf("%d", sv[0]);
    fdaddr.u.fd.str = num;
    fd = socket_address_connect(&fdaddr, &error_abort);
    g_assert_cmpint(fd, ==, sv[0]);
    close(sv[0]);
    close(sv[1]);

    fdaddr.u.fd.str = (char *)"12x";
    g_assert_cmpint(socket_address_connect(&fdaddr, &err), ==, -1);
    g_assert_nonnull(err);
    g_clear_pointer(&err, error_free);
    /* A number that is open, but no socket. */
    fd = open("/dev/null", O_RDONLY);
    g_free(num);
    num = g_strdup_printf("%d", fd);
    fdaddr.u.fd.str = num;
    g_assert_cmpint(socket_address_connect(&fdaddr, &err), ==, -1);
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "Unable to use file descriptor "));
    g_clear_pointer(&err, error_free);
    close(fd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/nbd/wire/request", test_request_bytes);
    g_test_add_func("/nbd/wire/reply", test_reply_bytes);
    g_test_add_func("/nbd/errno", test_errno_mapping);
    g_test_add_func("/nbd/names", test_names);
    g_test_add_func("/sockets/unix", test_unix);
    g_test_add_func("/sockets/inet", test_inet);
    g_test_add_func("/sockets/fd-and-legacy", test_fd_and_legacy);
    return g_test_run();
}
