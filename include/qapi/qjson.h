/*
 * qjson.h: small JsonNode helpers for the QAPI runtime.
 *
 * json-glib's JsonNode is qblock's JSON object model (QEMU has QObject).
 * JSON text is read and written by util/json-stream.c and
 * util/json-writer.c (QEMU's dialect and format); these helpers fill the
 * remaining gaps of json-glib for the generated code.
 *
 * Any thread may call these functions.
 */
#ifndef QBLOCK_QAPI_QJSON_H
#define QBLOCK_QAPI_QJSON_H

#include <json-glib/json-glib.h>

#include "qapi/util.h"

/*
 * A new node holding @obj (or @array).  The node takes over the caller's
 * reference: after "node = qjson_take_object(json_object_new())" only
 * the node needs freeing.
 */
JsonNode *qjson_take_object(JsonObject *obj);
JsonNode *qjson_take_array(JsonArray *array);

/*
 * The QType of @node's JSON value: QTYPE_QNUM for integers and doubles,
 * QTYPE_NONE for a value json-glib holds but JSON has no name for.
 */
QType qjson_qtype(JsonNode *node);

#endif /* QBLOCK_QAPI_QJSON_H */
