/*
 * qlit.c: build a JsonNode from a QLit table (see qlit.h).
 *
 * The table is a pre-order walk of the value, so one pass with a
 * JsonBuilder rebuilds it; a small stack remembers whether each open
 * container is an object or an array, which is all CLOSE needs.
 */
#include "qemu/osdep.h"

#include "qapi/qlit.h"

/* Deeper than any schema data; a deeper table is a generator bug. */
#define QLIT_MAX_DEPTH 64

JsonNode *qlit_to_json(const QLit *lit)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();
    bool is_object[QLIT_MAX_DEPTH];
    int depth = 0;

    for (; lit->op != QLIT_END; lit++) {
        switch (lit->op) {
        case QLIT_OBJECT:
        case QLIT_ARRAY:
            assert(depth < QLIT_MAX_DEPTH);
            is_object[depth++] = lit->op == QLIT_OBJECT;
            if (lit->op == QLIT_OBJECT) {
                json_builder_begin_object(builder);
            } else {
                json_builder_begin_array(builder);
            }
            break;
        case QLIT_CLOSE:
            assert(depth > 0);
            if (is_object[--depth]) {
                json_builder_end_object(builder);
            } else {
                json_builder_end_array(builder);
            }
            break;
        case QLIT_KEY:
            json_builder_set_member_name(builder, lit->str);
            break;
        case QLIT_STR:
            json_builder_add_string_value(builder, lit->str);
            break;
        case QLIT_TRUE:
        case QLIT_FALSE:
            json_builder_add_boolean_value(builder, lit->op == QLIT_TRUE);
            break;
        case QLIT_NULL:
            json_builder_add_null_value(builder);
            break;
        case QLIT_END:
            break;
        }
    }
    assert(depth == 0);
    return json_builder_get_root(builder);
}
