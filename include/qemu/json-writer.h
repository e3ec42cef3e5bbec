/*
 * json-writer.h: JSON text exactly as QEMU writes it.
 *
 * Compact form separates with ", " and ": " ({"return": {}, "id": 1});
 * pretty form indents by four spaces and puts "{" and "}" of an empty
 * object on separate lines, as QEMU's pretty monitors do.  Strings are
 * ASCII on the wire: every non-ASCII character and DEL becomes \uXXXX
 * (upper-case hex, surrogate pairs above U+FFFF), control characters use
 * the short escapes where JSON has them; bytes that are not valid UTF-8
 * become \uFFFD, and the pair C0 80 becomes \u0000.  Doubles print with
 * %.17g, so they read back bit-exact.
 *
 * Line endings are the caller's business (QMP adds CRLF).
 */
#ifndef QBLOCK_QEMU_JSON_WRITER_H
#define QBLOCK_QEMU_JSON_WRITER_H

#include <json-glib/json-glib.h>

/* Append @node to @out. */
void json_writer_append(GString *out, JsonNode *node, bool pretty);

/* @node as a new string. */
char *json_writer_to_string(JsonNode *node, bool pretty);

/* Append @str as a JSON string literal (with the quotes). */
void json_writer_append_str(GString *out, const char *str);

#endif /* QBLOCK_QEMU_JSON_WRITER_H */
