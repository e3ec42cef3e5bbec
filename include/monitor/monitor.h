/*
 * monitor.h: QMP monitors.
 *
 * A monitor speaks QMP over one chardev.  For each connection it sends the
 * greeting, requires capabilities negotiation, reads a stream of JSON
 * requests and answers each in order, with the request's "id" echoed;
 * events go to every connection that has negotiated.
 *
 * Each monitor has its own dispatcher coroutine, so a command that yields
 * (QCO_COROUTINE) holds up only the connection that sent it.  As in
 * QEMU, a connection without OOB is not read while one of its requests
 * waits (so replies are never lost to a half-closed socket); with OOB up
 * to eight requests wait, and "exec-oob" requests jump the queue.
 *
 * Threads: main thread only.
 */
#ifndef QBLOCK_MONITOR_MONITOR_H
#define QBLOCK_MONITOR_MONITOR_H

#include "qapi/qmp-dispatch.h"

typedef struct Monitor Monitor;

/*
 * The command tables: qmp_commands once negotiated, and before that a table
 * holding only qmp_capabilities.  Filled by monitor_init_globals().
 */
extern QmpCommandList qmp_commands;
extern QmpCommandList qmp_cap_negotiation_commands;

/* Register the commands and the event emitter; call once at start-up. */
void monitor_init_globals(void);

/*
 * Create a QMP monitor on the chardev named @chardev_id.  Fails with
 * QEMU's 'chardev "X" not found' or the chardev's "in use" error.
 */
Monitor *monitor_new_qmp(const char *chardev_id, bool pretty, Error **errp);

/*
 * The monitor whose command is running, or NULL outside a command.  For a
 * coroutine command it stays valid across yields.
 */
Monitor *monitor_cur(void);

/*
 * Switch @mon's connection out of capabilities negotiation; @oob enables
 * out-of-band execution for it.  Called by qmp_capabilities.
 */
void monitor_qmp_enter_command_mode(Monitor *mon, bool oob);

/* True while @mon's connection still negotiates capabilities. */
bool monitor_qmp_in_negotiation(Monitor *mon);

/*
 * What the quit command does: the daemon installs a function that ends
 * its main loop after the reply is sent.
 */
void monitor_set_quit_handler(void (*fn)(void));
void monitor_request_quit(void);

/* Flush every reply still buffered and close every monitor. */
void monitor_cleanup(void);

#endif /* QBLOCK_MONITOR_MONITOR_H */
