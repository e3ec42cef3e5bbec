/*
 * trace-control.c: enabling trace events and the log backend.
 *
 * The generated trace.c holds one flag per event (trace_event_dstate[]) and
 * the event names; the inline trace_<name>() functions test the flag and
 * call trace_log_event() when it is set.  This file flips the flags from
 * patterns and writes the lines.  Output goes through one stdio stream
 * guarded by a mutex, so lines from worker threads never interleave.
 */
#include "qemu/osdep.h"

#include <sys/time.h>

#include "qapi/error.h"
#include "qemu/trace-control.h"

static FILE *trace_out;
static GMutex trace_lock;

void trace_log_event(const char *name, const char *fmt, ...)
{
    struct timeval tv;
    va_list ap;
    FILE *out;

    gettimeofday(&tv, NULL);
    g_mutex_lock(&trace_lock);
    out = trace_out ? trace_out : stderr;
    fprintf(out, "%d@%lld.%06ld:%s ", (int)getpid(),
            (long long)tv.tv_sec, (long)tv.tv_usec, name);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
    g_mutex_unlock(&trace_lock);
}

int trace_event_find(const char *name)
{
    size_t i;

    for (i = 0; i < trace_event_count; i++) {
        if (!strcmp(trace_event_names[i], name)) {
            return i;
        }
    }
    return -1;
}

/*
 * QEMU's trace patterns know one wildcard, '*' (any run of characters);
 * every other character, '?' included, stands for itself.
 */
bool trace_pattern_match(const char *pattern, const char *name)
{
    while (*pattern) {
        if (*pattern == '*') {
            pattern++;
            if (!*pattern) {
                return true;
            }
            for (; *name; name++) {
                if (trace_pattern_match(pattern, name)) {
                    return true;
                }
            }
            return false;
        }
        if (*pattern != *name) {
            return false;
        }
        pattern++;
        name++;
    }
    return !*name;
}

bool trace_pattern_is_glob(const char *pattern)
{
    return strchr(pattern, '*') != NULL;
}

size_t trace_enable_pattern(const char *pattern, bool enable)
{
    size_t i, matched = 0;

    for (i = 0; i < trace_event_count; i++) {
        if (trace_pattern_match(pattern, trace_event_names[i])) {
            trace_event_dstate[i] = enable;
            matched++;
        }
    }
    return matched;
}

/*
 * One pattern as QEMU's --trace takes it: a leading '-' disables.  A
 * pattern that names no event is reported as a warning, not an error, so
 * that a list written for a newer build still loads.
 */
static void trace_apply_one(const char *pattern)
{
    bool enable = true;

    if (pattern[0] == '-') {
        enable = false;
        pattern++;
    }
    if (!pattern[0]) {
        return;
    }
    /* A pattern may match nothing; a plain name must be an event. */
    if (!trace_enable_pattern(pattern, enable) &&
        !trace_pattern_is_glob(pattern)) {
        warn_report("trace event '%s' does not exist", pattern);
    }
}

/*
 * One pattern a line, '#' comments.  Messages name the file (and line),
 * as QEMU's: "prog:FILE: No such file or directory".
 */
static bool trace_load_events_file(const char *path, Error **errp)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    size_t i;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        int err = errno;

        error_setg(errp, "%s", g_strerror(err ? err : ENOENT));
        error_set_file_location(errp, path, 0);
        return false;
    }
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i]; i++) {
        char *line = g_strstrip(lines[i]);

        if (line[0] && line[0] != '#') {
            error_push_location_file(path, i + 1);
            trace_apply_one(line);
            error_pop_location();
        }
    }
    return true;
}

bool trace_set_output(const char *path, Error **errp)
{
    FILE *f = NULL;

    if (path) {
        f = fopen(path, "a");
        if (!f) {
            error_setg(errp, "Error opening logfile %s: %s", path,
                       g_strerror(errno));
            return false;
        }
    }
    g_mutex_lock(&trace_lock);
    if (trace_out) {
        fclose(trace_out);
    }
    trace_out = f;
    g_mutex_unlock(&trace_lock);
    return true;
}

bool trace_opt_parse(const char *optarg, Error **errp)
{
    g_auto(GStrv) parts = NULL;
    size_t i;

    if (!optarg || !optarg[0]) {
        error_setg(errp, "Parameter 'enable' is missing");
        return false;
    }
    /* A bare pattern with no '=' is the implied key "enable". */
    if (!strchr(optarg, '=')) {
        trace_apply_one(optarg);
        return true;
    }
    parts = g_strsplit(optarg, ",", -1);
    for (i = 0; parts[i]; i++) {
        const char *p = parts[i];

        if (i == 0 && !strchr(p, '=')) {
            /* The first item may leave out "enable=", as in QEMU. */
            trace_apply_one(p);
        } else if (g_str_has_prefix(p, "enable=")) {
            trace_apply_one(p + strlen("enable="));
        } else if (g_str_has_prefix(p, "events=")) {
            if (!trace_load_events_file(p + strlen("events="), errp)) {
                return false;
            }
        } else if (g_str_has_prefix(p, "file=")) {
            if (!trace_set_output(p + strlen("file="), errp)) {
                return false;
            }
        } else {
            const char *eq = strchr(p, '=');
            error_setg(errp, "Invalid parameter '%.*s'",
                       eq ? (int)(eq - p) : (int)strlen(p), p);
            return false;
        }
    }
    return true;
}

void trace_init_from_env(void)
{
    const char *env = g_getenv("QBLOCK_TRACE");
    g_auto(GStrv) patterns = NULL;
    size_t i;

    if (!env) {
        return;
    }
    patterns = g_strsplit(env, ",", -1);
    for (i = 0; patterns[i]; i++) {
        trace_apply_one(g_strstrip(patterns[i]));
    }
}
