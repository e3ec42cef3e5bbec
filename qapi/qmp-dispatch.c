/*
 * qmp-dispatch.c: the command table, request checking and replies.
 *
 * A request goes through three gates before its marshaller runs, each
 * with QEMU 7.2's exact message (class GenericError unless said):
 *
 *   1. shape:   a JSON object whose members are "execute" (a string),
 *               "exec-oob" (a string; only when OOB is negotiated),
 *               "arguments" (an object) and "id" (anything), and that has
 *               "execute" or "exec-oob";
 *   2. lookup:  a registered command (CommandNotFound), enabled
 *               (CommandNotFound), and allowing OOB if sent as such;
 *   3. arguments: the marshaller parses them with the strict input
 *               visitor, which produces the "Parameter ..." errors.
 *
 * Members are checked in the order the request wrote them, so the first
 * offending member is the one reported.  The "id", if any, is copied into
 * every reply, error or not, once the request is an object.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qapi/qjson.h"
#include "qapi/qmp-dispatch.h"
#include "qemu/aio.h"
#include "qemu/coroutine.h"

void qmp_register_command(QmpCommandList *cmds, const char *name,
                          QmpCommandFunc *fn, QmpCommandOptions options)
{
    QmpCommand *cmd = g_new0(QmpCommand, 1);

    assert(!qmp_find_command(cmds, name));
    cmd->name = name;
    cmd->fn = fn;
    cmd->options = options;
    cmd->enabled = true;
    QTAILQ_INSERT_TAIL(cmds, cmd, node);
}

void qmp_unregister_commands(QmpCommandList *cmds)
{
    QmpCommand *cmd;

    while ((cmd = QTAILQ_FIRST(cmds))) {
        QTAILQ_REMOVE(cmds, cmd, node);
        g_free(cmd);
    }
}

const QmpCommand *qmp_find_command(const QmpCommandList *cmds,
                                   const char *name)
{
    QmpCommand *cmd;

    QTAILQ_FOREACH(cmd, cmds, node) {
        if (!strcmp(cmd->name, name)) {
            return cmd;
        }
    }
    return NULL;
}

static void set_enabled(QmpCommandList *cmds, const char *name, bool enabled)
{
    QmpCommand *cmd;

    QTAILQ_FOREACH(cmd, cmds, node) {
        if (!strcmp(cmd->name, name)) {
            cmd->enabled = enabled;
            return;
        }
    }
}

void qmp_disable_command(QmpCommandList *cmds, const char *name)
{
    set_enabled(cmds, name, false);
}

void qmp_enable_command(QmpCommandList *cmds, const char *name)
{
    set_enabled(cmds, name, true);
}

void qmp_for_each_command(const QmpCommandList *cmds,
                          void (*fn)(const QmpCommand *cmd, void *opaque),
                          void *opaque)
{
    QmpCommand *cmd;

    QTAILQ_FOREACH(cmd, cmds, node) {
        fn(cmd, opaque);
    }
}

static bool is_string(JsonNode *node)
{
    return JSON_NODE_HOLDS_VALUE(node) &&
           json_node_get_value_type(node) == G_TYPE_STRING;
}

bool qmp_is_oob(JsonNode *request)
{
    JsonObject *dict;

    if (!JSON_NODE_HOLDS_OBJECT(request)) {
        return false;
    }
    dict = json_node_get_object(request);
    return json_object_has_member(dict, "exec-oob") &&
           !json_object_has_member(dict, "execute");
}

/* Gate 1: returns the member naming the command, or NULL and sets @errp. */
static const char *check_request(JsonObject *dict, bool allow_oob,
                                 Error **errp)
{
    g_autoptr(GList) members = json_object_get_members(dict);
    const char *exec_key = NULL;
    GList *m;

    for (m = members; m; m = m->next) {
        const char *key = m->data;
        JsonNode *value = json_object_get_member(dict, key);

        if (!strcmp(key, "execute") ||
            (allow_oob && !strcmp(key, "exec-oob"))) {
            if (!is_string(value)) {
                error_setg(errp, "QMP input member '%s' must be a string",
                           key);
                return NULL;
            }
            if (exec_key) {
                error_setg(errp, "QMP input member '%s' clashes with '%s'",
                           key, exec_key);
                return NULL;
            }
            exec_key = key;
        } else if (!strcmp(key, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(value)) {
                error_setg(errp,
                           "QMP input member 'arguments' must be an object");
                return NULL;
            }
        } else if (strcmp(key, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            return NULL;
        }
    }
    if (!exec_key) {
        error_setg(errp, "QMP input lacks member 'execute'");
        return NULL;
    }
    return exec_key;
}

JsonNode *qmp_error_response(const Error *err)
{
    JsonObject *error = json_object_new();
    JsonObject *rsp = json_object_new();

    json_object_set_string_member(error, "class",
                                  error_class_name(error_get_class(err)));
    json_object_set_string_member(error, "desc", error_get_pretty(err));
    json_object_set_object_member(rsp, "error", error);
    return qjson_take_object(rsp);
}

/* Gates 2 and 3; returns false and sets @errp on failure. */
/*
 * A command that is not marked 'coroutine' may wait with AIO_WAIT_WHILE,
 * which must not run in a coroutine: as QEMU does, such a command runs
 * from a bottom half while the requesting coroutine (the monitor's
 * dispatcher) waits.  dispatch_requester tells monitor_cur() on whose
 * behalf it runs.
 */
typedef struct DispatchBH {
    const QmpCommand *cmd;
    JsonObject *args;
    JsonNode **ret;
    Error **errp;
    bool ok;
    Coroutine *co;
} DispatchBH;

static Coroutine *dispatch_requester;

static void dispatch_bh(void *opaque)
{
    DispatchBH *data = opaque;

    dispatch_requester = data->co;
    data->ok = data->cmd->fn(data->args, data->ret, data->errp);
    dispatch_requester = NULL;
    aio_co_wake(data->co);
}

static bool coroutine_fn run_outside_coroutine(const QmpCommand *cmd,
                                               JsonObject *args,
                                               JsonNode **ret, Error **errp)
{
    DispatchBH data = {
        .cmd = cmd, .args = args, .ret = ret, .errp = errp,
        .co = qemu_coroutine_self(),
    };

    aio_bh_schedule_oneshot(qemu_get_current_aio_context(), dispatch_bh,
                            &data);
    qemu_coroutine_yield();
    return data.ok;
}

Coroutine *qmp_dispatch_requester(void)
{
    Coroutine *self = qemu_coroutine_self();

    return self ? self : dispatch_requester;
}

static bool run_command(const QmpCommandList *cmds, JsonObject *dict,
                        const char *exec_key, const QmpCommand **found,
                        JsonNode **ret, Error **errp)
{
    const char *name = json_object_get_string_member(dict, exec_key);
    bool oob = !strcmp(exec_key, "exec-oob");
    g_autoptr(JsonObject) no_args = NULL;
    const QmpCommand *cmd;
    JsonObject *args;

    cmd = qmp_find_command(cmds, name);
    if (!cmd) {
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "The command %s has not been found", name);
        return false;
    }
    if (!cmd->enabled) {
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Command %s has been disabled", name);
        return false;
    }
    if (oob && !(cmd->options & QCO_ALLOW_OOB)) {
        error_setg(errp, "The command %s does not support OOB", name);
        return false;
    }
    if (json_object_has_member(dict, "arguments")) {
        args = json_object_get_object_member(dict, "arguments");
    } else {
        no_args = json_object_new();
        args = no_args;
    }
    if (cmd->options & QCO_COROUTINE) {
        assert(qemu_in_coroutine());
    }
    *found = cmd;
    if (!(cmd->options & QCO_COROUTINE) && qemu_in_coroutine()) {
        return run_outside_coroutine(cmd, args, ret, errp);
    }
    return cmd->fn(args, ret, errp);
}

JsonNode *qmp_dispatch(const QmpCommandList *cmds, JsonNode *request,
                       bool allow_oob)
{
    const QmpCommand *cmd = NULL;
    Error *err = NULL;
    JsonNode *ret = NULL;
    JsonNode *id = NULL;
    JsonNode *reply;
    JsonObject *dict;
    const char *exec_key;

    if (!JSON_NODE_HOLDS_OBJECT(request)) {
        error_setg(&err, "QMP input must be a JSON object");
        reply = qmp_error_response(err);
        error_free(err);
        return reply;
    }
    dict = json_node_get_object(request);
    id = json_object_get_member(dict, "id");

    exec_key = check_request(dict, allow_oob, &err);
    if (exec_key && run_command(cmds, dict, exec_key, &cmd, &ret, &err)) {
        JsonObject *rsp;

        if (cmd->options & QCO_NO_SUCCESS_RESP) {
            assert(!ret);
            return NULL;
        }
        rsp = json_object_new();
        json_object_set_member(rsp, "return",
                               ret ? ret : qjson_take_object(
                                   json_object_new()));
        reply = qjson_take_object(rsp);
    } else {
        /* A marshaller that fails must say why. */
        assert(err);
        reply = qmp_error_response(err);
        error_free(err);
    }
    if (id) {
        JsonObject *obj = json_node_get_object(reply);

        if (json_object_has_member(obj, "error")) {
            /*
             * QEMU 7.2 happens to put "id" first in an error reply and
             * last in a success reply; text-comparing clients see that.
             */
            JsonObject *first = json_object_new();

            json_object_set_member(first, "id", json_node_copy(id));
            json_object_set_member(first, "error", json_node_copy(
                json_object_get_member(obj, "error")));
            json_node_unref(reply);
            reply = qjson_take_object(first);
        } else {
            json_object_set_member(obj, "id", json_node_copy(id));
        }
    }
    return reply;
}

/* Events */

static QapiEventEmitFunc *event_emitter;

void qapi_event_set_emitter(QapiEventEmitFunc *fn)
{
    event_emitter = fn;
}

void qapi_event_emit(const char *event, JsonObject *data)
{
    if (!event_emitter) {
        if (data) {
            json_object_unref(data);
        }
        return;
    }
    event_emitter(event, data);
}
