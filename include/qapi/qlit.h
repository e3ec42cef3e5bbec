/*
 * qlit.h: JSON values written as a static table in generated C.
 *
 * The query-qmp-schema data is compiled in as a flat array of operations
 * that build the value in order, like a JSON text already tokenized:
 *
 *     { QLIT_OBJECT, NULL },
 *         { QLIT_KEY, "name" }, { QLIT_STR, "quit" },
 *         { QLIT_KEY, "allow-oob" }, { QLIT_TRUE, NULL },
 *     { QLIT_CLOSE, NULL },
 *     { QLIT_END, NULL },
 *
 * A table is easy to wrap in #if / #endif piece by piece (a conditional
 * command, member or enum value is just some lines left out), which a JSON
 * string literal is not.
 */
#ifndef QBLOCK_QAPI_QLIT_H
#define QBLOCK_QAPI_QLIT_H

#include <json-glib/json-glib.h>

typedef enum QLitOp {
    QLIT_END,       /* the table ends: exactly one value has been built */
    QLIT_OBJECT,    /* start an object; members follow as KEY + value */
    QLIT_ARRAY,     /* start an array; elements follow */
    QLIT_CLOSE,     /* end the innermost object or array */
    QLIT_KEY,       /* the next value is member @str of the object */
    QLIT_STR,       /* the string @str */
    QLIT_TRUE,
    QLIT_FALSE,
    QLIT_NULL,
} QLitOp;

typedef struct QLit {
    QLitOp op;
    const char *str;
} QLit;

/* Build the value that table @lit describes; the caller owns the node. */
JsonNode *qlit_to_json(const QLit *lit);

#endif /* QBLOCK_QAPI_QLIT_H */
