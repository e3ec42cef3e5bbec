/*
 * hmp.c: human-monitor-command and the HMP command-line parser (see
 * include/monitor/hmp.h).
 *
 * What QEMU 7.2 does, observed through its QMP and kept here:
 *
 *   - leading blanks are skipped; a blank line returns "";
 *   - the command name runs up to the next blank ("qemu-io\"x\"" is one
 *     name), and an unknown one returns "unknown command: 'NAME'";
 *   - a flag is "-X" where the flag is expected; another letter gives
 *     "NAME: unsupported option -X" (for a lone "-" at the end of the
 *     line QEMU prints the letter as a NUL, which ends its message there,
 *     newline included);
 *   - a string is a word up to the next blank, or a double-quoted text
 *     with the escapes \n \r \\ \' \"; a bad escape prints
 *     "unsupported escape code: '\X'" and a missing closing quote
 *     "unterminated string" on the daemon's stdout, and the reply is the
 *     argument's "expected" message;
 *   - text after the last argument gives "NAME: extraneous characters at
 *     the end of line";
 *   - every parse error is followed by "Try \"help NAME\" for more
 *     information";
 *   - cpu-index is checked before the command line, and with no CPUs any
 *     value is "Parameter 'cpu-index' expects a CPU number";
 *   - the reply's lines end in CRLF.
 *
 * Example: "qemu-io -d drive0 \"read 0 512\"" with args_type
 * "qdev:-d,device:B,command:s" gives { qdev: on, device: drive0,
 * command: "read 0 512" }.
 */
#include "qemu/osdep.h"

#include <ctype.h>

#include "monitor/hmp.h"
#include "qapi/error.h"
#include "qapi-commands.h"

static GPtrArray *hmp_commands;

void hmp_register_command(const HmpCommand *cmd)
{
    if (!hmp_commands) {
        hmp_commands = g_ptr_array_new();
    }
    g_ptr_array_add(hmp_commands, (gpointer)cmd);
}

static const HmpCommand *hmp_find_command(const char *name)
{
    guint i;

    for (i = 0; hmp_commands && i < hmp_commands->len; i++) {
        const HmpCommand *cmd = g_ptr_array_index(hmp_commands, i);

        if (!strcmp(cmd->name, name)) {
            return cmd;
        }
    }
    return NULL;
}

const char *hmp_arg_str(GHashTable *args, const char *key)
{
    return g_hash_table_lookup(args, key);
}

bool hmp_arg_flag(GHashTable *args, const char *key)
{
    return g_hash_table_contains(args, key);
}

void hmp_handle_error(GString *out, Error *err)
{
    g_string_append_printf(out, "Error: %s\n", error_get_pretty(err));
    error_free(err);
}

static const char *skip_blanks(const char *p)
{
    while (isspace((unsigned char)*p)) {
        p++;
    }
    return p;
}

/*
 * Read one string argument at *@pp (blanks already skipped) and advance
 * past it.  NULL on a bad quoted string, after printing why to stdout,
 * where QEMU prints it.
 */
static char *hmp_get_str(const char **pp)
{
    g_autoptr(GString) s = g_string_new(NULL);
    const char *p = *pp;

    if (*p != '"') {
        while (*p && !isspace((unsigned char)*p)) {
            g_string_append_c(s, *p++);
        }
        *pp = p;
        return g_string_free(g_steal_pointer(&s), false);
    }
    p++;
    while (*p && *p != '"') {
        char c = *p++;

        if (c == '\\') {
            c = *p++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case '\\':
            case '\'':
            case '"':
                break;
            default:
                printf("unsupported escape code: '\\%c'\n", c);
                fflush(stdout);
                return NULL;
            }
        }
        g_string_append_c(s, c);
    }
    if (*p != '"') {
        printf("unterminated string\n");
        fflush(stdout);
        return NULL;
    }
    *pp = p + 1;
    return g_string_free(g_steal_pointer(&s), false);
}

/* Is -@c one of the flags still to come in @types (after this item)? */
static bool hmp_later_flag(char **items, char c)
{
    for (; *items; items++) {
        const char *type = strchr(*items, ':');

        if (type && type[1] == '-' && type[2] == c) {
            return true;
        }
    }
    return false;
}

/*
 * Parse the arguments at @p as @cmd's args_type says into @args.  False
 * after printing QEMU's message to @out.
 */
static bool hmp_parse_args(GString *out, const HmpCommand *cmd,
                           const char *p, GHashTable *args)
{
    g_auto(GStrv) items = g_strsplit(cmd->args_type, ",", -1);
    int i;

    for (i = 0; items[i]; i++) {
        const char *colon = strchr(items[i], ':');
        g_autofree char *key = g_strndup(items[i], colon - items[i]);
        const char *type = colon + 1;
        char *value;

        switch (type[0]) {
        case '-':
            p = skip_blanks(p);
            if (*p != '-') {
                break;
            }
            if (p[1] == type[1]) {
                g_hash_table_insert(args, g_steal_pointer(&key),
                                    g_strdup("on"));
                p += 2;
                break;
            }
            if (p[1] && hmp_later_flag(items + i + 1, p[1])) {
                break;
            }
            if (!p[1]) {
                /* QEMU prints the NUL, which cuts the line short. */
                g_string_append_printf(out, "%s: unsupported option -",
                                       cmd->name);
            } else {
                g_string_append_printf(out, "%s: unsupported option -%c\n",
                                       cmd->name, p[1]);
            }
            return false;
        case 'B':
        case 's':
            p = skip_blanks(p);
            value = *p ? hmp_get_str(&p) : NULL;
            if (!value) {
                g_string_append_printf(out, "%s: %s expected\n", cmd->name,
                                       type[0] == 'B'
                                       ? "block device name" : "string");
                return false;
            }
            g_hash_table_insert(args, g_steal_pointer(&key), value);
            break;
        default:
            g_assert_not_reached();
        }
    }
    p = skip_blanks(p);
    if (*p) {
        g_string_append_printf(out, "%s: extraneous characters at the end "
                               "of line\n", cmd->name);
        return false;
    }
    return true;
}

void hmp_run_command_line(GString *out, const char *line)
{
    g_autoptr(GHashTable) args = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    g_autofree char *name = NULL;
    const HmpCommand *cmd;
    const char *p = skip_blanks(line);
    const char *start = p;

    if (!*p) {
        return;
    }
    while (*p && !isspace((unsigned char)*p)) {
        p++;
    }
    name = g_strndup(start, p - start);
    cmd = hmp_find_command(name);
    if (!cmd) {
        g_string_append_printf(out, "unknown command: '%s'\n", name);
        return;
    }
    if (!hmp_parse_args(out, cmd, p, args)) {
        g_string_append_printf(out, "Try \"help %s\" for more "
                               "information\n", cmd->name);
        return;
    }
    cmd->func(out, args);
}

/* error_report() during an HMP command goes to the command's output. */
static void hmp_report(void *opaque, const char *msg)
{
    GString *out = opaque;

    g_string_append_printf(out, "%s\n", msg);
}

char *qmp_human_monitor_command(const char *command_line, bool has_cpu_index,
                                int64_t cpu_index, Error **errp)
{
    g_autoptr(GString) out = g_string_new(NULL);
    GString *crlf;
    gsize i;

    if (has_cpu_index) {
        /* qblockd emulates no CPU, so no index names one. */
        error_setg(errp, "Parameter 'cpu-index' expects a CPU number");
        return NULL;
    }
    error_set_report_func(hmp_report, out);
    hmp_run_command_line(out, command_line);
    error_set_report_func(NULL, NULL);

    crlf = g_string_sized_new(out->len + 16);
    for (i = 0; i < out->len; i++) {
        if (out->str[i] == '\n') {
            g_string_append_c(crlf, '\r');
        }
        g_string_append_c(crlf, out->str[i]);
    }
    return g_string_free(crlf, false);
}
