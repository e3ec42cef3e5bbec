/*
 * visitor.h: the runtime of the generated JSON <-> C conversion.
 *
 * For every schema type Foo the generator writes (see qapi-visit.h):
 *
 *     bool qapi_input_Foo(QapiInput *in, const char *name, JsonNode *node,
 *                         Foo **obj, Error **errp);
 *     JsonNode *qapi_output_Foo(const Foo *obj);
 *
 * Input reads the JSON value @node, which is called @name in its parent
 * (NULL for a list element or for the top of the tree), into *@obj.  On
 * failure it sets @errp with QEMU's message, stores nothing in *@obj and
 * frees what it had built.  Output returns a new node the caller owns.
 * This file declares the same pair for every built-in type (str, int,
 * int8 ... uint64, size, number, bool, any, null), and the helpers the
 * generated code calls for structs, lists and enums.
 *
 * Input comes in two modes, chosen when the QapiInput is initialized:
 *
 *   strict (QMP)   each JSON value must have the JSON type of its member:
 *                  a string for 'str' and enums, a number for integers,
 *                  true/false for 'bool', an object for a struct.
 *   keyval         the tree comes from keyval_parse(), whose leaves are
 *                  all strings: "on"/"off" (also yes/no, true/false, y/n)
 *                  for 'bool', "42", "0x2a" or "052" for integers,
 *                  "64k" or "1.5G" for 'size', "1.5e3" for 'number'.
 *
 * Error messages name the member by its path, as QEMU prints it:
 * 'file.driver' for a member of a nested object, 'a[0]' (keyval: 'a.0')
 * for a list element.  The texts are QEMU 7.2's, letter for letter:
 *
 *     Parameter 'device' is missing
 *     Parameter 'bogus' is unexpected
 *     Invalid parameter type for 'speed', expected: integer
 *     Parameter 'sync' does not accept value 'bogus'
 *     Parameter 'granularity' expects uint32_t
 *
 * Example: parse command-line options into a BlockdevOptions
 *
 *     g_autoptr(JsonNode) tree = keyval_parse(optarg, NULL, NULL, errp);
 *     BlockdevOptions *opts;
 *     QapiInput in;
 *
 *     qapi_input_init(&in, true);
 *     if (!tree || !qapi_input_BlockdevOptions(&in, NULL, tree, &opts,
 *                                              errp)) {
 *         return false;
 *     }
 *
 * The QapiInput lives on the caller's stack and owns nothing; it needs no
 * cleanup.  Any thread may use its own QapiInput.
 */
#ifndef QBLOCK_QAPI_VISITOR_H
#define QBLOCK_QAPI_VISITOR_H

#include <json-glib/json-glib.h>

#include "qapi/qjson.h"
#include "qapi/util.h"

/* Member names a frame remembers without allocating. */
#define QAPI_INPUT_SEEN_INLINE 16

/*
 * One object or array being read, on the C stack of the generated input
 * function that reads it.  The frames form the path that error messages
 * print.  Opaque: only this runtime touches the fields.
 */
typedef struct QapiInputFrame QapiInputFrame;
struct QapiInputFrame {
    QapiInputFrame *up;         /* the enclosing container, or NULL */
    const char *name;           /* this container's name in its parent */
    JsonObject *obj;            /* the object being read, or NULL */
    JsonArray *array;           /* the array being read, or NULL */
    guint index;                /* array: index of the current element */
    guint nseen;                /* object: members read so far */
    const char *seen[QAPI_INPUT_SEEN_INLINE];
    GPtrArray *seen_more;       /* the rest, when there are many */
};

typedef struct QapiInput {
    bool keyval;                /* input from keyval_parse() */
    QapiInputFrame *top;        /* innermost container, NULL at the root */
} QapiInput;

/* Start reading, strictly (@keyval false) or from keyval_parse() output. */
void qapi_input_init(QapiInput *in, bool keyval);

/*
 * Structs.  qapi_input_start_struct() checks that @node is an object
 * ("Invalid parameter type for 'x', expected: object") and makes it the
 * current container; qapi_input_push_object() does the same for an object
 * the caller already has (the "arguments" of a command).  Members are then
 * looked up with qapi_input_member() (a missing one is an error) or
 * qapi_input_optional() (NULL when absent); both note the member as read.
 * qapi_input_check_struct() fails with "Parameter 'x' is unexpected" if
 * the object holds a member nobody read.  qapi_input_end() pops the frame,
 * whatever happened.
 */
bool qapi_input_start_struct(QapiInput *in, QapiInputFrame *frame,
                             const char *name, JsonNode *node, Error **errp);
void qapi_input_push_object(QapiInput *in, QapiInputFrame *frame,
                            const char *name, JsonObject *obj);
JsonNode *qapi_input_member(QapiInput *in, const char *name, Error **errp);
JsonNode *qapi_input_optional(QapiInput *in, const char *name);
bool qapi_input_check_struct(QapiInput *in, Error **errp);
void qapi_input_end(QapiInput *in, QapiInputFrame *frame);

/*
 * Lists: qapi_input_start_list() checks that @node is an array and makes
 * it the current container; qapi_input_next() returns its elements in
 * order, then NULL.
 */
bool qapi_input_start_list(QapiInput *in, QapiInputFrame *frame,
                           const char *name, JsonNode *node, Error **errp);
JsonNode *qapi_input_next(QapiInput *in);

/* Enums: the value's name, looked up in @lookup. */
bool qapi_input_enum(QapiInput *in, const char *name, JsonNode *node,
                     const QEnumLookup *lookup, int *obj, Error **errp);
JsonNode *qapi_output_enum(const QEnumLookup *lookup, int value);

/*
 * The path of member @name of the current container, as error messages
 * print it ("file.driver", "a[0]"); the caller frees it.
 */
char *qapi_input_full_name(QapiInput *in, const char *name);

/* The built-in types. */
bool qapi_input_str(QapiInput *in, const char *name, JsonNode *node,
                    char **obj, Error **errp);
bool qapi_input_int(QapiInput *in, const char *name, JsonNode *node,
                    int64_t *obj, Error **errp);
bool qapi_input_int8(QapiInput *in, const char *name, JsonNode *node,
                     int8_t *obj, Error **errp);
bool qapi_input_int16(QapiInput *in, const char *name, JsonNode *node,
                      int16_t *obj, Error **errp);
bool qapi_input_int32(QapiInput *in, const char *name, JsonNode *node,
                      int32_t *obj, Error **errp);
bool qapi_input_int64(QapiInput *in, const char *name, JsonNode *node,
                      int64_t *obj, Error **errp);
bool qapi_input_uint8(QapiInput *in, const char *name, JsonNode *node,
                      uint8_t *obj, Error **errp);
bool qapi_input_uint16(QapiInput *in, const char *name, JsonNode *node,
                       uint16_t *obj, Error **errp);
bool qapi_input_uint32(QapiInput *in, const char *name, JsonNode *node,
                       uint32_t *obj, Error **errp);
bool qapi_input_uint64(QapiInput *in, const char *name, JsonNode *node,
                       uint64_t *obj, Error **errp);
bool qapi_input_size(QapiInput *in, const char *name, JsonNode *node,
                     uint64_t *obj, Error **errp);
bool qapi_input_number(QapiInput *in, const char *name, JsonNode *node,
                       double *obj, Error **errp);
bool qapi_input_bool(QapiInput *in, const char *name, JsonNode *node,
                     bool *obj, Error **errp);
/* 'any' takes any value; *obj gets a new reference to @node itself. */
bool qapi_input_any(QapiInput *in, const char *name, JsonNode *node,
                    JsonNode **obj, Error **errp);
/* 'null' takes only JSON null; *obj gets a new null node. */
bool qapi_input_null(QapiInput *in, const char *name, JsonNode *node,
                     JsonNode **obj, Error **errp);

/* A NULL string is written as "" (as QEMU does). */
JsonNode *qapi_output_str(const char *value);
JsonNode *qapi_output_int(int64_t value);
JsonNode *qapi_output_int8(int8_t value);
JsonNode *qapi_output_int16(int16_t value);
JsonNode *qapi_output_int32(int32_t value);
JsonNode *qapi_output_int64(int64_t value);
JsonNode *qapi_output_uint8(uint8_t value);
JsonNode *qapi_output_uint16(uint16_t value);
JsonNode *qapi_output_uint32(uint32_t value);
/*
 * json-glib holds integers as gint64: a uint64 above INT64_MAX comes out
 * negative (two's complement), which qapi_input_uint64() maps back.
 */
JsonNode *qapi_output_uint64(uint64_t value);
JsonNode *qapi_output_size(uint64_t value);
JsonNode *qapi_output_number(double value);
JsonNode *qapi_output_bool(bool value);
/* A copy of @value (JSON null if @value is NULL). */
JsonNode *qapi_output_any(const JsonNode *value);
JsonNode *qapi_output_null(const JsonNode *value);

/*
 * QEMU's size syntax: a decimal number, optionally with a fraction, and a
 * suffix B, K, M, G, T, P or E (either case; powers of 1024); or a hex
 * number "0x..." without fraction or suffix.  Returns 0, -EINVAL for a
 * malformed string, -ERANGE when the value exceeds UINT64_MAX.
 */
int qapi_strtosz(const char *str, uint64_t *result);

#endif /* QBLOCK_QAPI_VISITOR_H */
