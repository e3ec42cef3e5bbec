/*
 * json-stream.h: QMP's JSON input, as a byte stream of JSON texts.
 *
 * A QMP peer writes JSON values back to back with no framing: newlines are
 * not delimiters, a value may span many writes, and one write may carry
 * several values.  The streamer lexes the bytes as they arrive, counts
 * brackets, and hands each complete top-level value to its callback, parsed
 * into a json-glib JsonNode.  It accepts QEMU's dialect and answers errors
 * as QEMU 7.2 does, word for word:
 *
 *   - strings may be single-quoted; \' and \" are valid in both kinds;
 *   - "\u0000" is accepted and kept as the two bytes C0 80 (modified UTF-8)
 *     so C strings stay NUL-terminated; json_writer turns it back;
 *   - integers that fit int64 are ints; those in (INT64_MAX, UINT64_MAX]
 *     stay exact, as in QEMU (see json_node_new_uint64()); larger ones and
 *     numbers with a fraction or exponent are doubles;
 *   - a lexical error ("stray '...'") is reported at once, then input is
 *     skipped up to the next structural character ({ } [ ] : ,), control
 *     character or 0xFE/0xFF byte, where lexing starts afresh; this is how
 *     a client resynchronises after garbage;
 *   - limits: 64 MiB of tokens, 2 Mi tokens, nesting depth 1024 per value.
 *
 * Every error reaches the callback as an Error whose message starts with
 * "JSON parse error, " (or names the exceeded limit).
 */
#ifndef QBLOCK_QEMU_JSON_STREAM_H
#define QBLOCK_QEMU_JSON_STREAM_H

#include <json-glib/json-glib.h>

typedef struct JSONStreamer JSONStreamer;

/*
 * Called once per top-level value: exactly one of @value and @err is set,
 * and the callee owns it.
 */
typedef void JSONStreamEmit(void *opaque, JsonNode *value, Error *err);

JSONStreamer *json_streamer_new(JSONStreamEmit *emit, void *opaque);

/* Feed @len bytes; the callback runs for every value they complete. */
void json_streamer_feed(JSONStreamer *js, const char *buf, size_t len);

/*
 * End of input: finish a token that was waiting for a delimiter (a number
 * or keyword at the very end) and report an unfinished value as an error.
 */
void json_streamer_flush(JSONStreamer *js);

void json_streamer_free(JSONStreamer *js);

/*
 * Unsigned integers above INT64_MAX.  json-glib holds only int64 values,
 * so such a number is kept as an int64 node with the same bits, sealed
 * (json_node_seal()) to say "read me as unsigned".  Copies keep the seal,
 * and nothing else in qblock seals a node, so the mark is unambiguous.
 * Values up to INT64_MAX give a plain int node.
 */
JsonNode *json_node_new_uint64(uint64_t value);

/* True if @node holds an integer above INT64_MAX (see above). */
bool json_node_holds_big_uint64(JsonNode *node);

/*
 * Parse @text, which must hold exactly one JSON value (command-line JSON
 * options).  Returns NULL and sets @errp otherwise.
 */
JsonNode *json_parse_string(const char *text, Error **errp);

#endif /* QBLOCK_QEMU_JSON_STREAM_H */
