/*
 * qmp.c: the QMP protocol on a chardev (see monitor.h).
 *
 * Life of a request:
 *
 *   chardev read -> JSONStreamer -> qmp_handle_input()
 *       exec-oob (negotiated): dispatched at once, before anything queued
 *       otherwise: appended to mon->requests (parse errors too, so that
 *       their replies keep their place in the order)
 *   dispatcher coroutine: pops requests one by one, runs qmp_dispatch()
 *       against the connection's current command table, writes the reply
 *
 * Before negotiation the table holds only qmp_capabilities, and a
 * CommandNotFound reply is reworded to ask for negotiation, exactly as
 * QEMU does.  A connection that closes while its command runs gets no
 * reply: each connection has a generation number, and a reply for an
 * older generation is dropped.
 *
 * Output is one JSON text per line, terminated by CRLF; pretty monitors
 * break the text into CRLF-separated lines too.
 */
#include "qemu/osdep.h"

#include "monitor/chardev.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi-commands.h"
#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/json-stream.h"
#include "qemu/json-writer.h"
#include "qemu/queue.h"
#include "trace.h"

/* QEMU's limit on requests waiting per connection. */
#define QMP_REQ_QUEUE_LEN_MAX 8

typedef struct QMPRequest {
    JsonNode *req;          /* or NULL with @err: a parse error to report */
    Error *err;
} QMPRequest;

struct Monitor {
    Chardev *chr;
    bool pretty;

    /* The current connection. */
    bool connected;
    unsigned int generation;
    QmpCommandList *commands;
    bool oob;
    JSONStreamer *js;
    GQueue requests;        /* of QMPRequest */

    Coroutine *dispatcher;
    bool dispatcher_idle;   /* parked, waiting for a request */
    bool closing;           /* the dispatcher returns when next woken */
    JsonNode *held_rsp;     /* the reply to quit, sent at cleanup */

    QTAILQ_ENTRY(Monitor) next;
};

QmpCommandList qmp_commands = QTAILQ_HEAD_INITIALIZER(qmp_commands);
QmpCommandList qmp_cap_negotiation_commands =
    QTAILQ_HEAD_INITIALIZER(qmp_cap_negotiation_commands);

static QTAILQ_HEAD(, Monitor) monitors = QTAILQ_HEAD_INITIALIZER(monitors);

/* The monitor running a command outside coroutine context (OOB). */
static Monitor *cur_mon_oob;

static void (*quit_handler)(void);
/* quit was asked: replies wait for monitor_cleanup(). */
static bool quit_requested;

/* --------------------------------------------------------------- output */

static void monitor_send(Monitor *mon, JsonNode *msg)
{
    g_autoptr(GString) text = g_string_new(NULL);
    g_autoptr(GString) wire = NULL;

    json_writer_append(text, msg, mon->pretty);
    g_string_append_c(text, '\n');
    /* QMP lines end in CRLF, pretty ones inside a message too. */
    wire = g_string_sized_new(text->len + 16);
    for (gsize i = 0; i < text->len; i++) {
        if (text->str[i] == '\n') {
            g_string_append_c(wire, '\r');
        }
        g_string_append_c(wire, text->str[i]);
    }
    trace_monitor_qmp_send(mon, text->str);
    chardev_write(mon->chr, wire->str, wire->len);
}

static void monitor_send_greeting(Monitor *mon)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) greeting = NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "QMP");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "micro");
    json_builder_add_int_value(b, QBLOCK_QEMU_MICRO);
    json_builder_set_member_name(b, "minor");
    json_builder_add_int_value(b, QBLOCK_QEMU_MINOR);
    json_builder_set_member_name(b, "major");
    json_builder_add_int_value(b, QBLOCK_QEMU_MAJOR);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "package");
    json_builder_add_string_value(b, QBLOCK_PACKAGE);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "capabilities");
    json_builder_begin_array(b);
    json_builder_add_string_value(b, "oob");
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_object(b);
    greeting = json_builder_get_root(b);
    monitor_send(mon, greeting);
}

/* ------------------------------------------------------------ dispatch */

/*
 * Run one request against the connection's current table.  Before
 * negotiation, an unknown command means "negotiate first".
 */
static JsonNode *monitor_qmp_dispatch(Monitor *mon, JsonNode *req, bool oob)
{
    JsonNode *rsp = qmp_dispatch(mon->commands, req, oob && mon->oob);
    JsonObject *error;

    if (rsp && mon->commands == &qmp_cap_negotiation_commands &&
        json_object_has_member(json_node_get_object(rsp), "error")) {
        error = json_object_get_object_member(json_node_get_object(rsp),
                                              "error");
        if (!g_strcmp0(json_object_get_string_member(error, "class"),
                       "CommandNotFound")) {
            json_object_set_string_member(error, "desc",
                "Expecting capabilities negotiation with 'qmp_capabilities'");
        }
    }
    return rsp;
}

/* The request's id as JSON text, or "" (QEMU's trace field). */
static char *qmp_request_id_text(JsonNode *req)
{
    JsonObject *obj;

    if (!JSON_NODE_HOLDS_OBJECT(req)) {
        return g_strdup("");
    }
    obj = json_node_get_object(req);
    if (!json_object_has_member(obj, "id")) {
        return g_strdup("");
    }
    return json_writer_to_string(json_object_get_member(obj, "id"), false);
}

static void qmp_request_free(QMPRequest *r)
{
    if (r->req) {
        json_node_unref(r->req);
    }
    error_free(r->err);
    g_free(r);
}

/*
 * Whether to stop reading.  Without OOB a connection reads nothing while a
 * request waits, as QEMU's does: a client that half-closes after writing
 * its requests (echo ... | socat) still gets every reply, because the EOF
 * is read only once they are sent.  With OOB reading goes on, so that an
 * exec-oob can overtake, up to QMP_REQ_QUEUE_LEN_MAX waiting requests.
 */
static bool monitor_qmp_queue_full(Monitor *mon)
{
    guint len = g_queue_get_length(&mon->requests);

    return mon->oob ? len >= QMP_REQ_QUEUE_LEN_MAX : len > 0;
}

static void coroutine_fn monitor_dispatcher_co(void *opaque)
{
    Monitor *mon = opaque;

    for (;;) {
        QMPRequest *r = g_queue_pop_head(&mon->requests);
        unsigned int generation = mon->generation;
        JsonNode *rsp;

        if (!r) {
            mon->dispatcher_idle = true;
            qemu_coroutine_yield();
            mon->dispatcher_idle = false;
            if (mon->closing) {
                return;
            }
            continue;
        }
        if (r->err) {
            rsp = qmp_error_response(r->err);
        } else {
            g_autofree char *id = qmp_request_id_text(r->req);

            trace_monitor_qmp_cmd_in_band(id);
            rsp = monitor_qmp_dispatch(mon, r->req, false);
        }
        qmp_request_free(r);
        if (rsp && quit_requested && !mon->held_rsp &&
            mon->connected && mon->generation == generation) {
            /*
             * The daemon is going down (this was quit, or a command that
             * raced with it): as QEMU's, the reply goes out only after
             * shutdown has cancelled the jobs and sent their events.
             */
            mon->held_rsp = rsp;
            rsp = NULL;
        }
        if (rsp) {
            if (mon->connected && mon->generation == generation) {
                monitor_send(mon, rsp);
            }
            json_node_unref(rsp);
        }
        if (mon->connected && mon->generation == generation &&
            !monitor_qmp_queue_full(mon)) {
            chardev_set_accept_input(mon->chr, true);
        }
    }
}

static void monitor_kick_dispatcher(Monitor *mon)
{
    if (mon->dispatcher_idle && !g_queue_is_empty(&mon->requests)) {
        qemu_coroutine_enter(mon->dispatcher);
    }
}

/* Called by the streamer for every complete value or parse error. */
static void qmp_handle_input(void *opaque, JsonNode *req, Error *err)
{
    Monitor *mon = opaque;
    QMPRequest *r;

    if (req && mon->oob && JSON_NODE_HOLDS_OBJECT(req) &&
        json_object_has_member(json_node_get_object(req), "exec-oob")) {
        JsonNode *rsp;

        g_autofree char *id = qmp_request_id_text(req);

        trace_monitor_qmp_cmd_out_of_band(id);
        cur_mon_oob = mon;
        rsp = monitor_qmp_dispatch(mon, req, true);
        cur_mon_oob = NULL;
        json_node_unref(req);
        if (rsp) {
            monitor_send(mon, rsp);
            json_node_unref(rsp);
        }
        return;
    }

    r = g_new0(QMPRequest, 1);
    r->req = req;
    r->err = err;
    g_queue_push_tail(&mon->requests, r);
    if (monitor_qmp_queue_full(mon)) {
        trace_monitor_qmp_suspend(mon, g_queue_get_length(&mon->requests));
        chardev_set_accept_input(mon->chr, false);
    }
}

/* ------------------------------------------------------ chardev events */

static void monitor_qmp_read(void *opaque, const char *buf, size_t len)
{
    Monitor *mon = opaque;

    json_streamer_feed(mon->js, buf, len);
    monitor_kick_dispatcher(mon);
}

static void monitor_qmp_connected(void *opaque)
{
    Monitor *mon = opaque;

    mon->connected = true;
    mon->generation++;
    mon->commands = &qmp_cap_negotiation_commands;
    mon->oob = false;
    mon->js = json_streamer_new(qmp_handle_input, mon);
    trace_monitor_qmp_connected(mon, mon->generation);
    monitor_send_greeting(mon);
}

static void monitor_qmp_disconnected(void *opaque)
{
    Monitor *mon = opaque;
    QMPRequest *r;

    trace_monitor_qmp_disconnected(mon, mon->generation);
    mon->connected = false;
    json_streamer_free(mon->js);
    mon->js = NULL;
    while ((r = g_queue_pop_head(&mon->requests))) {
        qmp_request_free(r);
    }
    chardev_set_accept_input(mon->chr, true);
}

static const ChardevHandlers monitor_qmp_handlers = {
    .connected = monitor_qmp_connected,
    .read = monitor_qmp_read,
    .disconnected = monitor_qmp_disconnected,
};

/* --------------------------------------------------------------- events */

static void monitor_qapi_event_emit(const char *event, JsonObject *data)
{
    g_autoptr(JsonObject) msg = json_object_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    JsonObject *ts = json_object_new();
    gint64 now = g_get_real_time();
    Monitor *mon;

    json_object_set_int_member(ts, "seconds", now / G_USEC_PER_SEC);
    json_object_set_int_member(ts, "microseconds", now % G_USEC_PER_SEC);
    json_object_set_object_member(msg, "timestamp", ts);
    json_object_set_string_member(msg, "event", event);
    if (data) {
        json_object_set_object_member(msg, "data", data);
    }
    json_node_set_object(node, msg);
    trace_monitor_qapi_event_emit(event);

    QTAILQ_FOREACH(mon, &monitors, next) {
        if (mon->connected && mon->commands == &qmp_commands) {
            monitor_send(mon, node);
        }
    }
}

/* ------------------------------------------------------------------ API */

void monitor_init_globals(void)
{
    qmp_init_marshal(&qmp_commands);
    /*
     * Before negotiation only qmp_capabilities exists, so that every
     * other name is "not found" and gets the negotiation hint.
     */
    qmp_register_command(&qmp_cap_negotiation_commands, "qmp_capabilities",
                         qmp_find_command(&qmp_commands,
                                          "qmp_capabilities")->fn,
                         QCO_ALLOW_OOB);
    qapi_event_set_emitter(monitor_qapi_event_emit);
}

Monitor *monitor_new_qmp(const char *chardev_id, bool pretty, Error **errp)
{
    Chardev *chr = chardev_find(chardev_id);
    Monitor *mon;

    if (!chr) {
        error_setg(errp, "chardev \"%s\" not found", chardev_id);
        return NULL;
    }
    mon = g_new0(Monitor, 1);
    mon->chr = chr;
    mon->pretty = pretty;
    mon->commands = &qmp_cap_negotiation_commands;
    g_queue_init(&mon->requests);
    mon->dispatcher = qemu_coroutine_create(monitor_dispatcher_co, mon);
    /* Start it so that it parks itself waiting for the first request. */
    qemu_coroutine_enter(mon->dispatcher);
    if (!chardev_attach(chr, &monitor_qmp_handlers, mon, errp)) {
        mon->closing = true;
        qemu_coroutine_enter(mon->dispatcher);
        g_free(mon);
        return NULL;
    }
    QTAILQ_INSERT_TAIL(&monitors, mon, next);
    return mon;
}

Monitor *monitor_cur(void)
{
    Coroutine *requester = qmp_dispatch_requester();
    Monitor *mon;

    QTAILQ_FOREACH(mon, &monitors, next) {
        if (requester && mon->dispatcher == requester) {
            return mon;
        }
    }
    return cur_mon_oob;
}

void monitor_qmp_enter_command_mode(Monitor *mon, bool oob)
{
    mon->commands = &qmp_commands;
    mon->oob = oob;
}

bool monitor_qmp_in_negotiation(Monitor *mon)
{
    return mon->commands == &qmp_cap_negotiation_commands;
}

void monitor_set_quit_handler(void (*fn)(void))
{
    quit_handler = fn;
}

void monitor_request_quit(void)
{
    quit_requested = true;
    if (quit_handler) {
        quit_handler();
    }
}

void monitor_cleanup(void)
{
    Monitor *mon, *next;

    QTAILQ_FOREACH_SAFE(mon, &monitors, next, next) {
        QMPRequest *r;

        QTAILQ_REMOVE(&monitors, mon, next);
        if (mon->held_rsp) {
            if (mon->connected) {
                monitor_send(mon, mon->held_rsp);
            }
            json_node_unref(mon->held_rsp);
            mon->held_rsp = NULL;
        }
        chardev_flush(mon->chr);
        json_streamer_free(mon->js);
        while ((r = g_queue_pop_head(&mon->requests))) {
            qmp_request_free(r);
        }
        /*
         * A parked dispatcher ends its loop; one still inside a command
         * (shutdown while a coroutine command waits) is left to the
         * process's end, since nothing may free it mid-command.
         */
        if (mon->dispatcher_idle) {
            mon->closing = true;
            qemu_coroutine_enter(mon->dispatcher);
            g_free(mon);
        }
    }
}
