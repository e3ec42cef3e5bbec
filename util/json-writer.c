/*
 * json-writer.c: JSON text in QEMU's exact layout (see json-writer.h).
 *
 * Why not json-glib's generator: QMP clients and golden test files compare
 * QEMU's spacing (", " and ": "), its ASCII-only escaping and its pretty
 * layout; json-glib writes none of those the same way.
 */
#include "qemu/osdep.h"

#include "qemu/json-stream.h"
#include "qemu/json-writer.h"

static void append_u_escape(GString *out, unsigned int u)
{
    g_string_append_printf(out, "\\u%04X", u);
}

void json_writer_append_str(GString *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    g_string_append_c(out, '"');
    while (*s) {
        unsigned char c = *s;

        if (c < 0x80) {
            switch (c) {
            case '"':  g_string_append(out, "\\\""); break;
            case '\\': g_string_append(out, "\\\\"); break;
            case '\b': g_string_append(out, "\\b");  break;
            case '\f': g_string_append(out, "\\f");  break;
            case '\n': g_string_append(out, "\\n");  break;
            case '\r': g_string_append(out, "\\r");  break;
            case '\t': g_string_append(out, "\\t");  break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    append_u_escape(out, c);
                } else {
                    g_string_append_c(out, c);
                }
                break;
            }
            s++;
            continue;
        }
        if (c == 0xc0 && s[1] == 0x80) {
            append_u_escape(out, 0);            /* modified UTF-8 NUL */
            s += 2;
            continue;
        }
        {
            const char *end;
            gunichar cp;
            size_t avail = strlen((const char *)s);

            cp = g_utf8_get_char_validated((const char *)s, MIN(avail, 4));
            if (cp == (gunichar)-1 || cp == (gunichar)-2) {
                append_u_escape(out, 0xfffd);   /* not UTF-8: one byte */
                s++;
                continue;
            }
            end = g_utf8_next_char((const char *)s);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                append_u_escape(out, 0xd800 | (cp >> 10));
                append_u_escape(out, 0xdc00 | (cp & 0x3ff));
            } else {
                append_u_escape(out, cp);
            }
            s = (const unsigned char *)end;
        }
    }
    g_string_append_c(out, '"');
}

static void indent(GString *out, int level)
{
    g_string_append_c(out, '\n');
    for (int i = 0; i < level; i++) {
        g_string_append(out, "    ");
    }
}

static void append_double(GString *out, double d)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    /* %.17g reads back bit-exact; QEMU prints inf/nan the C way too. */
    g_ascii_formatd(buf, sizeof(buf), "%.17g", d);
    g_string_append(out, buf);
}

static void append_node(GString *out, JsonNode *node, bool pretty, int level)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    case JSON_NODE_VALUE:
        switch (json_node_get_value_type(node)) {
        case G_TYPE_INT64:
            if (json_node_holds_big_uint64(node)) {
                g_string_append_printf(out, "%" G_GUINT64_FORMAT,
                                       (guint64)json_node_get_int(node));
            } else {
                g_string_append_printf(out, "%" G_GINT64_FORMAT,
                                       json_node_get_int(node));
            }
            break;
        case G_TYPE_DOUBLE:
            append_double(out, json_node_get_double(node));
            break;
        case G_TYPE_BOOLEAN:
            g_string_append(out, json_node_get_boolean(node) ? "true"
                                                              : "false");
            break;
        case G_TYPE_STRING:
            json_writer_append_str(out, json_node_get_string(node));
            break;
        default:
            g_assert_not_reached();
        }
        break;
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(node);
        guint n = json_array_get_length(arr);

        g_string_append_c(out, '[');
        for (guint i = 0; i < n; i++) {
            if (i) {
                g_string_append_c(out, ',');
            }
            if (pretty) {
                indent(out, level + 1);
            } else if (i) {
                g_string_append_c(out, ' ');
            }
            append_node(out, json_array_get_element(arr, i), pretty,
                        level + 1);
        }
        if (pretty) {
            indent(out, level);
        }
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_OBJECT: {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        bool first = true;

        g_string_append_c(out, '{');
        json_object_iter_init_ordered(&iter, json_node_get_object(node));
        while (json_object_iter_next_ordered(&iter, &name, &member)) {
            if (!first) {
                g_string_append_c(out, ',');
            }
            if (pretty) {
                indent(out, level + 1);
            } else if (!first) {
                g_string_append_c(out, ' ');
            }
            json_writer_append_str(out, name);
            g_string_append(out, ": ");
            append_node(out, member, pretty, level + 1);
            first = false;
        }
        if (pretty) {
            indent(out, level);
        }
        g_string_append_c(out, '}');
        break;
    }
    }
}

void json_writer_append(GString *out, JsonNode *node, bool pretty)
{
    append_node(out, node, pretty, 0);
}

char *json_writer_to_string(JsonNode *node, bool pretty)
{
    GString *out = g_string_new(NULL);

    append_node(out, node, pretty, 0);
    return g_string_free(out, false);
}
