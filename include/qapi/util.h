/*
 * util.h: enum lookup tables and the JSON type tag of the QAPI runtime.
 *
 * Every schema enum Foo has a generated table Foo_lookup that maps its C
 * values (FOO_A, FOO_B, ...) to the names on the wire ("a", "b", ...):
 *
 *     const char *s = MirrorSyncMode_str(MIRROR_SYNC_MODE_TOP);   "top"
 *     int v = qapi_enum_parse(&MirrorSyncMode_lookup, "full", -1, errp);
 *
 * QType names the JSON type of a value; an alternate's C struct stores the
 * type of the JSON value it was read from in its 'type' member, and a
 * switch on it selects the branch (QTYPE_QSTRING, QTYPE_QDICT, ...).
 */
#ifndef QBLOCK_QAPI_UTIL_H
#define QBLOCK_QAPI_UTIL_H

typedef struct QEnumLookup {
    const char *const *array;   /* indexed by the C value */
    int size;                   /* number of values (the __MAX constant) */
} QEnumLookup;

/* The JSON types, named as in QEMU (where they are the QObject types). */
typedef enum QType {
    QTYPE_NONE,
    QTYPE_QNULL,
    QTYPE_QNUM,
    QTYPE_QSTRING,
    QTYPE_QDICT,
    QTYPE_QLIST,
    QTYPE_QBOOL,
    QTYPE__MAX,
} QType;

extern const QEnumLookup QType_lookup;
#define QType_str(val) qapi_enum_lookup(&QType_lookup, (val))

/* The name of value @val, which must be valid (0 <= @val < size). */
const char *qapi_enum_lookup(const QEnumLookup *lookup, int val);

/*
 * The value named @buf; @def if @buf is NULL.  An unknown name sets @errp
 * to QEMU's "invalid parameter value: <buf>" and returns @def.
 */
int qapi_enum_parse(const QEnumLookup *lookup, const char *buf, int def,
                    Error **errp);

/*
 * Parse a boolean the way QEMU's command line does: "on", "yes", "true"
 * and "y" are true, "off", "no", "false" and "n" are false.  Anything else
 * sets @errp to "Parameter '<name>' expects 'on' or 'off'" and returns
 * false.
 */
bool qapi_bool_parse(const char *name, const char *value, bool *obj,
                     Error **errp);

#endif /* QBLOCK_QAPI_UTIL_H */
