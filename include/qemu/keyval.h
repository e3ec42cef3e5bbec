/*
 * keyval.h: QEMU's dotted KEY=VALUE,... option syntax, parsed into JSON.
 *
 *     driver=qcow2,node-name=disk,file.driver=file,file.filename=a.img
 *
 * becomes
 *
 *     {"driver": "qcow2", "node-name": "disk",
 *      "file": {"driver": "file", "filename": "a.img"}}
 *
 * and `a.0=x,a.1=y` becomes {"a": ["x", "y"]}.  Every leaf is a string;
 * the visitor that applies the schema converts "on", "42" or "1G" to the
 * type it expects.  The full grammar and rules are in util/keyval.c.
 */
#ifndef QBLOCK_QEMU_KEYVAL_H
#define QBLOCK_QEMU_KEYVAL_H

#include <json-glib/json-glib.h>

/* The longest key fragment (the text between dots) that is accepted. */
#define KEYVAL_FRAGMENT_MAX 127

/*
 * Parse @params into a tree of JSON objects, arrays and strings, returned
 * as a JSON_NODE_OBJECT node that the caller owns (json_node_unref(), or
 * g_autoptr(JsonNode)).  An empty @params gives an empty object.
 *
 * @implied_key, if not NULL, names the key of the first parameter when it
 * is written without "key=" (`--blockdev` has none; `--object` implies
 * "qom-type").  It must itself be a valid dotted key.
 *
 * A parameter "help" or "?" (with no '=') asks for help: it adds nothing
 * to the tree, and *@help is set to true (to false if there was none).
 * With @help NULL such a request is an error.
 *
 * On error, sets @errp with QEMU's wording and returns NULL.
 *
 * Any thread may call this; it touches no global state.
 */
JsonNode *keyval_parse(const char *params, const char *implied_key,
                       bool *help, Error **errp);

#endif /* QBLOCK_QEMU_KEYVAL_H */
