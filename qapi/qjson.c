/*
 * qjson.c: small JsonNode helpers for the QAPI runtime (see qjson.h).
 */
#include "qemu/osdep.h"

#include "qapi/qjson.h"

JsonNode *qjson_take_object(JsonObject *obj)
{
    JsonNode *node = json_node_alloc();

    json_node_init_object(node, obj);
    json_object_unref(obj);
    return node;
}

JsonNode *qjson_take_array(JsonArray *array)
{
    JsonNode *node = json_node_alloc();

    json_node_init_array(node, array);
    json_array_unref(array);
    return node;
}

QType qjson_qtype(JsonNode *node)
{
    switch (JSON_NODE_TYPE(node)) {
    case JSON_NODE_OBJECT:
        return QTYPE_QDICT;
    case JSON_NODE_ARRAY:
        return QTYPE_QLIST;
    case JSON_NODE_NULL:
        return QTYPE_QNULL;
    case JSON_NODE_VALUE:
        break;
    }
    switch (json_node_get_value_type(node)) {
    case G_TYPE_STRING:
        return QTYPE_QSTRING;
    case G_TYPE_BOOLEAN:
        return QTYPE_QBOOL;
    case G_TYPE_INT64:
    case G_TYPE_DOUBLE:
        return QTYPE_QNUM;
    default:
        return QTYPE_NONE;
    }
}
