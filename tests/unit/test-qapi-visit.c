/*
 * Tests of the generated JSON <-> C conversion (qapi-visit) and its
 * runtime, on the test schema tests/qapi-schema/qapi-schema-test.json.
 *
 * What callers rely on:
 *   - every construct survives JSON -> C -> JSON unchanged, and the C
 *     values are what the JSON said (has_ flags, NULL for absent
 *     pointers, union branches, alternate types);
 *   - every input error has QEMU 7.2's exact text, with the member's path;
 *   - keyval mode converts strings the way QEMU's command line does.
 * The oracle is the JSON text itself: output is compared with the
 * expected text written out by hand.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qapi/qjson.h"
#include "qemu/keyval.h"
#include "qemu/json-stream.h"
#include "qemu/json-writer.h"
#include "test-qapi-visit.h"

static JsonNode *parse(const char *text)
{
    return json_parse_string(text, &error_abort);
}

/*
 * Read @text as a T in the given mode; it must work, and writing the
 * result must give @expected (the input itself when NULL).
 */
#define ROUND_TRIP(T, keyval, text, expected, objp)                         \
    do {                                                                    \
        g_autoptr(JsonNode) in_node_ = parse(text);                         \
        g_autoptr(JsonNode) out_node_ = NULL;                               \
        g_autofree char *out_text_ = NULL;                                  \
        QapiInput in_;                                                      \
                                                                            \
        qapi_input_init(&in_, keyval);                                      \
        g_assert_true(qapi_input_##T(&in_, NULL, in_node_, objp,            \
                                     &error_abort));                        \
        g_assert_null(in_.top);                                             \
        out_node_ = qapi_output_##T(*(objp));                               \
        out_text_ = json_writer_to_string(out_node_, false);                \
        g_assert_cmpstr(out_text_, ==, (expected) ? (expected) : (text));   \
    } while (0)

/* Read @text as a T in the given mode; it must fail with @msg. */
#define INPUT_ERROR(T, keyval, text, msg)                                   \
    do {                                                                    \
        g_autoptr(JsonNode) node_ = parse(text);                            \
        T *obj_ = NULL;                                                     \
        Error *err_ = NULL;                                                 \
        QapiInput in_;                                                      \
                                                                            \
        qapi_input_init(&in_, keyval);                                      \
        g_assert_false(qapi_input_##T(&in_, NULL, node_, &obj_, &err_));    \
        g_assert_null(obj_);                                                \
        g_assert_null(in_.top);                                             \
        g_assert_nonnull(err_);                                             \
        g_assert_cmpstr(error_get_pretty(err_), ==, msg);                   \
        g_assert_cmpint(error_get_class(err_), ==,                          \
                        ERROR_CLASS_GENERIC_ERROR);                         \
        error_free(err_);                                                   \
    } while (0)

#define STRICT false
#define KEYVAL true

/* Round trips */

static void test_scalars(void)
{
    const char *text =
        "{\"str\": \"s\\u00E9\\n\", \"i\": -9223372036854775808, "
        "\"i8\": -128, \"i16\": 32767, \"i32\": -2147483648, "
        "\"i64\": 9223372036854775807, \"u8\": 255, \"u16\": 65535, "
        "\"u32\": 4294967295, \"u64\": 12345678901234, "
        "\"sz\": 1073741824, \"num\": 1.5, \"flag\": true, "
        "\"anything\": {\"x\": [1, \"two\", null]}, \"nothing\": null, "
        "\"en\": \"value3\"}";
    g_autoptr(TestScalars) s = NULL;

    ROUND_TRIP(TestScalars, STRICT, text, NULL, &s);
    g_assert_cmpstr(s->str, ==, "s\xc3\xa9\n");
    g_assert_cmpint(s->i, ==, INT64_MIN);
    g_assert_cmpint(s->i8, ==, -128);
    g_assert_cmpint(s->i16, ==, 32767);
    g_assert_cmpint(s->i32, ==, INT32_MIN);
    g_assert_cmpint(s->i64, ==, INT64_MAX);
    g_assert_cmpuint(s->u8, ==, 255);
    g_assert_cmpuint(s->u16, ==, 65535);
    g_assert_cmpuint(s->u32, ==, UINT32_MAX);
    g_assert_cmpuint(s->u64, ==, 12345678901234ULL);
    g_assert_cmpuint(s->sz, ==, GiB);
    g_assert_cmpfloat(s->num, ==, 1.5);
    g_assert_true(s->flag);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(s->anything));
    g_assert_true(JSON_NODE_HOLDS_NULL(s->nothing));
    g_assert_cmpint(s->en, ==, TEST_ENUM_VALUE3);
}

static void test_number_accepts_int(void)
{
    g_autoptr(TestScalars) s = NULL;

    ROUND_TRIP(TestScalars, STRICT,
               "{\"str\": \"\", \"i\": 0, \"i8\": 0, \"i16\": 0, "
               "\"i32\": 0, \"i64\": 0, \"u8\": 0, \"u16\": 0, \"u32\": 0, "
               "\"u64\": 0, \"sz\": 0, \"num\": 3, \"flag\": false, "
               "\"anything\": 1, \"nothing\": null, \"en\": \"value-one\"}",
               "{\"str\": \"\", \"i\": 0, \"i8\": 0, \"i16\": 0, "
               "\"i32\": 0, \"i64\": 0, \"u8\": 0, \"u16\": 0, \"u32\": 0, "
               "\"u64\": 0, \"sz\": 0, \"num\": 3, \"flag\": false, "
               "\"anything\": 1, \"nothing\": null, \"en\": \"value-one\"}",
               &s);
    g_assert_cmpfloat(s->num, ==, 3.0);
}

static void test_uint64_wraps(void)
{
    g_autoptr(TestKeyval) k = NULL;
    g_autoptr(TestKeyval) big = NULL;
    g_autoptr(TestKeyval) max = NULL;

    /*
     * QEMU's uint64 input accepts a negative number as its two's
     * complement, and output writes the value unsigned.
     */
    ROUND_TRIP(TestKeyval, STRICT, "{\"u64\": -1}",
               "{\"u64\": 18446744073709551615}", &k);
    g_assert_cmpuint(k->u64, ==, UINT64_MAX);
    /* Above INT64_MAX the value stays exact both ways. */
    ROUND_TRIP(TestKeyval, STRICT, "{\"u64\": 9223372036854775808}", NULL,
               &big);
    g_assert_cmpuint(big->u64, ==, UINT64_C(1) << 63);
    ROUND_TRIP(TestKeyval, STRICT, "{\"u64\": 18446744073709551615}", NULL,
               &max);
    g_assert_cmpuint(max->u64, ==, UINT64_MAX);
}

static void test_optionals_absent(void)
{
    g_autoptr(TestOptionals) o = NULL;

    ROUND_TRIP(TestOptionals, STRICT, "{}", NULL, &o);
    g_assert_null(o->str);
    g_assert_false(o->has_i);
    g_assert_false(o->has_u32);
    g_assert_false(o->has_sz);
    g_assert_false(o->has_num);
    g_assert_false(o->has_flag);
    g_assert_null(o->anything);
    g_assert_false(o->has_en);
    g_assert_null(o->sub);
    g_assert_null(o->list);
    g_assert_null(o->alt);
}

static void test_optionals_present(void)
{
    const char *text =
        "{\"str\": \"x\", \"i\": 0, \"u32\": 7, \"sz\": 0, \"num\": -0.25, "
        "\"flag\": false, \"anything\": null, \"en\": \"value-two\", "
        "\"sub\": {\"name\": \"n\"}, \"list\": [3, 2, 1], "
        "\"alt\": \"ref\"}";
    g_autoptr(TestOptionals) o = NULL;

    ROUND_TRIP(TestOptionals, STRICT, text, NULL, &o);
    g_assert_cmpstr(o->str, ==, "x");
    g_assert_true(o->has_i);
    g_assert_cmpint(o->i, ==, 0);
    g_assert_true(o->has_u32);
    g_assert_cmpuint(o->u32, ==, 7);
    g_assert_true(o->has_flag);
    g_assert_false(o->flag);
    /* An 'any' given as null is present: a JSON null node. */
    g_assert_nonnull(o->anything);
    g_assert_true(JSON_NODE_HOLDS_NULL(o->anything));
    g_assert_true(o->has_en);
    g_assert_cmpint(o->en, ==, TEST_ENUM_VALUE_TWO);
    g_assert_cmpstr(o->sub->name, ==, "n");
    g_assert_false(o->sub->has_value);
    g_assert_cmpint(o->list->value, ==, 3);
    g_assert_cmpint(o->list->next->value, ==, 2);
    g_assert_cmpint(o->list->next->next->value, ==, 1);
    g_assert_null(o->list->next->next->next);
    g_assert_cmpint(o->alt->type, ==, QTYPE_QSTRING);
    g_assert_cmpstr(o->alt->u.ref, ==, "ref");
}

static void test_nested(void)
{
    const char *text =
        "{\"sub\": {\"name\": \"a\", \"value\": 1}, "
        "\"subs\": [{\"name\": \"b\"}, {\"name\": \"c\", \"value\": 3}], "
        "\"strs\": [\"x\", \"y\"], \"enums\": [\"value3\", \"value-one\"], "
        "\"derived\": {\"base-member\": \"bm\", \"own\": 5}, "
        "\"sizes\": [1, 2], \"nums\": [0.5], \"u8s\": [255], "
        "\"bools\": [true, false], \"anys\": [{}, [], \"s\"]}";
    g_autoptr(TestNested) n = NULL;
    TestBase *base;

    ROUND_TRIP(TestNested, STRICT, text, NULL, &n);
    g_assert_cmpstr(n->sub->name, ==, "a");
    g_assert_true(n->sub->has_value);
    g_assert_cmpstr(n->subs->value->name, ==, "b");
    g_assert_cmpint(n->subs->next->value->value, ==, 3);
    g_assert_cmpstr(n->strs->next->value, ==, "y");
    g_assert_cmpint(n->enums->value, ==, TEST_ENUM_VALUE3);
    g_assert_cmpint(n->enums->next->value, ==, TEST_ENUM_VALUE_ONE);
    g_assert_cmpint(n->derived->own, ==, 5);
    /* A struct with a base can be used as its base. */
    base = qapi_TestDerived_base(n->derived);
    g_assert_cmpstr(base->base_member, ==, "bm");
}

static void test_empty_lists(void)
{
    g_autoptr(TestNested) n = NULL;

    /* An empty list is NULL in C, and [] again on output. */
    ROUND_TRIP(TestNested, STRICT,
               "{\"sub\": {\"name\": \"a\"}, \"subs\": [], \"strs\": [], "
               "\"enums\": [], \"derived\": {\"base-member\": \"\", "
               "\"own\": 0}}", NULL, &n);
    g_assert_null(n->subs);
    g_assert_null(n->strs);
    g_assert_null(n->enums);
}

static void test_union(void)
{
    g_autoptr(TestUnion) u1 = NULL;
    g_autoptr(TestUnion) u2 = NULL;
    g_autoptr(TestUnion) u3 = NULL;
    g_autoptr(TestUnion) u4 = NULL;
    g_autoptr(TestUnionNamedBase) u5 = NULL;

    ROUND_TRIP(TestUnion, STRICT,
               "{\"kind\": \"file\", \"common\": 1, \"filename\": \"a.img\", "
               "\"size\": 512}", NULL, &u1);
    g_assert_cmpint(u1->kind, ==, TEST_DRIVER_FILE);
    g_assert_true(u1->has_common);
    g_assert_cmpstr(u1->u.file.filename, ==, "a.img");
    g_assert_true(u1->u.file.has_size);
    g_assert_cmpuint(u1->u.file.size, ==, 512);

    /* A branch holding the union again, like BlockdevOptions' children. */
    ROUND_TRIP(TestUnion, STRICT,
               "{\"kind\": \"node\", \"node-name\": \"n0\", "
               "\"child\": {\"kind\": \"empty\"}}", NULL, &u2);
    g_assert_cmpstr(u2->u.node.node_name, ==, "n0");
    g_assert_cmpint(u2->u.node.child->kind, ==, TEST_DRIVER_EMPTY);

    /* A tag value without a branch adds nothing. */
    ROUND_TRIP(TestUnion, STRICT, "{\"kind\": \"empty\"}", NULL, &u3);
    g_assert_false(u3->has_common);

    /* The 'cond' branch exists because TEST_IF_ON is defined. */
    ROUND_TRIP(TestUnion, STRICT,
               "{\"kind\": \"cond\", \"filename\": \"c\"}", NULL, &u4);
    g_assert_cmpstr(u4->u.cond.filename, ==, "c");

    ROUND_TRIP(TestUnionNamedBase, STRICT,
               "{\"kind\": \"file\", \"id\": \"x\", \"filename\": \"f\"}",
               NULL, &u5);
    g_assert_cmpstr(u5->id, ==, "x");
    g_assert_cmpstr(u5->u.file.filename, ==, "f");
}

static void test_alternates(void)
{
    g_autoptr(TestAlts) a1 = NULL;
    g_autoptr(TestAlts) a2 = NULL;
    g_autoptr(TestAlts) a3 = NULL;
    g_autoptr(TestAlts) a4 = NULL;

    ROUND_TRIP(TestAlts, STRICT,
               "{\"a\": \"node0\", \"scalars\": 5, \"numenum\": 2.5, "
               "\"union\": \"s\"}", NULL, &a1);
    g_assert_cmpint(a1->a->type, ==, QTYPE_QSTRING);
    g_assert_cmpstr(a1->a->u.ref, ==, "node0");
    g_assert_cmpint(a1->scalars->type, ==, QTYPE_QNUM);
    g_assert_cmpint(a1->scalars->u.i, ==, 5);
    g_assert_cmpint(a1->numenum->type, ==, QTYPE_QNUM);
    g_assert_cmpfloat(a1->numenum->u.num, ==, 2.5);
    g_assert_cmpint(a1->q_union->type, ==, QTYPE_QSTRING);

    ROUND_TRIP(TestAlts, STRICT,
               "{\"a\": {\"name\": \"def\", \"value\": 9}, "
               "\"scalars\": true, \"numenum\": \"beta\", "
               "\"union\": {\"kind\": \"file\", \"filename\": \"f\"}}",
               NULL, &a2);
    g_assert_cmpint(a2->a->type, ==, QTYPE_QDICT);
    g_assert_cmpstr(a2->a->u.def.name, ==, "def");
    g_assert_cmpint(a2->a->u.def.value, ==, 9);
    g_assert_cmpint(a2->scalars->type, ==, QTYPE_QBOOL);
    g_assert_true(a2->scalars->u.b);
    g_assert_cmpint(a2->numenum->type, ==, QTYPE_QSTRING);
    g_assert_cmpint(a2->numenum->u.e, ==, TEST_PFX_BETA);
    g_assert_cmpint(a2->q_union->type, ==, QTYPE_QDICT);
    g_assert_cmpstr(a2->q_union->u.u.u.file.filename, ==, "f");

    ROUND_TRIP(TestAlts, STRICT, "{\"a\": \"x\", \"scalars\": null}", NULL,
               &a3);
    g_assert_cmpint(a3->scalars->type, ==, QTYPE_QNULL);

    /* An int is a number too. */
    ROUND_TRIP(TestAlts, STRICT, "{\"a\": \"x\", \"numenum\": 3}", NULL, &a4);
    g_assert_cmpfloat(a4->numenum->u.num, ==, 3.0);
}

static void test_c_names(void)
{
    g_autoptr(TestCNames) c = NULL;

    ROUND_TRIP(TestCNames, STRICT,
               "{\"unix\": \"/s\", \"default\": 1, \"a-b\": 2, "
               "\"x-exp\": true, \"__org.example_ext\": 3}", NULL, &c);
    g_assert_cmpstr(c->q_unix, ==, "/s");
    g_assert_cmpint(c->q_default, ==, 1);
    g_assert_cmpint(c->a_b, ==, 2);
    g_assert_true(c->x_exp);
    g_assert_cmpint(c->__org_example_ext, ==, 3);
}

static void test_conditionals(void)
{
    g_autoptr(TestCond) c = NULL;

    /* 'b' is left out (TEST_IF_OFF), 'd' is in ({'all': [on, not off]}). */
    ROUND_TRIP(TestCond, STRICT, "{\"a\": 1, \"c\": \"x\", \"d\": 4}", NULL,
               &c);
    g_assert_cmpint(c->d, ==, 4);
    INPUT_ERROR(TestCond, STRICT, "{\"a\": 1, \"b\": 2, \"c\": \"x\", "
                "\"d\": 4}", "Parameter 'b' is unexpected");

    g_assert_cmpstr(TestEnumCond_str(TEST_ENUM_COND_COND_ON), ==, "cond-on");
    g_assert_cmpint(qapi_enum_parse(&TestEnumCond_lookup, "cond-off", -1,
                                    NULL), ==, -1);
    g_assert_cmpint(qapi_enum_parse(&TestEnumCond_lookup, "old", -1, NULL),
                    ==, TEST_ENUM_COND_OLD);
}

static void test_empty_struct(void)
{
    g_autoptr(TestEmpty) e = NULL;

    ROUND_TRIP(TestEmpty, STRICT, "{}", NULL, &e);
    INPUT_ERROR(TestEmpty, STRICT, "{\"x\": 1}",
                "Parameter 'x' is unexpected");
}

static void test_enum_helpers(void)
{
    Error *err = NULL;

    g_assert_cmpstr(TestEnum_str(TEST_ENUM_VALUE_ONE), ==, "value-one");
    g_assert_cmpint(TEST_ENUM__MAX, ==, 3);
    g_assert_cmpint(TEST_PFX_ALPHA, ==, 0);
    g_assert_cmpint(TEST_PFX__MAX, ==, 2);
    g_assert_cmpstr(TestIncluded_str(TEST_INCLUDED_IN_TWO), ==, "in-two");
    g_assert_cmpint(qapi_enum_parse(&TestEnum_lookup, "value3", -1,
                                    &error_abort), ==, TEST_ENUM_VALUE3);
    g_assert_cmpint(qapi_enum_parse(&TestEnum_lookup, "nope", 7, &err), ==, 7);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "invalid parameter value: nope");
    error_free(err);
    g_assert_cmpstr(QType_str(QTYPE_QDICT), ==, "qdict");
}

/* Strict input errors */

static void test_error_missing_unexpected(void)
{
    INPUT_ERROR(TestSub, STRICT, "{}", "Parameter 'name' is missing");
    INPUT_ERROR(TestSub, STRICT, "{\"name\": \"x\", \"bogus\": 1}",
                "Parameter 'bogus' is unexpected");
    /* Missing wins: members are read before the leftovers are checked. */
    INPUT_ERROR(TestSub, STRICT, "{\"bogus\": 1}",
                "Parameter 'name' is missing");
    /* The first leftover in the object's order is reported. */
    INPUT_ERROR(TestSub, STRICT,
                "{\"zz\": 1, \"name\": \"x\", \"aa\": 2}",
                "Parameter 'zz' is unexpected");
    INPUT_ERROR(TestSub, STRICT, "[]",
                "Invalid parameter type for '<anonymous>', expected: object");
}

static void test_error_types(void)
{
    INPUT_ERROR(TestSub, STRICT, "{\"name\": 1}",
                "Invalid parameter type for 'name', expected: string");
    INPUT_ERROR(TestSub, STRICT, "{\"name\": null}",
                "Invalid parameter type for 'name', expected: string");
    INPUT_ERROR(TestSub, STRICT, "{\"name\": \"x\", \"value\": \"1\"}",
                "Invalid parameter type for 'value', expected: integer");
    INPUT_ERROR(TestSub, STRICT, "{\"name\": \"x\", \"value\": 1.5}",
                "Invalid parameter type for 'value', expected: integer");
    INPUT_ERROR(TestOptionals, STRICT, "{\"flag\": \"true\"}",
                "Invalid parameter type for 'flag', expected: boolean");
    INPUT_ERROR(TestOptionals, STRICT, "{\"num\": \"1\"}",
                "Invalid parameter type for 'num', expected: number");
    INPUT_ERROR(TestOptionals, STRICT, "{\"sub\": \"x\"}",
                "Invalid parameter type for 'sub', expected: object");
    INPUT_ERROR(TestOptionals, STRICT, "{\"list\": {}}",
                "Invalid parameter type for 'list', expected: array");
    INPUT_ERROR(TestOptionals, STRICT, "{\"en\": 1}",
                "Invalid parameter type for 'en', expected: string");
    INPUT_ERROR(TestOptionals, STRICT, "{\"u32\": \"1\"}",
                "Parameter 'u32' expects uint64");
    INPUT_ERROR(TestOptionals, STRICT, "{\"sz\": true}",
                "Parameter 'sz' expects uint64");
    INPUT_ERROR(TestScalars, STRICT,
                "{\"str\": \"\", \"i\": 0, \"i8\": 0, \"i16\": 0, "
                "\"i32\": 0, \"i64\": 0, \"u8\": 0, \"u16\": 0, \"u32\": 0, "
                "\"u64\": 0, \"sz\": 0, \"num\": 0, \"flag\": false, "
                "\"anything\": 1, \"nothing\": 0, \"en\": \"value-one\"}",
                "Invalid parameter type for 'nothing', expected: null");
}

static void test_error_enum(void)
{
    INPUT_ERROR(TestOptionals, STRICT, "{\"en\": \"bogus\"}",
                "Parameter 'en' does not accept value 'bogus'");
    /* In a list QEMU has no name to print, and prints 'null'. */
    INPUT_ERROR(TestNested, STRICT,
                "{\"sub\": {\"name\": \"a\"}, \"subs\": [], \"strs\": [], "
                "\"enums\": [\"value3\", \"bogus\"]}",
                "Parameter 'null' does not accept value 'bogus'");
}

static void test_error_int_widths(void)
{
    INPUT_ERROR(TestKeyval, STRICT, "{\"i8\": 128}",
                "Parameter 'i8' expects int8_t");
    INPUT_ERROR(TestKeyval, STRICT, "{\"i8\": -129}",
                "Parameter 'i8' expects int8_t");
    INPUT_ERROR(TestKeyval, STRICT, "{\"i16\": 32768}",
                "Parameter 'i16' expects int16_t");
    INPUT_ERROR(TestKeyval, STRICT, "{\"i32\": 2147483648}",
                "Parameter 'i32' expects int32_t");
    INPUT_ERROR(TestKeyval, STRICT, "{\"u8\": 256}",
                "Parameter 'u8' expects uint8_t");
    INPUT_ERROR(TestKeyval, STRICT, "{\"u8\": -1}",
                "Parameter 'u8' expects uint8_t");
    INPUT_ERROR(TestKeyval, STRICT, "{\"u16\": 65536}",
                "Parameter 'u16' expects uint16_t");
    INPUT_ERROR(TestKeyval, STRICT, "{\"u32\": 4294967296}",
                "Parameter 'u32' expects uint32_t");
    INPUT_ERROR(TestKeyval, STRICT, "{\"u32\": -1}",
                "Parameter 'u32' expects uint32_t");
    INPUT_ERROR(TestKeyval, STRICT, "{\"u64\": 1.0}",
                "Parameter 'u64' expects uint64");
    /* The width check names the member without its path (as QEMU). */
    INPUT_ERROR(TestNested, STRICT,
                "{\"sub\": {\"name\": \"a\"}, \"subs\": [], \"strs\": [], "
                "\"enums\": [], \"derived\": {\"base-member\": \"\", "
                "\"own\": 0}, \"u8s\": [1, 300]}",
                "Parameter 'null' expects uint8_t");
}

static void test_error_paths(void)
{
    INPUT_ERROR(TestNested, STRICT, "{\"sub\": {\"name\": 1}}",
                "Invalid parameter type for 'sub.name', expected: string");
    INPUT_ERROR(TestNested, STRICT, "{\"sub\": {}}",
                "Parameter 'sub.name' is missing");
    INPUT_ERROR(TestNested, STRICT, "{\"sub\": {\"name\": \"a\", \"x\": 1}}",
                "Parameter 'sub.x' is unexpected");
    INPUT_ERROR(TestNested, STRICT,
                "{\"sub\": {\"name\": \"a\"}, "
                "\"subs\": [{\"name\": \"b\"}, {\"value\": 1}]}",
                "Parameter 'subs[1].name' is missing");
    INPUT_ERROR(TestNested, STRICT,
                "{\"sub\": {\"name\": \"a\"}, \"subs\": [], "
                "\"strs\": [\"a\", 2]}",
                "Invalid parameter type for 'strs[1]', expected: string");
    INPUT_ERROR(TestNested, STRICT,
                "{\"sub\": {\"name\": \"a\"}, \"subs\": [7]}",
                "Invalid parameter type for 'subs[0]', expected: object");
    INPUT_ERROR(TestNested, STRICT,
                "{\"sub\": {\"name\": \"a\"}, \"subs\": [], \"strs\": [], "
                "\"enums\": [], \"derived\": {\"own\": 0}}",
                "Parameter 'derived.base-member' is missing");
    INPUT_ERROR(TestNested, STRICT,
                "{\"sub\": {\"name\": \"a\"}, \"subs\": [], \"strs\": [], "
                "\"enums\": [], \"derived\": {\"base-member\": \"\", "
                "\"own\": 0}, \"nums\": [1, \"x\"]}",
                "Invalid parameter type for 'nums[1]', expected: number");
}

static void test_error_union(void)
{
    INPUT_ERROR(TestUnion, STRICT, "{\"filename\": \"a\"}",
                "Parameter 'kind' is missing");
    INPUT_ERROR(TestUnion, STRICT, "{\"kind\": \"bogus\"}",
                "Parameter 'kind' does not accept value 'bogus'");
    INPUT_ERROR(TestUnion, STRICT, "{\"kind\": \"file\"}",
                "Parameter 'filename' is missing");
    INPUT_ERROR(TestUnion, STRICT,
                "{\"kind\": \"empty\", \"filename\": \"x\"}",
                "Parameter 'filename' is unexpected");
    INPUT_ERROR(TestUnion, STRICT,
                "{\"kind\": \"node\", \"node-name\": \"n\", "
                "\"child\": {\"kind\": \"file\", \"filename\": 2}}",
                "Invalid parameter type for 'child.filename', "
                "expected: string");
    INPUT_ERROR(TestUnion, STRICT,
                "{\"kind\": \"node\", \"node-name\": \"n\", "
                "\"child\": {\"kind\": \"file\", \"filename\": \"f\", "
                "\"node-name\": \"x\"}}",
                "Parameter 'child.node-name' is unexpected");
}

static void test_error_alternate(void)
{
    INPUT_ERROR(TestAlts, STRICT, "{}", "Parameter 'a' is missing");
    INPUT_ERROR(TestAlts, STRICT, "{\"a\": 1}",
                "Invalid parameter type for 'a', expected: TestAlt");
    INPUT_ERROR(TestAlts, STRICT, "{\"a\": [\"x\"]}",
                "Invalid parameter type for 'a', expected: TestAlt");
    INPUT_ERROR(TestAlts, STRICT, "{\"a\": {\"value\": 1}}",
                "Parameter 'a.name' is missing");
    INPUT_ERROR(TestAlts, STRICT, "{\"a\": {\"name\": \"n\", \"x\": 1}}",
                "Parameter 'a.x' is unexpected");
    INPUT_ERROR(TestAlts, STRICT, "{\"a\": \"x\", \"scalars\": \"s\"}",
                "Invalid parameter type for 'scalars', "
                "expected: TestAltScalars");
    INPUT_ERROR(TestAlts, STRICT, "{\"a\": \"x\", \"scalars\": 1.5}",
                "Invalid parameter type for 'scalars', expected: integer");
    INPUT_ERROR(TestAlts, STRICT, "{\"a\": \"x\", \"numenum\": \"gamma\"}",
                "Parameter 'numenum' does not accept value 'gamma'");
    INPUT_ERROR(TestAlts, STRICT, "{\"a\": \"x\", \"union\": "
                "{\"kind\": \"bogus\"}}",
                "Parameter 'kind' does not accept value 'bogus'");
    INPUT_ERROR(TestAlt, STRICT, "1",
                "Invalid parameter type for 'null', expected: TestAlt");
}

/* Keyval mode */

static void test_keyval_conversions(void)
{
    g_autoptr(TestKeyval) k = NULL;

    ROUND_TRIP(TestKeyval, KEYVAL,
               "{\"str\": \"on\", \"i\": \"0x10\", \"i8\": \"-8\", "
               "\"i16\": \"010\", \"i32\": \"-2147483648\", "
               "\"i64\": \"9223372036854775807\", \"u8\": \"255\", "
               "\"u16\": \"0xffff\", \"u32\": \"4294967295\", "
               "\"u64\": \"18446744073709551615\", \"sz\": \"1.5k\", "
               "\"num\": \"1.5e3\", \"flag\": \"on\", \"en\": \"value3\", "
               "\"sub\": {\"name\": \"n\", \"value\": \"7\"}, "
               "\"list\": [\"1\", \"0x2\", \"-3\"], "
               "\"subs\": [{\"name\": \"a\"}], \"alt\": \"node0\", "
               "\"union\": {\"kind\": \"file\", \"filename\": \"f\", "
               "\"size\": \"1M\"}}",
               "{\"str\": \"on\", \"i\": 16, \"i8\": -8, \"i16\": 8, "
               "\"i32\": -2147483648, \"i64\": 9223372036854775807, "
               "\"u8\": 255, \"u16\": 65535, \"u32\": 4294967295, "
               "\"u64\": 18446744073709551615, \"sz\": 1536, "
               "\"num\": 1500, \"flag\": true, "
               "\"en\": \"value3\", \"sub\": {\"name\": \"n\", \"value\": 7}, "
               "\"list\": [1, 2, -3], \"subs\": [{\"name\": \"a\"}], "
               "\"alt\": \"node0\", \"union\": {\"kind\": \"file\", "
               "\"filename\": \"f\", \"size\": 1048576}}",
               &k);
    g_assert_cmpuint(k->u64, ==, UINT64_MAX);
    g_assert_cmpuint(k->sz, ==, 1536);
    g_assert_cmpfloat(k->num, ==, 1500.0);
    g_assert_cmpint(k->alt->type, ==, QTYPE_QSTRING);
}

static void test_keyval_alternate_object(void)
{
    g_autoptr(TestKeyval) k = NULL;

    ROUND_TRIP(TestKeyval, KEYVAL,
               "{\"alt\": {\"name\": \"d\", \"value\": \"0\"}}",
               "{\"alt\": {\"name\": \"d\", \"value\": 0}}", &k);
    g_assert_cmpint(k->alt->type, ==, QTYPE_QDICT);
}

static void test_keyval_bool(void)
{
    static const char *const yes[] = { "on", "yes", "true", "y" };
    static const char *const no[] = { "off", "no", "false", "n" };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(yes); i++) {
        g_autofree char *t = g_strdup_printf("{\"flag\": \"%s\"}", yes[i]);
        g_autofree char *f = g_strdup_printf("{\"flag\": \"%s\"}", no[i]);
        g_autoptr(TestKeyval) kt = NULL;
        g_autoptr(TestKeyval) kf = NULL;

        ROUND_TRIP(TestKeyval, KEYVAL, t, "{\"flag\": true}", &kt);
        ROUND_TRIP(TestKeyval, KEYVAL, f, "{\"flag\": false}", &kf);
    }
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"flag\": \"maybe\"}",
                "Parameter 'flag' expects 'on' or 'off'");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"flag\": \"ON\"}",
                "Parameter 'flag' expects 'on' or 'off'");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"sub\": {\"name\": \"x\"}, "
                "\"subs\": [{\"name\": \"y\", \"value\": \"z\"}]}",
                "Parameter 'subs.0.value' expects integer");
}

static void test_keyval_sizes(void)
{
    static const struct {
        const char *text;
        uint64_t value;
    } good[] = {
        { "0", 0 },
        { "512", 512 },
        { "512b", 512 },
        { "512B", 512 },
        { "1k", KiB },
        { "1K", KiB },
        { "64K", 64 * KiB },
        { "1.5k", 1536 },
        { "1.0", 1 },
        { "2M", 2 * MiB },
        { "1G", GiB },
        { "1T", TiB },
        { "1P", 1024 * TiB },
        { "1E", UINT64_C(1) << 60 },
        { "15E", UINT64_C(15) << 60 },
        { "0x100", 256 },
        { "18446744073709551615", UINT64_MAX },
    };
    static const char *const bad[] = {
        "", "k", "-1", "1.5", "1x", "0x1k", "0x1.5", "16E", "1.5e3k",
        "18446744073709551616", " -1k", "1kk",
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(good); i++) {
        uint64_t value = 0;

        g_assert_cmpint(qapi_strtosz(good[i].text, &value), ==, 0);
        g_assert_cmpuint(value, ==, good[i].value);
    }
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        uint64_t value = 42;

        g_assert_cmpint(qapi_strtosz(bad[i], &value), <, 0);
        g_assert_cmpuint(value, ==, 42);
    }
    g_assert_cmpint(qapi_strtosz("16E", &(uint64_t){ 0 }), ==, -ERANGE);
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"sz\": \"1.5\"}",
                "Parameter 'sz' expects size");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"union\": {\"kind\": \"file\", "
                "\"filename\": \"f\", \"size\": \"lots\"}}",
                "Parameter 'union.size' expects size");
}

static void test_keyval_errors(void)
{
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"i\": \"12x\"}",
                "Parameter 'i' expects integer");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"i\": \"\"}",
                "Parameter 'i' expects integer");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"i\": \"9223372036854775808\"}",
                "Parameter 'i' expects integer");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"u64\": \"x\"}",
                "Parameter 'u64' expects integer");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"u8\": \"256\"}",
                "Parameter 'u8' expects uint8_t");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"u32\": \"-1\"}",
                "Parameter 'u32' expects uint32_t");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"i8\": \"200\"}",
                "Parameter 'i8' expects int8_t");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"num\": \"abc\"}",
                "Invalid parameter type for 'num', expected: number");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"num\": \"inf\"}",
                "Invalid parameter type for 'num', expected: number");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"en\": \"bogus\"}",
                "Parameter 'en' does not accept value 'bogus'");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"bogus\": \"1\"}",
                "Parameter 'bogus' is unexpected");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"i\": {\"x\": \"1\"}}",
                "Parameters 'i.*' are unexpected");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"str\": [\"1\"]}",
                "Parameters 'str.*' are unexpected");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"list\": [\"1\", \"x\"]}",
                "Parameter 'list.1' expects integer");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"sub\": {\"value\": \"1\"}}",
                "Parameter 'sub.name' is missing");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"sub\": \"x\"}",
                "Invalid parameter type for 'sub', expected: object");
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"union\": {\"kind\": \"file\"}}",
                "Parameter 'union.filename' is missing");
    /* keyval_parse() never makes a number; treat one as a bug. */
    INPUT_ERROR(TestKeyval, KEYVAL, "{\"i\": 1}",
                "Internal error: parameter i invalid");
}

static void test_keyval_parse_end_to_end(void)
{
    g_autoptr(JsonNode) tree = keyval_parse(
        "str=a,i=0x10,flag=on,sz=64K,en=value-two,sub.name=n,"
        "list.0=1,list.1=2,alt.name=d,union.kind=file,"
        "union.filename=f.img", NULL, NULL, &error_abort);
    g_autoptr(TestKeyval) k = NULL;
    g_autoptr(JsonNode) bad = keyval_parse("sub.name=n,sub.value=x", NULL,
                                           NULL, &error_abort);
    g_autoptr(TestKeyval) k2 = NULL;
    Error *err = NULL;
    QapiInput in;

    qapi_input_init(&in, true);
    g_assert_true(qapi_input_TestKeyval(&in, NULL, tree, &k, &error_abort));
    g_assert_cmpstr(k->str, ==, "a");
    g_assert_cmpint(k->i, ==, 16);
    g_assert_true(k->flag);
    g_assert_cmpuint(k->sz, ==, 64 * KiB);
    g_assert_cmpint(k->en, ==, TEST_ENUM_VALUE_TWO);
    g_assert_cmpstr(k->sub->name, ==, "n");
    g_assert_cmpint(k->list->next->value, ==, 2);
    g_assert_cmpint(k->alt->type, ==, QTYPE_QDICT);
    g_assert_cmpstr(k->alt->u.def.name, ==, "d");
    g_assert_cmpstr(k->q_union->u.file.filename, ==, "f.img");

    qapi_input_init(&in, true);
    g_assert_false(qapi_input_TestKeyval(&in, NULL, bad, &k2, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'sub.value' expects integer");
    error_free(err);
}

static void test_qjson_helpers(void)
{
    g_autoptr(JsonNode) obj = qjson_take_object(json_object_new());
    g_autoptr(JsonNode) arr = qjson_take_array(json_array_new());
    g_autoptr(JsonNode) doc = parse("[\"s\", 1, 1.5, true, null]");
    JsonArray *a = json_node_get_array(doc);

    g_assert_cmpint(qjson_qtype(obj), ==, QTYPE_QDICT);
    g_assert_cmpint(qjson_qtype(arr), ==, QTYPE_QLIST);
    g_assert_cmpint(qjson_qtype(json_array_get_element(a, 0)), ==,
                    QTYPE_QSTRING);
    g_assert_cmpint(qjson_qtype(json_array_get_element(a, 1)), ==,
                    QTYPE_QNUM);
    g_assert_cmpint(qjson_qtype(json_array_get_element(a, 2)), ==,
                    QTYPE_QNUM);
    g_assert_cmpint(qjson_qtype(json_array_get_element(a, 3)), ==,
                    QTYPE_QBOOL);
    g_assert_cmpint(qjson_qtype(json_array_get_element(a, 4)), ==,
                    QTYPE_QNULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/qapi/visit/round-trip/scalars", test_scalars);
    g_test_add_func("/qapi/visit/round-trip/number-accepts-int",
                    test_number_accepts_int);
    g_test_add_func("/qapi/visit/round-trip/uint64-wraps", test_uint64_wraps);
    g_test_add_func("/qapi/visit/round-trip/optionals-absent",
                    test_optionals_absent);
    g_test_add_func("/qapi/visit/round-trip/optionals-present",
                    test_optionals_present);
    g_test_add_func("/qapi/visit/round-trip/nested", test_nested);
    g_test_add_func("/qapi/visit/round-trip/empty-lists", test_empty_lists);
    g_test_add_func("/qapi/visit/round-trip/union", test_union);
    g_test_add_func("/qapi/visit/round-trip/alternates", test_alternates);
    g_test_add_func("/qapi/visit/round-trip/c-names", test_c_names);
    g_test_add_func("/qapi/visit/round-trip/conditionals",
                    test_conditionals);
    g_test_add_func("/qapi/visit/round-trip/empty-struct", test_empty_struct);
    g_test_add_func("/qapi/visit/enum-helpers", test_enum_helpers);
    g_test_add_func("/qapi/visit/error/missing-unexpected",
                    test_error_missing_unexpected);
    g_test_add_func("/qapi/visit/error/types", test_error_types);
    g_test_add_func("/qapi/visit/error/enum", test_error_enum);
    g_test_add_func("/qapi/visit/error/int-widths", test_error_int_widths);
    g_test_add_func("/qapi/visit/error/paths", test_error_paths);
    g_test_add_func("/qapi/visit/error/union", test_error_union);
    g_test_add_func("/qapi/visit/error/alternate", test_error_alternate);
    g_test_add_func("/qapi/visit/keyval/conversions",
                    test_keyval_conversions);
    g_test_add_func("/qapi/visit/keyval/alternate-object",
                    test_keyval_alternate_object);
    g_test_add_func("/qapi/visit/keyval/bool", test_keyval_bool);
    g_test_add_func("/qapi/visit/keyval/sizes", test_keyval_sizes);
    g_test_add_func("/qapi/visit/keyval/errors", test_keyval_errors);
    g_test_add_func("/qapi/visit/keyval/keyval-parse",
                    test_keyval_parse_end_to_end);
    g_test_add_func("/qapi/json/helpers", test_qjson_helpers);

    return g_test_run();
}
