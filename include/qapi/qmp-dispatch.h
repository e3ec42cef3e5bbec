/*
 * qmp-dispatch.h: from a parsed QMP request to a reply.
 *
 * The generated marshallers (build/qapi/qapi-commands.c) register one
 * QmpCommand per schema command in a QmpCommandList (qmp_init_marshal()).
 * The monitor hands each whole JSON request to qmp_dispatch(), which checks
 * the request's shape ("execute" or "exec-oob", "arguments", "id"), finds
 * the command, runs its marshaller and builds the reply object, exactly as
 * QEMU 7.2 does including its error texts:
 *
 *     {"execute": "quit", "id": 7}   ->  {"return": {}, "id": 7}
 *     [1, 2]                         ->  {"error": {"class": "GenericError",
 *                                         "desc": "QMP input must be a JSON
 *                                         object"}}
 *     {"execute": "nope"}            ->  class CommandNotFound, "The command
 *                                         nope has not been found"
 *
 * Threads: main thread only.  qmp_dispatch() is called from the monitor's
 * per-client coroutine, so a command flagged QCO_COROUTINE may yield; other
 * commands run to completion without yielding.  Dispatching a QCO_COROUTINE
 * command outside coroutine context is a bug (it asserts).
 */
#ifndef QBLOCK_QAPI_QMP_DISPATCH_H
#define QBLOCK_QAPI_QMP_DISPATCH_H

#include <json-glib/json-glib.h>

#include "qemu/queue.h"

/*
 * A marshaller: parse @args (never NULL: an absent "arguments" is an empty
 * object), call the handler, and on success store the return value in
 * *@ret.  A command without a return type leaves *@ret NULL (the reply is
 * then {"return": {}}).  Returns false and sets @errp on failure.  The
 * marshaller of a QCO_COROUTINE command is coroutine_fn: it may yield.
 */
typedef bool QmpCommandFunc(JsonObject *args, JsonNode **ret, Error **errp);

typedef enum QmpCommandOptions {
    QCO_NO_OPTIONS = 0,
    QCO_NO_SUCCESS_RESP = 1 << 0,   /* no reply at all on success */
    QCO_ALLOW_OOB = 1 << 1,         /* may be sent as "exec-oob" */
    QCO_COROUTINE = 1 << 2,         /* the handler may yield */
} QmpCommandOptions;

typedef struct QmpCommand {
    const char *name;
    QmpCommandFunc *fn;
    QmpCommandOptions options;
    bool enabled;
    QTAILQ_ENTRY(QmpCommand) node;
} QmpCommand;

typedef QTAILQ_HEAD(QmpCommandList, QmpCommand) QmpCommandList;

/*
 * Add command @name (a string that outlives @cmds) to @cmds, enabled.
 * Registering a name twice is a bug.
 */
void qmp_register_command(QmpCommandList *cmds, const char *name,
                          QmpCommandFunc *fn, QmpCommandOptions options);

/* Free every entry of @cmds, leaving it empty. */
void qmp_unregister_commands(QmpCommandList *cmds);

/* The command called @name, or NULL. */
const QmpCommand *qmp_find_command(const QmpCommandList *cmds,
                                   const char *name);

/*
 * A disabled command stays in the list but is refused with class
 * CommandNotFound: "Command NAME has been disabled".
 */
void qmp_disable_command(QmpCommandList *cmds, const char *name);
void qmp_enable_command(QmpCommandList *cmds, const char *name);

/* Call @fn for every command of @cmds, in registration order. */
void qmp_for_each_command(const QmpCommandList *cmds,
                          void (*fn)(const QmpCommand *cmd, void *opaque),
                          void *opaque);

/*
 * True if @request asks for out-of-band execution: an object with
 * "exec-oob" and without "execute".  The monitor uses it to run such a
 * request at once rather than queueing it (only when the client has
 * negotiated the 'oob' capability).
 */
bool qmp_is_oob(JsonNode *request);

/*
 * Dispatch one request.  @request is any JSON value (non-objects are
 * answered with QEMU's error).  Returns the reply object to send (a new
 * node the caller owns), with the request's "id" echoed whatever JSON
 * value it is, or NULL when the command succeeded and asks for no reply
 * (QCO_NO_SUCCESS_RESP).  @allow_oob says whether "exec-oob" is
 * acceptable on this connection.
 */
JsonNode *qmp_dispatch(const QmpCommandList *cmds, JsonNode *request,
                       bool allow_oob);

/*
 * The coroutine a running command was requested from: the caller itself
 * for a coroutine command, the waiting requester for one that qmp_dispatch
 * ran from a bottom half; NULL when no command runs.
 */
Coroutine *qmp_dispatch_requester(void);

/* {"error": {"class": ..., "desc": ...}} for @err (not freed). */
JsonNode *qmp_error_response(const Error *err);

/*
 * Events.  The generated qapi_event_send_*() build the event's "data"
 * object and call qapi_event_emit(), which passes it to the emitter that
 * the monitor installed (it adds "event" and "timestamp" and broadcasts to
 * negotiated clients).  Ownership of @data passes to the callee; @data is
 * NULL for an event without data members (QEMU then sends no "data").
 * Without an emitter, events are dropped.
 */
typedef void QapiEventEmitFunc(const char *event, JsonObject *data);
void qapi_event_set_emitter(QapiEventEmitFunc *fn);
void qapi_event_emit(const char *event, JsonObject *data);

#endif /* QBLOCK_QAPI_QMP_DISPATCH_H */
