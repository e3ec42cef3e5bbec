/*
 * qapi-util.c: enum lookup and boolean parsing for the QAPI runtime.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qapi/util.h"

const QEnumLookup QType_lookup = {
    .array = (const char *const[]) {
        [QTYPE_NONE] = "none",
        [QTYPE_QNULL] = "qnull",
        [QTYPE_QNUM] = "qnum",
        [QTYPE_QSTRING] = "qstring",
        [QTYPE_QDICT] = "qdict",
        [QTYPE_QLIST] = "qlist",
        [QTYPE_QBOOL] = "qbool",
    },
    .size = QTYPE__MAX,
};

const char *qapi_enum_lookup(const QEnumLookup *lookup, int val)
{
    assert(val >= 0 && val < lookup->size);
    return lookup->array[val];
}

int qapi_enum_parse(const QEnumLookup *lookup, const char *buf, int def,
                    Error **errp)
{
    int i;

    if (!buf) {
        return def;
    }
    for (i = 0; i < lookup->size; i++) {
        /* A value left out by its 'if' condition has no name. */
        if (lookup->array[i] && !strcmp(buf, lookup->array[i])) {
            return i;
        }
    }
    error_setg(errp, "invalid parameter value: %s", buf);
    return def;
}

bool qapi_bool_parse(const char *name, const char *value, bool *obj,
                     Error **errp)
{
    static const char *const yes[] = { "on", "yes", "true", "y" };
    static const char *const no[] = { "off", "no", "false", "n" };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(yes); i++) {
        if (!strcmp(value, yes[i])) {
            *obj = true;
            return true;
        }
        if (!strcmp(value, no[i])) {
            *obj = false;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}
