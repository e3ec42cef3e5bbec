/*
 * qmp-cmds.c: the control and trace commands of the QMP schema
 * (qapi/control.json, qapi/trace.json).
 *
 * query-version reports the QEMU interface version qblock implements
 * (7.2.0), so that clients which gate features on QEMU's version behave as
 * they would with QEMU 7.2; "package" says it is qblock.
 */
#include "qemu/osdep.h"

#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi-commands.h"
#include "qapi-introspect.h"
#include "qemu/trace-control.h"

bool qmp_qmp_capabilities(QMPCapabilityList *enable, Error **errp)
{
    Monitor *mon = monitor_cur();
    bool oob = false;

    /* No monitor: dispatched from elsewhere (the fuzzer), as negotiated. */
    if (!mon || !monitor_qmp_in_negotiation(mon)) {
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Capabilities negotiation is already complete, "
                  "command ignored");
        return false;
    }
    for (; enable; enable = enable->next) {
        if (enable->value == QMP_CAPABILITY_OOB) {
            oob = true;
        }
    }
    monitor_qmp_enter_command_mode(mon, oob);
    return true;
}

VersionInfo *qmp_query_version(Error **errp)
{
    VersionInfo *info = g_new0(VersionInfo, 1);

    info->qemu = g_new0(VersionTriple, 1);
    info->qemu->major = QBLOCK_QEMU_MAJOR;
    info->qemu->minor = QBLOCK_QEMU_MINOR;
    info->qemu->micro = QBLOCK_QEMU_MICRO;
    info->package = g_strdup(QBLOCK_PACKAGE);
    return info;
}

typedef struct CommandListBuilder {
    CommandInfoList *head;
    CommandInfoList **tail;
} CommandListBuilder;

static void add_command_info(const QmpCommand *cmd, void *opaque)
{
    CommandListBuilder *b = opaque;
    CommandInfoList *elem;

    if (!cmd->enabled) {
        return;
    }
    elem = g_new0(CommandInfoList, 1);
    elem->value = g_new0(CommandInfo, 1);
    elem->value->name = g_strdup(cmd->name);
    *b->tail = elem;
    b->tail = &elem->next;
}

CommandInfoList *qmp_query_commands(Error **errp)
{
    CommandListBuilder b = { .head = NULL, .tail = &b.head };

    qmp_for_each_command(&qmp_commands, add_command_info, &b);
    return b.head;
}

/*
 * query-qmp-schema is 'gen': false: its return value is the generated
 * introspection data itself, not a C type to convert.
 */
bool qmp_marshal_query_qmp_schema(JsonObject *args, JsonNode **ret,
                                  Error **errp)
{
    if (json_object_get_size(args)) {
        GList *names = json_object_get_members(args);
        error_setg(errp, "Parameter '%s' is unexpected",
                   (const char *)names->data);
        g_list_free(names);
        return false;
    }
    *ret = qapi_introspect();
    return true;
}

bool qmp_quit(Error **errp)
{
    monitor_request_quit();
    return true;
}

/* ---------------------------------------------------------------- trace */

/*
 * QEMU's semantics: a name with a '*' is a pattern and may match nothing;
 * a plain name must be an event ('unknown event "x"').  qblock has no
 * vCPUs, so every vcpu index is invalid, and QEMU prints it unsigned.
 */
static bool trace_check_args(const char *name, bool has_vcpu, int64_t vcpu,
                             Error **errp)
{
    if (has_vcpu) {
        error_setg(errp, "invalid vCPU index %u", (unsigned int)vcpu);
        return false;
    }
    if (!trace_pattern_is_glob(name) && trace_event_find(name) < 0) {
        error_setg(errp, "unknown event \"%s\"", name);
        return false;
    }
    return true;
}

TraceEventInfoList *qmp_trace_event_get_state(const char *name, bool has_vcpu,
                                              int64_t vcpu, Error **errp)
{
    TraceEventInfoList *head = NULL, **tail = &head;

    if (!trace_check_args(name, has_vcpu, vcpu, errp)) {
        return NULL;
    }
    for (size_t i = 0; i < trace_event_count; i++) {
        TraceEventInfoList *elem;

        if (!trace_pattern_match(name, trace_event_names[i])) {
            continue;
        }
        elem = g_new0(TraceEventInfoList, 1);
        elem->value = g_new0(TraceEventInfo, 1);
        elem->value->name = g_strdup(trace_event_names[i]);
        elem->value->state = trace_event_dstate[i]
                             ? TRACE_EVENT_STATE_ENABLED
                             : TRACE_EVENT_STATE_DISABLED;
        elem->value->vcpu = false;
        *tail = elem;
        tail = &elem->next;
    }
    return head;
}

bool qmp_trace_event_set_state(const char *name, bool enable,
                               bool has_ignore_unavailable,
                               bool ignore_unavailable, bool has_vcpu,
                               int64_t vcpu, Error **errp)
{
    if (!trace_check_args(name, has_vcpu, vcpu, errp)) {
        return false;
    }
    /* Every event is available in the log backend: none to ignore. */
    trace_enable_pattern(name, enable);
    return true;
}
