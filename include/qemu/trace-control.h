/*
 * trace-control.h: turning trace events on and off, and where they go.
 *
 * Events are declared in the top-level trace-events file; the build turns
 * each into an inline trace_<name>() (see scripts/tracetool.py).  An event
 * is disabled by default and then costs one load and one branch.  Enabled
 * events are written by the log backend, one line each:
 *
 *     <pid>@<seconds>.<microseconds>:<name> <formatted arguments>
 *
 * to stderr, or to the file given to trace_set_output().  USDT probes (the
 * dtrace backend) fire whether or not an event is enabled here.
 *
 * All functions run in the main thread, except trace_log_event(), which any
 * thread may call.
 */
#ifndef QBLOCK_QEMU_TRACE_CONTROL_H
#define QBLOCK_QEMU_TRACE_CONTROL_H

/* Per-event enabled flags and names, indexed by TRACE_<NAME>_ID. */
extern bool trace_event_dstate[];
extern const char *const trace_event_names[];
extern const size_t trace_event_count;

/* Write one line for an enabled event (called by the generated code). */
void trace_log_event(const char *name, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/*
 * QEMU's pattern syntax: '*' matches any run of characters, everything
 * else only itself.  trace_pattern_is_glob() says whether @pattern has a
 * '*' at all (a name without one must name an event exactly).
 */
bool trace_pattern_match(const char *pattern, const char *name);
bool trace_pattern_is_glob(const char *pattern);

/*
 * Enable or disable every event whose name matches @pattern.  Returns the number of events matched; 0 means the pattern
 * named no event.
 */
size_t trace_enable_pattern(const char *pattern, bool enable);

/*
 * Look up one event by exact name; returns its index or -1.
 */
int trace_event_find(const char *name);

/*
 * Apply the --trace option's value, as QEMU's: "PATTERN" (enable),
 * "enable=PATTERN", "events=FILE" (a file of patterns, one a line, '-' to
 * disable, '#' comments) and "file=FILE" (write traces there).  Returns false
 * and sets @errp on a malformed value or an unreadable file.
 */
bool trace_opt_parse(const char *optarg, Error **errp);

/*
 * Send trace output to @path (NULL: stderr).  Returns false and sets @errp
 * if the file cannot be opened.
 */
bool trace_set_output(const char *path, Error **errp);

/*
 * Enable the patterns listed, comma-separated, in the environment variable
 * QBLOCK_TRACE; a convenience for tests and for the tools.
 */
void trace_init_from_env(void);

#endif /* QBLOCK_QEMU_TRACE_CONTROL_H */
