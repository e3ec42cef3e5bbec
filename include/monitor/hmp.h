/*
 * hmp.h: the human monitor's command line, as QMP's human-monitor-command
 * reaches it.
 *
 * qblockd has no HMP chardev; HMP exists only behind the QMP command
 * human-monitor-command, which QEMU's own tests use to run "qemu-io" on a
 * live node.  monitor/hmp.c parses a command line the way QEMU's HMP does
 * (the command name, then the arguments its args_type describes) and runs
 * the handler that another layer registered: the monitor knows nothing of
 * block nodes, and the daemon registers "qemu-io" at start-up.
 *
 * Output: a handler appends text to @out with "\n" line ends; the monitor
 * turns them into CRLF, as QEMU's monitor does.  error_report() during a
 * command lands in @out too, without the program-name prefix.
 *
 * Threads: main thread only.
 */
#ifndef QBLOCK_MONITOR_HMP_H
#define QBLOCK_MONITOR_HMP_H

#include <glib.h>

#include "qapi/error.h"

/* The parsed arguments: key -> value (a flag given has the value "on"). */
typedef void HmpCommandFunc(GString *out, GHashTable *args);

typedef struct HmpCommand {
    const char *name;
    /*
     * QEMU's notation, "key:type" items separated by commas, in order:
     * "-x" a flag written -x, "s" a string, "B" a block device name (a
     * string with its own message when missing).  Strings are a word, or
     * a double-quoted text with the escapes \n \r \\ \' \".
     */
    const char *args_type;
    HmpCommandFunc *func;
} HmpCommand;

/* Make @cmd known; it must stay valid for the life of the program. */
void hmp_register_command(const HmpCommand *cmd);

/* The value of argument @key, or NULL when it was not given. */
const char *hmp_arg_str(GHashTable *args, const char *key);

/* Whether the flag @key was given. */
bool hmp_arg_flag(GHashTable *args, const char *key);

/* Print @err as HMP does ("Error: MESSAGE") and free it. */
void hmp_handle_error(GString *out, Error *err);

/*
 * Run one HMP command line; append what it printed to @out (LF line ends).
 * A blank line does nothing; an unknown command prints QEMU's
 * "unknown command: 'NAME'".
 */
void hmp_run_command_line(GString *out, const char *line);

#endif /* QBLOCK_MONITOR_HMP_H */
