/*
 * qapi-output.c: writing the C values of the built-in types as JSON.
 *
 * The generated qapi_output_Foo() functions build objects and arrays and
 * call these for the leaves.  Every function returns a new node that the
 * caller owns (usually by passing it to json_object_set_member() or
 * json_array_add_element(), which take it over).
 */
#include "qemu/osdep.h"

#include "qemu/json-stream.h"

#include "qapi/visitor.h"

JsonNode *qapi_output_str(const char *value)
{
    JsonNode *node = json_node_alloc();

    return json_node_init_string(node, value ? value : "");
}

JsonNode *qapi_output_int(int64_t value)
{
    return json_node_init_int(json_node_alloc(), value);
}

JsonNode *qapi_output_int8(int8_t value)
{
    return qapi_output_int(value);
}

JsonNode *qapi_output_int16(int16_t value)
{
    return qapi_output_int(value);
}

JsonNode *qapi_output_int32(int32_t value)
{
    return qapi_output_int(value);
}

JsonNode *qapi_output_int64(int64_t value)
{
    return qapi_output_int(value);
}

JsonNode *qapi_output_uint8(uint8_t value)
{
    return qapi_output_int(value);
}

JsonNode *qapi_output_uint16(uint16_t value)
{
    return qapi_output_int(value);
}

JsonNode *qapi_output_uint32(uint32_t value)
{
    return qapi_output_int(value);
}

JsonNode *qapi_output_uint64(uint64_t value)
{
    return json_node_new_uint64(value);
}

JsonNode *qapi_output_size(uint64_t value)
{
    return qapi_output_uint64(value);
}

JsonNode *qapi_output_number(double value)
{
    return json_node_init_double(json_node_alloc(), value);
}

JsonNode *qapi_output_bool(bool value)
{
    return json_node_init_boolean(json_node_alloc(), value);
}

JsonNode *qapi_output_any(const JsonNode *value)
{
    if (!value) {
        return json_node_new(JSON_NODE_NULL);
    }
    return json_node_copy((JsonNode *)value);
}

JsonNode *qapi_output_null(const JsonNode *value)
{
    return json_node_new(JSON_NODE_NULL);
}

JsonNode *qapi_output_enum(const QEnumLookup *lookup, int value)
{
    return qapi_output_str(qapi_enum_lookup(lookup, value));
}
