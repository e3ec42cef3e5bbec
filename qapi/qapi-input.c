/*
 * qapi-input.c: reading JSON into the C types of the schema.
 *
 * The generated qapi_input_Foo() functions walk the JSON tree and the C
 * type together; this file holds what they share: the stack of containers
 * being read (one QapiInputFrame per object or array, on the C stack of
 * the function reading it), the bookkeeping that finds unexpected members,
 * and the built-in types in both input modes (strict JSON, and keyval
 * strings).
 *
 * Error messages name the value by its path from the root, built from the
 * frames the way QEMU's QObject input visitor builds it: walking outwards,
 * an object contributes ".member", an array "[index]" (".index" in keyval
 * mode), and the name of the outermost container (usually none) starts
 * the path.  So member 'driver' of the object in member 'file' of the
 * command arguments is 'file.driver', and the first element of list 'a'
 * is 'a[0]'.
 *
 * Unexpected members: a frame counts the members that were looked up and
 * found.  If the count equals the object's size, every member was read;
 * only when it does not are the names compared, to report the first
 * member (in the object's order) that nobody read.  The generated code
 * looks each member up once, which the count relies on.
 */
#include "qemu/osdep.h"

#include "qemu/json-stream.h"

#include <math.h>

#include "qapi/error.h"
#include "qapi/visitor.h"

void qapi_input_init(QapiInput *in, bool keyval)
{
    in->keyval = keyval;
    in->top = NULL;
}

static void push(QapiInput *in, QapiInputFrame *frame, const char *name,
                 JsonObject *obj, JsonArray *array)
{
    frame->up = in->top;
    frame->name = name;
    frame->obj = obj;
    frame->array = array;
    frame->index = (guint)-1;
    frame->nseen = 0;
    frame->seen_more = NULL;
    in->top = frame;
}

void qapi_input_end(QapiInput *in, QapiInputFrame *frame)
{
    assert(in->top == frame);
    in->top = frame->up;
    if (frame->seen_more) {
        g_ptr_array_free(frame->seen_more, TRUE);
        frame->seen_more = NULL;
    }
}

char *qapi_input_full_name(QapiInput *in, const char *name)
{
    GString *path = g_string_new("");
    QapiInputFrame *frame;
    char buf[32];

    for (frame = in->top; frame; frame = frame->up) {
        if (frame->obj) {
            g_string_prepend(path, name ? name : "<anonymous>");
            g_string_prepend_c(path, '.');
        } else {
            snprintf(buf, sizeof(buf), in->keyval ? ".%u" : "[%u]",
                     frame->index);
            g_string_prepend(path, buf);
        }
        name = frame->name;
    }
    if (name) {
        g_string_prepend(path, name);
    } else if (path->str[0] == '.') {
        g_string_erase(path, 0, 1);
    } else if (!path->str[0]) {
        g_string_assign(path, "<anonymous>");
    }
    return g_string_free(path, FALSE);
}

/* "Invalid parameter type for 'x', expected: <what>" */
static void type_error(QapiInput *in, const char *name, const char *what,
                       Error **errp)
{
    g_autofree char *full = qapi_input_full_name(in, name);

    error_setg(errp, "Invalid parameter type for '%s', expected: %s",
               full, what);
}

/* "Parameter 'x' expects <what>" */
static void value_error(QapiInput *in, const char *name, const char *what,
                        Error **errp)
{
    g_autofree char *full = qapi_input_full_name(in, name);

    error_setg(errp, "Parameter '%s' expects %s", full, what);
}

/* Structs */

void qapi_input_push_object(QapiInput *in, QapiInputFrame *frame,
                            const char *name, JsonObject *obj)
{
    push(in, frame, name, obj, NULL);
}

bool qapi_input_start_struct(QapiInput *in, QapiInputFrame *frame,
                             const char *name, JsonNode *node, Error **errp)
{
    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        type_error(in, name, "object", errp);
        return false;
    }
    push(in, frame, name, json_node_get_object(node), NULL);
    return true;
}

JsonNode *qapi_input_optional(QapiInput *in, const char *name)
{
    QapiInputFrame *frame = in->top;
    JsonNode *node;

    assert(frame && frame->obj);
    node = json_object_get_member(frame->obj, name);
    if (!node) {
        return NULL;
    }
    if (frame->nseen < QAPI_INPUT_SEEN_INLINE) {
        frame->seen[frame->nseen] = name;
    } else {
        if (!frame->seen_more) {
            frame->seen_more = g_ptr_array_new();
        }
        g_ptr_array_add(frame->seen_more, (gpointer)name);
    }
    frame->nseen++;
    return node;
}

JsonNode *qapi_input_member(QapiInput *in, const char *name, Error **errp)
{
    JsonNode *node = qapi_input_optional(in, name);

    if (!node) {
        g_autofree char *full = qapi_input_full_name(in, name);

        error_setg(errp, "Parameter '%s' is missing", full);
    }
    return node;
}

static bool was_seen(QapiInputFrame *frame, const char *key)
{
    guint i;

    for (i = 0; i < frame->nseen; i++) {
        const char *seen = i < QAPI_INPUT_SEEN_INLINE
            ? frame->seen[i]
            : g_ptr_array_index(frame->seen_more,
                                i - QAPI_INPUT_SEEN_INLINE);

        if (!strcmp(seen, key)) {
            return true;
        }
    }
    return false;
}

bool qapi_input_check_struct(QapiInput *in, Error **errp)
{
    QapiInputFrame *frame = in->top;
    GList *members, *m;
    bool ok = true;

    assert(frame && frame->obj);
    if (frame->nseen == json_object_get_size(frame->obj)) {
        return true;
    }
    members = json_object_get_members(frame->obj);
    for (m = members; m; m = m->next) {
        if (!was_seen(frame, m->data)) {
            g_autofree char *full = qapi_input_full_name(in, m->data);

            error_setg(errp, "Parameter '%s' is unexpected", full);
            ok = false;
            break;
        }
    }
    g_list_free(members);
    return ok;
}

/* Lists */

bool qapi_input_start_list(QapiInput *in, QapiInputFrame *frame,
                           const char *name, JsonNode *node, Error **errp)
{
    if (!JSON_NODE_HOLDS_ARRAY(node)) {
        type_error(in, name, "array", errp);
        return false;
    }
    push(in, frame, name, NULL, json_node_get_array(node));
    return true;
}

JsonNode *qapi_input_next(QapiInput *in)
{
    QapiInputFrame *frame = in->top;

    assert(frame && frame->array);
    frame->index++;
    if (frame->index >= json_array_get_length(frame->array)) {
        return NULL;
    }
    return json_array_get_element(frame->array, frame->index);
}

/* Scalars */

static bool holds(JsonNode *node, GType type)
{
    return JSON_NODE_HOLDS_VALUE(node) &&
           json_node_get_value_type(node) == type;
}

/*
 * In keyval mode every scalar is a string; an object or array where a
 * scalar belongs means the user wrote keys below a scalar ('x.y=1').
 */
static const char *get_keyval(QapiInput *in, const char *name,
                              JsonNode *node, Error **errp)
{
    g_autofree char *full = NULL;

    if (holds(node, G_TYPE_STRING)) {
        return json_node_get_string(node);
    }
    full = qapi_input_full_name(in, name);
    if (JSON_NODE_HOLDS_OBJECT(node) || JSON_NODE_HOLDS_ARRAY(node)) {
        error_setg(errp, "Parameters '%s.*' are unexpected", full);
    } else {
        error_setg(errp, "Internal error: parameter %s invalid", full);
    }
    return NULL;
}

bool qapi_input_str(QapiInput *in, const char *name, JsonNode *node,
                    char **obj, Error **errp)
{
    const char *str;

    if (in->keyval) {
        str = get_keyval(in, name, node, errp);
        if (!str) {
            return false;
        }
    } else {
        if (!holds(node, G_TYPE_STRING)) {
            type_error(in, name, "string", errp);
            return false;
        }
        str = json_node_get_string(node);
    }
    *obj = g_strdup(str);
    return true;
}

/* QEMU's qemu_strtoi64(str, NULL, 0, ...): all of @str, base by prefix. */
static bool parse_int64(const char *str, int64_t *result)
{
    char *end;
    long long val;

    errno = 0;
    val = strtoll(str, &end, 0);
    if (end == str || *end || errno) {
        return false;
    }
    *result = val;
    return true;
}

/* As parse_int64(), unsigned; like strtoull(), "-1" is UINT64_MAX. */
static bool parse_uint64(const char *str, uint64_t *result)
{
    char *end;
    unsigned long long val;

    errno = 0;
    val = strtoull(str, &end, 0);
    if (end == str || *end || errno) {
        return false;
    }
    *result = val;
    return true;
}

bool qapi_input_int(QapiInput *in, const char *name, JsonNode *node,
                    int64_t *obj, Error **errp)
{
    const char *str;

    if (in->keyval) {
        str = get_keyval(in, name, node, errp);
        if (!str) {
            return false;
        }
        if (!parse_int64(str, obj)) {
            value_error(in, name, "integer", errp);
            return false;
        }
        return true;
    }
    /* Above INT64_MAX is an integer, but not one an int64 can take. */
    if (!holds(node, G_TYPE_INT64) || json_node_holds_big_uint64(node)) {
        type_error(in, name, "integer", errp);
        return false;
    }
    *obj = json_node_get_int(node);
    return true;
}

bool qapi_input_int64(QapiInput *in, const char *name, JsonNode *node,
                      int64_t *obj, Error **errp)
{
    return qapi_input_int(in, name, node, obj, errp);
}

bool qapi_input_uint64(QapiInput *in, const char *name, JsonNode *node,
                       uint64_t *obj, Error **errp)
{
    const char *str;

    if (in->keyval) {
        str = get_keyval(in, name, node, errp);
        if (!str) {
            return false;
        }
        if (!parse_uint64(str, obj)) {
            value_error(in, name, "integer", errp);
            return false;
        }
        return true;
    }
    /*
     * QEMU takes negative numbers too, as their two's complement; values
     * above INT64_MAX arrive as the same bits (json_node_new_uint64()).
     */
    if (holds(node, G_TYPE_INT64)) {
        *obj = (uint64_t)json_node_get_int(node);
        return true;
    }
    value_error(in, name, "uint64", errp);
    return false;
}

/*
 * The narrower integer types read a 64-bit value and then check its
 * range.  As in QEMU, this message names the member without its path.
 */
static bool check_range_signed(const char *name, int64_t value, int64_t min,
                               int64_t max, const char *type, Error **errp)
{
    if (value < min || value > max) {
        error_setg(errp, "Parameter '%s' expects %s", name ? name : "null",
                   type);
        return false;
    }
    return true;
}

static bool check_range_unsigned(const char *name, uint64_t value,
                                 uint64_t max, const char *type,
                                 Error **errp)
{
    if (value > max) {
        error_setg(errp, "Parameter '%s' expects %s", name ? name : "null",
                   type);
        return false;
    }
    return true;
}

#define INPUT_INT(width)                                                    \
bool qapi_input_int##width(QapiInput *in, const char *name, JsonNode *node, \
                           int##width##_t *obj, Error **errp)               \
{                                                                           \
    int64_t value;                                                          \
                                                                            \
    if (!qapi_input_int(in, name, node, &value, errp) ||                    \
        !check_range_signed(name, value, INT##width##_MIN,                  \
                            INT##width##_MAX, "int" #width "_t", errp)) {   \
        return false;                                                       \
    }                                                                       \
    *obj = value;                                                           \
    return true;                                                            \
}

#define INPUT_UINT(width)                                                   \
bool qapi_input_uint##width(QapiInput *in, const char *name,                \
                            JsonNode *node, uint##width##_t *obj,           \
                            Error **errp)                                   \
{                                                                           \
    uint64_t value;                                                         \
                                                                            \
    if (!qapi_input_uint64(in, name, node, &value, errp) ||                 \
        !check_range_unsigned(name, value, UINT##width##_MAX,               \
                              "uint" #width "_t", errp)) {                  \
        return false;                                                       \
    }                                                                       \
    *obj = value;                                                           \
    return true;                                                            \
}

INPUT_INT(8)
INPUT_INT(16)
INPUT_INT(32)
INPUT_UINT(8)
INPUT_UINT(16)
INPUT_UINT(32)

static uint64_t suffix_mul(char suffix)
{
    switch (g_ascii_toupper(suffix)) {
    case 'B':
        return 1;
    case 'K':
        return KiB;
    case 'M':
        return MiB;
    case 'G':
        return GiB;
    case 'T':
        return TiB;
    case 'P':
        return 1024 * TiB;
    case 'E':
        return 1024 * 1024 * TiB;
    }
    return 0;
}

int qapi_strtosz(const char *str, uint64_t *result)
{
    const char *end;
    char *p;
    unsigned long long val;
    double fraction = 0;
    bool need_suffix = false;
    uint64_t mul;

    /* The integral part, in decimal; a sign is never valid. */
    errno = 0;
    val = strtoull(str, &p, 10);
    if (p == str) {
        return -EINVAL;
    }
    if (errno) {
        return -errno;
    }
    if (memchr(str, '-', p - str)) {
        return -EINVAL;
    }
    end = p;
    if (val == 0 && (*end == 'x' || *end == 'X')) {
        /* Hexadecimal: no fraction, no suffix. */
        errno = 0;
        val = strtoull(str, &p, 16);
        if (errno) {
            return -errno;
        }
        end = p;
        if (*end == '.' || suffix_mul(*end)) {
            return -EINVAL;
        }
    } else if (*end == '.') {
        /* A fraction needs a suffix that makes it a whole number. */
        const char *dot = end;

        errno = 0;
        fraction = strtod(dot, &p);
        if (p == dot || errno || !isfinite(fraction)) {
            fraction = 0;
            end = dot + 1;
        } else if (memchr(dot, 'e', p - dot) || memchr(dot, 'E', p - dot)) {
            return -EINVAL;
        } else {
            end = p;
            need_suffix = fraction != 0;
        }
    }
    mul = suffix_mul(*end);
    if (mul) {
        end++;
    } else {
        mul = 1;
    }
    if (mul == 1 && need_suffix) {
        return -EINVAL;
    }
    if (*end) {
        return -EINVAL;
    }
    if (val > (UINT64_MAX - (uint64_t)(fraction * mul)) / mul) {
        return -ERANGE;
    }
    *result = val * mul + (uint64_t)(fraction * mul);
    return 0;
}

bool qapi_input_size(QapiInput *in, const char *name, JsonNode *node,
                     uint64_t *obj, Error **errp)
{
    const char *str;

    if (!in->keyval) {
        return qapi_input_uint64(in, name, node, obj, errp);
    }
    str = get_keyval(in, name, node, errp);
    if (!str) {
        return false;
    }
    if (qapi_strtosz(str, obj) < 0) {
        value_error(in, name, "size", errp);
        return false;
    }
    return true;
}

bool qapi_input_number(QapiInput *in, const char *name, JsonNode *node,
                       double *obj, Error **errp)
{
    const char *str;
    char *end;
    double val;

    if (!in->keyval) {
        if (holds(node, G_TYPE_INT64)) {
            *obj = json_node_get_int(node);
            return true;
        }
        if (holds(node, G_TYPE_DOUBLE)) {
            *obj = json_node_get_double(node);
            return true;
        }
        type_error(in, name, "number", errp);
        return false;
    }
    str = get_keyval(in, name, node, errp);
    if (!str) {
        return false;
    }
    errno = 0;
    val = strtod(str, &end);
    if (end == str || *end || errno || !isfinite(val)) {
        type_error(in, name, "number", errp);
        return false;
    }
    *obj = val;
    return true;
}

bool qapi_input_bool(QapiInput *in, const char *name, JsonNode *node,
                     bool *obj, Error **errp)
{
    const char *str;

    if (!in->keyval) {
        if (!holds(node, G_TYPE_BOOLEAN)) {
            type_error(in, name, "boolean", errp);
            return false;
        }
        *obj = json_node_get_boolean(node);
        return true;
    }
    str = get_keyval(in, name, node, errp);
    if (!str) {
        return false;
    }
    if (!qapi_bool_parse(name, str, obj, NULL)) {
        value_error(in, name, "'on' or 'off'", errp);
        return false;
    }
    return true;
}

bool qapi_input_any(QapiInput *in, const char *name, JsonNode *node,
                    JsonNode **obj, Error **errp)
{
    *obj = json_node_ref(node);
    return true;
}

bool qapi_input_null(QapiInput *in, const char *name, JsonNode *node,
                     JsonNode **obj, Error **errp)
{
    if (!JSON_NODE_HOLDS_NULL(node)) {
        type_error(in, name, "null", errp);
        return false;
    }
    *obj = json_node_new(JSON_NODE_NULL);
    return true;
}

bool qapi_input_enum(QapiInput *in, const char *name, JsonNode *node,
                     const QEnumLookup *lookup, int *obj, Error **errp)
{
    g_autofree char *str = NULL;
    int value;

    if (!qapi_input_str(in, name, node, &str, errp)) {
        return false;
    }
    value = qapi_enum_parse(lookup, str, -1, NULL);
    if (value < 0) {
        /* QEMU names the member without its path here. */
        error_setg(errp, "Parameter '%s' does not accept value '%s'",
                   name ? name : "null", str);
        return false;
    }
    *obj = value;
    return true;
}
