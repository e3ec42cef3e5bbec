/*
 * test-keyval.c: keyval_parse() on good input (compared as compact JSON
 * text, members in the order they were first written) and on bad input
 * (compared by exact error message, which is QEMU's wording).
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qemu/keyval.h"

/* Parse @params, which must succeed, and return the tree as JSON text. */
static char *parse_to_json(const char *params, const char *implied_key,
                           bool *help)
{
    g_autoptr(JsonNode) node = keyval_parse(params, implied_key, help,
                                            &error_abort);

    g_assert_nonnull(node);
    g_assert_cmpint(JSON_NODE_TYPE(node), ==, JSON_NODE_OBJECT);
    return json_to_string(node, FALSE);
}

static void check_ok(const char *params, const char *implied_key,
                     const char *json)
{
    g_autofree char *got = parse_to_json(params, implied_key, NULL);

    g_assert_cmpstr(got, ==, json);
}

static void check_err(const char *params, const char *implied_key,
                      const char *msg)
{
    Error *err = NULL;
    JsonNode *node = keyval_parse(params, implied_key, NULL, &err);

    g_assert_null(node);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_empty(void)
{
    check_ok("", NULL, "{}");
    check_ok("", "driver", "{}");
}

static void test_flat(void)
{
    check_ok("driver=file,node-name=f0,filename=x.img", NULL,
             "{\"driver\":\"file\",\"node-name\":\"f0\","
             "\"filename\":\"x.img\"}");
    check_ok("x=", NULL, "{\"x\":\"\"}");
    check_ok("x=a=b", NULL, "{\"x\":\"a=b\"}");
    check_ok("A-b_c9=1", NULL, "{\"A-b_c9\":\"1\"}");
    /* Values are never interpreted. */
    check_ok("id=666,size=1G,on=off", NULL,
             "{\"id\":\"666\",\"size\":\"1G\",\"on\":\"off\"}");
}

static void test_nested(void)
{
    check_ok("driver=qcow2,file.driver=file,file.filename=a.img", NULL,
             "{\"driver\":\"qcow2\","
             "\"file\":{\"driver\":\"file\",\"filename\":\"a.img\"}}");
    check_ok("a.b.c=1,d=2,a.e=3,a.b.f=4", NULL,
             "{\"a\":{\"b\":{\"c\":\"1\",\"f\":\"4\"},\"e\":\"3\"},"
             "\"d\":\"2\"}");
}

static void test_arrays(void)
{
    check_ok("a.0=x,a.1=y", NULL, "{\"a\":[\"x\",\"y\"]}");
    /* Indices in any order. */
    check_ok("a.2=z,a.0=x,a.1=y", NULL, "{\"a\":[\"x\",\"y\",\"z\"]}");
    /* Arrays of arrays and of objects, arrays deep down. */
    check_ok("m.0.0=p,m.1.0=r,m.0.1=q", NULL,
             "{\"m\":[[\"p\",\"q\"],[\"r\"]]}");
    check_ok("s.0.host=h,s.1.host=g,s.0.port=1", NULL,
             "{\"s\":[{\"host\":\"h\",\"port\":\"1\"},{\"host\":\"g\"}]}");
    check_ok("x.y.l.1=b,x.y.l.0=a", NULL,
             "{\"x\":{\"y\":{\"l\":[\"a\",\"b\"]}}}");
    /* Leading zeros name the same element; the later write wins. */
    check_ok("l.1=old,l.0=z,l.01=new", NULL, "{\"l\":[\"z\",\"new\"]}");
    check_ok("l.01=old,l.0=z,l.1=new", NULL, "{\"l\":[\"z\",\"new\"]}");
    check_ok("l.00=old,l.0=new", NULL, "{\"l\":[\"new\"]}");
    check_ok("l.0.x=1,l.00.y=2", NULL, "{\"l\":[{\"y\":\"2\"}]}");
    check_ok("l.00.y=2,l.0.x=1", NULL, "{\"l\":[{\"x\":\"1\"}]}");
}

static void test_last_wins(void)
{
    check_ok("a=1,b=2,a=3", NULL, "{\"a\":\"3\",\"b\":\"2\"}");
    check_ok("id=foo,id=bar", NULL, "{\"id\":\"bar\"}");
    check_ok("a.b.c=1,a.b.c=2,d=3", NULL,
             "{\"a\":{\"b\":{\"c\":\"2\"}},\"d\":\"3\"}");
    check_ok("l.0=a,l.0=b", NULL, "{\"l\":[\"b\"]}");
}

static void test_commas(void)
{
    check_ok("x=a,,b", NULL, "{\"x\":\"a,b\"}");
    check_ok("x=,,id=bar", NULL, "{\"x\":\",id=bar\"}");
    check_ok("x=,,,y=1", NULL, "{\"x\":\",\",\"y\":\"1\"}");
    check_ok("x=a,,,,b", NULL, "{\"x\":\"a,,b\"}");
    check_ok("x=a,,", NULL, "{\"x\":\"a,\"}");
    check_ok("a=1,b=2,,x,a=3", NULL, "{\"a\":\"3\",\"b\":\"2,x\"}");
    /* One trailing comma is ignored... */
    check_ok("x=y,", NULL, "{\"x\":\"y\"}");
    /* ...two are an escaped comma... */
    check_ok("x=y,,", NULL, "{\"x\":\"y,\"}");
    /* ...and in any odd run the last one ends the value. */
    check_ok("x=y,,,", NULL, "{\"x\":\"y,\"}");
    check_ok("x=y,,,,,", NULL, "{\"x\":\"y,,\"}");
    /* So only a comma that does not follow a value is an empty key. */
    check_err(",x=y", NULL, "Invalid parameter ''");
    check_err("x=y,,,=z", NULL, "Invalid parameter ''");
}

static void test_implied(void)
{
    check_ok("qcow2,file=f", "driver",
             "{\"driver\":\"qcow2\",\"file\":\"f\"}");
    check_ok("an,aus=off,noaus=", "implied",
             "{\"implied\":\"an\",\"aus\":\"off\",\"noaus\":\"\"}");
    check_ok("val", "eins.zwei", "{\"eins\":{\"zwei\":\"val\"}}");
    check_ok("val,", "implied", "{\"implied\":\"val\"}");
    /* Only without '=' and only for the first parameter. */
    check_ok("k=v", "implied", "{\"k\":\"v\"}");
    check_err("a=1,b", "implied", "Expected '=' after parameter 'b'");
    check_err("a,b", "implied", "Expected '=' after parameter 'b'");
    /* The implied value cannot hold a comma. */
    check_err("val,,ue", "implied", "Invalid parameter ''");
    /* Nor be empty. */
    check_err(",", "implied", "Invalid parameter ''");
    check_err(",,,a=1", "implied", "Invalid parameter ''");
    check_err("=val", "implied", "Invalid parameter ''");
    /* An implied value of a dotted key that is also given explicitly. */
    check_ok("v,a.b=w", "a.b", "{\"a\":{\"b\":\"w\"}}");
    check_err("v,a=w", "a.b", "Parameters 'a.*' used inconsistently");
}

static void test_help(void)
{
    g_autofree char *j1 = NULL, *j2 = NULL, *j3 = NULL, *j4 = NULL;
    g_autofree char *j5 = NULL, *j6 = NULL, *j7 = NULL, *j8 = NULL;
    bool help;

    help = false;
    j1 = parse_to_json("help", NULL, &help);
    g_assert_cmpstr(j1, ==, "{}");
    g_assert_true(help);

    help = false;
    j2 = parse_to_json("?", "implied", &help);
    g_assert_cmpstr(j2, ==, "{}");
    g_assert_true(help);

    /* Anywhere in the list, with a trailing comma or not. */
    help = false;
    j3 = parse_to_json("number=42,help,foo=bar", NULL, &help);
    g_assert_cmpstr(j3, ==, "{\"number\":\"42\",\"foo\":\"bar\"}");
    g_assert_true(help);

    help = false;
    j4 = parse_to_json("val,?,", "implied", &help);
    g_assert_cmpstr(j4, ==, "{\"implied\":\"val\"}");
    g_assert_true(help);

    /* "help=" is an ordinary key, and *help is cleared. */
    help = true;
    j5 = parse_to_json("help=on", NULL, &help);
    g_assert_cmpstr(j5, ==, "{\"help\":\"on\"}");
    g_assert_false(help);

    /* Longer words are implied values, not help. */
    help = true;
    j6 = parse_to_json("help.abc", "implied", &help);
    g_assert_cmpstr(j6, ==, "{\"implied\":\"help.abc\"}");
    g_assert_false(help);

    help = true;
    j7 = parse_to_json("helpme", "implied", &help);
    g_assert_cmpstr(j7, ==, "{\"implied\":\"helpme\"}");
    g_assert_false(help);

    /* Help and a broken array: the array is still checked. */
    help = false;
    j8 = parse_to_json("help,a.0=x", NULL, &help);
    g_assert_cmpstr(j8, ==, "{\"a\":[\"x\"]}");
    g_assert_true(help);

    check_err("help.abc", NULL, "Expected '=' after parameter 'help.abc'");
    check_err("helpme", NULL, "Expected '=' after parameter 'helpme'");
    check_err("?" "?", NULL, "Invalid parameter '?" "?'");
    /* Help takes one comma with it; a second is an empty parameter. */
    check_err("help,,a=1", NULL, "Invalid parameter ''");
}

static void test_help_unavailable(void)
{
    check_err("help", NULL, "Help is not available for this option");
    check_err("?", "implied", "Help is not available for this option");
    check_err("a=1,help,", NULL, "Help is not available for this option");
    /* Reported after parsing, but before arrays are checked. */
    check_err("help,a.1=x", NULL, "Help is not available for this option");
    check_err("help,a.b", NULL, "Expected '=' after parameter 'a.b'");
}

static void test_downstream_names(void)
{
    check_ok("__org.qemu_x=1", NULL, "{\"__org.qemu_x\":\"1\"}");
    check_ok("a.__com.redhat_b.c=1", NULL,
             "{\"a\":{\"__com.redhat_b\":{\"c\":\"1\"}}}");
    check_ok("___x=1", NULL, "{\"___x\":\"1\"}");
    check_err("__x=1", NULL, "Invalid parameter '__x'");
    check_err("_x=1", NULL, "Invalid parameter '_x'");
    check_err("__org.qemu_=1", NULL, "Invalid parameter '__org.qemu_'");
}

static void test_bad_keys(void)
{
    check_err("=val", NULL, "Invalid parameter ''");
    check_err(",", NULL, "Invalid parameter ''");
    check_err(",a=1", NULL, "Invalid parameter ''");
    check_err("a=1,,,=2", NULL, "Invalid parameter ''");
    check_err(".", NULL, "Invalid parameter '.'");
    check_err("key.", NULL, "Invalid parameter 'key.'");
    check_err("key.=1", NULL, "Invalid parameter 'key.'");
    check_err(".key=1", NULL, "Invalid parameter '.key'");
    check_err("a..b=1", NULL, "Invalid parameter 'a..b'");
    check_err("7up=val", NULL, "Invalid parameter '7up'");
    check_err("key[0]=val", NULL, "Invalid parameter 'key[0]'");
    check_err("a b=1", NULL, "Invalid parameter 'a b'");
    check_err("a.0x=1", NULL, "Invalid parameter 'a.0x'");
    check_err("a.-1=1", NULL, "Invalid parameter 'a.-1'");
    check_err("a/b=1", NULL, "Invalid parameter 'a/b'");
    check_err("-a=1", NULL, "Invalid parameter '-a'");
    check_err("\xc3\xa9=1", NULL, "Invalid parameter '\xc3\xa9'");
    /* The root is an object: it cannot be indexed. */
    check_err("0=1", NULL, "Invalid parameter '0'");
    /* The first bad parameter is the one reported. */
    check_err("ok=1,b@d=2,7=3", NULL, "Invalid parameter 'b@d'");
}

static void test_missing_equals(void)
{
    check_err("an", NULL, "Expected '=' after parameter 'an'");
    check_err("no", NULL, "Expected '=' after parameter 'no'");
    check_err("a.b", NULL, "Expected '=' after parameter 'a.b'");
    check_err("x=1,y", NULL, "Expected '=' after parameter 'y'");
    check_err("x=1,y,z=2", NULL, "Expected '=' after parameter 'y'");
    check_err("an,noaus,noaus=", NULL, "Expected '=' after parameter 'an'");
}

static void test_long_keys(void)
{
    char k127[128], k128[129];
    g_autofree char *p = NULL, *want = NULL;

    memset(k127, 'a', 127);
    k127[127] = '\0';
    memset(k128, 'b', 128);
    k128[128] = '\0';

    /* 127 characters is the limit, for a key and for a fragment. */
    p = g_strdup_printf("%s=v", k127);
    want = g_strdup_printf("{\"%s\":\"v\"}", k127);
    check_ok(p, NULL, want);
    g_free(p);
    g_free(want);
    p = g_strdup_printf("k.%s.%s=v", k127, k127);
    want = g_strdup_printf("{\"k\":{\"%s\":{\"%s\":\"v\"}}}", k127, k127);
    check_ok(p, NULL, want);
    g_free(p);
    g_free(want);

    /* 128 is too long: a whole key... */
    p = g_strdup_printf("%s=v", k128);
    want = g_strdup_printf("Parameter '%s' is too long", k128);
    check_err(p, NULL, want);
    g_free(p);
    g_free(want);

    /* ...or any fragment of a dotted key, first, middle or last. */
    p = g_strdup_printf("k.%s=v", k128);
    want = g_strdup_printf("Parameter fragment '%s' is too long", k128);
    check_err(p, NULL, want);
    g_free(p);
    p = g_strdup_printf("%s.k=v", k128);
    check_err(p, NULL, want);
    g_free(p);
    p = g_strdup_printf("a.%s.k=v", k128);
    check_err(p, NULL, want);
    g_free(p);
    g_free(want);

    /* An index fragment counts too. */
    memset(k128, '1', 128);
    p = g_strdup_printf("l.%s=v", k128);
    want = g_strdup_printf("Parameter fragment '%s' is too long", k128);
    check_err(p, NULL, want);
}

static void test_inconsistent(void)
{
    /* Leaf, then object. */
    check_err("a=2,a.b=1", NULL, "Parameters 'a.*' used inconsistently");
    check_err("a.b=1,a.b.c=2", NULL,
              "Parameters 'a.b.*' used inconsistently");
    /* Object, then leaf. */
    check_err("a.b=1,a=2", NULL, "Parameters 'a.*' used inconsistently");
    check_err("a.b.c=1,a.b=2", NULL,
              "Parameters 'a.b.*' used inconsistently");
    /* Both array and object. */
    check_err("a.b.c=1,a.b.0=2", NULL,
              "Parameters 'a.b.*' used inconsistently");
    check_err("a.0.c=1,a.b.c=2", NULL,
              "Parameters 'a.*' used inconsistently");
    /* Leaf versus array element. */
    check_err("l=1,l.0=2", NULL, "Parameters 'l.*' used inconsistently");
    check_err("l.0=1,l=2", NULL, "Parameters 'l.*' used inconsistently");
    /* Found while parsing, so before an earlier array gap. */
    check_err("l.1=x,a=1,a.b=2", NULL,
              "Parameters 'a.*' used inconsistently");
}

static void test_array_gaps(void)
{
    check_err("list.1=lonely", NULL, "Parameter 'list.0' missing");
    check_err("l.0=a,l.2=c", NULL, "Parameter 'l.1' missing");
    check_err("l.0=a,l.2=c,l.02=d", NULL, "Parameter 'l.1' missing");
    check_err("x.l.0=a,x.l.5=b", NULL, "Parameter 'x.l.1' missing");
    check_err("m.0.1=a", NULL, "Parameter 'm.0.0' missing");
    check_err("l.0=a,l.99999999999999999999=b", NULL,
              "Parameter 'l.1' missing");
    check_err("l.2147483647=a", NULL, "Parameter 'l.0' missing");
    /* A gap is reported only after the whole string parsed. */
    check_err("l.1=x,y", NULL, "Expected '=' after parameter 'y'");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/keyval/empty", test_empty);
    g_test_add_func("/keyval/flat", test_flat);
    g_test_add_func("/keyval/nested", test_nested);
    g_test_add_func("/keyval/arrays", test_arrays);
    g_test_add_func("/keyval/last-wins", test_last_wins);
    g_test_add_func("/keyval/commas", test_commas);
    g_test_add_func("/keyval/implied", test_implied);
    g_test_add_func("/keyval/help", test_help);
    g_test_add_func("/keyval/help-unavailable", test_help_unavailable);
    g_test_add_func("/keyval/downstream-names", test_downstream_names);
    g_test_add_func("/keyval/bad/keys", test_bad_keys);
    g_test_add_func("/keyval/bad/missing-equals", test_missing_equals);
    g_test_add_func("/keyval/bad/long-keys", test_long_keys);
    g_test_add_func("/keyval/bad/inconsistent", test_inconsistent);
    g_test_add_func("/keyval/bad/array-gaps", test_array_gaps);
    return g_test_run();
}
