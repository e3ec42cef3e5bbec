/*
 * Tests of the QMP JSON streamer and writer against replies observed from
 * real QEMU 7.2 (qemu-storage-daemon): each case feeds raw bytes and checks
 * the sequence of values or error messages they produce, then writes the
 * values back and compares with QEMU's text.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qemu/json-stream.h"
#include "qemu/json-writer.h"

/* Collects "V:<compact json>" or "E:<message>" lines. */
static void collect(void *opaque, JsonNode *value, Error *err)
{
    GString *log = opaque;

    if (value) {
        g_autofree char *text = json_writer_to_string(value, false);
        g_string_append_printf(log, "V:%s\n", text);
        json_node_unref(value);
    } else {
        g_string_append_printf(log, "E:%s\n", error_get_pretty(err));
        error_free(err);
    }
}

static char *feed(const char *bytes, size_t len)
{
    GString *log = g_string_new(NULL);
    JSONStreamer *js = json_streamer_new(collect, log);

    json_streamer_feed(js, bytes, len);
    json_streamer_free(js);
    return g_string_free(log, false);
}

#define FEED(lit) feed((lit), sizeof(lit) - 1)

typedef struct Case {
    const char *in;
    const char *out;
} Case;

static void run_cases(const Case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_autofree char *got = feed(cases[i].in, strlen(cases[i].in));
        if (strcmp(got, cases[i].out)) {
            g_test_message("input: %s", cases[i].in);
        }
        g_assert_cmpstr(got, ==, cases[i].out);
    }
}

static void test_values(void)
{
    static const Case cases[] = {
        { "{\"execute\": \"q\"}", "V:{\"execute\": \"q\"}\n" },
        { "  [1, 2.5, -0, true, false, null, \"s\", {}, []]",
          "V:[1, 2.5, 0, true, false, null, \"s\", {}, []]\n" },
        /* Several values in one write, no separators needed. */
        { "{\"a\":1}{\"b\":2}\n[3]", "V:{\"a\": 1}\nV:{\"b\": 2}\nV:[3]\n" },
        /* Single-quoted strings, both escapes in both kinds. */
        { "{'id': 'it\\'s', 'q': 'say \"hi\"', \"r\": \"a'b\\'\"}",
          "V:{\"id\": \"it's\", \"q\": \"say \\\"hi\\\"\", \"r\": \"a'b'\"}\n" },
        { "[1E5, 0.1, 1.0, 1e400]",
          "V:[100000, 0.10000000000000001, 1, inf]\n" },
        /* (INT64_MAX, UINT64_MAX] stays exact, as in QEMU; past it or
         * below INT64_MIN a number becomes a double. */
        { "[9223372036854775807, 9223372036854775808, "
          "18446744073709551615, 18446744073709551616, "
          "-9223372036854775808, -9223372036854775809]",
          "V:[9223372036854775807, 9223372036854775808, "
          "18446744073709551615, 1.8446744073709552e+19, "
          "-9223372036854775808, -9.2233720368547758e+18]\n" },
        { "[\"\\u0041\\u00e9\\uD83D\\uDE00\\/\"]",
          "V:[\"A\\u00E9\\uD83D\\uDE00/\"]\n" },
        /* A lone scalar at top level is a value of its own. */
        { "42 ", "V:42\n" },
        { "\"hello\"", "V:\"hello\"\n" },
    };
    run_cases(cases, G_N_ELEMENTS(cases));
}

static void test_parse_errors(void)
{
    static const Case cases[] = {
        { "{\"a\" 1}", "E:JSON parse error, missing : in object pair\n" },
        { "{\"a\":1 \"b\":2}",
          "E:JSON parse error, expected separator in dict\n" },
        { "[1 2]", "E:JSON parse error, expected separator in list\n" },
        { "{1:2}", "E:JSON parse error, key is not a string in object\n" },
        { "[1,]", "E:JSON parse error, expecting value\n" },
        { "{\"a\":}", "E:JSON parse error, expecting value\n" },
        { "{\"execute\": \"query-jobs\",}",
          "E:JSON parse error, expecting value\n" },
        { "{\"a\":1,\"a\":2}", "E:JSON parse error, duplicate key\n" },
        { "{\"id\": tru}", "E:JSON parse error, invalid keyword 'tru'\n" },
        { "{\"id\": \"\\x01\"}",
          "E:JSON parse error, invalid escape sequence in string\n" },
        { "{\"id\": \"\\U0041\"}",
          "E:JSON parse error, invalid escape sequence in string\n" },
        { "{\"id\": \"\\u00\"}",
          "E:JSON parse error, \\u00\" is not a valid Unicode character\n" },
        { "{\"id\": \"\\u00zz\"}",
          "E:JSON parse error, \\u00zz is not a valid Unicode character\n" },
        { "{\"id\": \"\\ude00\"}",
          "E:JSON parse error, \\ude00 is not a valid Unicode character\n" },
        { "{\"id\": \"\\ud83dx\"}",
          "E:JSON parse error, \\ud83d is not a valid Unicode character\n" },
        /* A closer with nothing open is framed alone. */
        { "}", "E:JSON parse error, expecting value\n" },
        { "{\"execute\": \"q\"}}",
          "V:{\"execute\": \"q\"}\nE:JSON parse error, expecting value\n" },
    };
    run_cases(cases, G_N_ELEMENTS(cases));
}

/*
 * Lexical errors and resynchronisation, with QEMU's exact sequence of
 * replies: the error token is reported, input is skipped to the next
 * structural or control character, and what follows is framed afresh.
 */
static void test_recovery(void)
{
    static const Case cases[] = {
        { "{\"execute\": query-jobs}",
          "E:JSON parse error, stray '-j'\n"
          "E:JSON parse error, expecting value\n" },
        { "{\"execute\": -x abc, \"id\": 1} {\"id\":2}",
          "E:JSON parse error, stray '-x'\n"
          "E:JSON parse error, expecting value\n"
          "V:\"id\"\n"
          "E:JSON parse error, expecting value\n"
          "V:1\n"
          "E:JSON parse error, expecting value\n"
          "V:{\"id\": 2}\n" },
        { "-x abc\n{\"id\":3}",
          "E:JSON parse error, stray '-x'\nV:{\"id\": 3}\n" },
        { "{\"id\":01}",
          "E:JSON parse error, stray '01'\n"
          "E:JSON parse error, expecting value\n" },
        { "{\"id\":1.}", "E:JSON parse error, stray '1.}'\n" },
        { "{\"id\":-}", "E:JSON parse error, stray '-}'\n" },
        { "{\"id\":TRUE}",
          "E:JSON parse error, stray 'T'\n"
          "E:JSON parse error, expecting value\n" },
        { "%d", "E:JSON parse error, stray '%'\n" },
        { "{\"id\":\"tab\there\"}",
          "E:JSON parse error, stray '\"tab\t'\n"
          "E:JSON parse error, expecting value\n" },
        { "\x01{\"id\":1}", "E:JSON parse error, stray '\x01'\nV:{\"id\": 1}\n" },
        { "{\"id\": 4 \x0c}",
          "E:JSON parse error, stray '\x0c'\n"
          "E:JSON parse error, expecting value\n" },
        { "\"abc\n\"{\"id\":6}",
          "E:JSON parse error, stray '\"abc\n'\nV:{\"id\": 6}\n" },
        /* An unclosed array swallows what follows. */
        { "-x abc[{\"id\":4}", "E:JSON parse error, stray '-x'\n" },
    };
    run_cases(cases, G_N_ELEMENTS(cases));
}

static void test_utf8(void)
{
    g_autofree char *a = FEED("{\"id\":\"\xc3\xa9\"}");
    g_autofree char *b = FEED("{\"id\":\"\xc3\"}");
    g_autofree char *c = FEED("{\"id\":\"\xed\xa0\x80\"}");
    g_autofree char *d = FEED("{\"id\":\"\xf4\x90\x80\x80\"}");
    g_autofree char *e = FEED("{\"id\":\"\xc0\x80\"}");
    g_autofree char *f = FEED("{\"id\":\"\\u0000\"}");
    g_autofree char *g = FEED("{\"id\":\"\xff\"}");
    g_autofree char *h = FEED("\xef\xbb\xbf{\"id\":5}");
    g_autofree char *i = FEED("{\"id\":\"a\x7f\"}");

    g_assert_cmpstr(a, ==, "V:{\"id\": \"\\u00E9\"}\n");
    g_assert_cmpstr(b, ==, "E:JSON parse error, invalid UTF-8 sequence "
                    "in string\n");
    g_assert_cmpstr(c, ==, b);
    g_assert_cmpstr(d, ==, b);
    /* NUL travels as C0 80 and is written back as \u0000. */
    g_assert_cmpstr(e, ==, "V:{\"id\": \"\\u0000\"}\n");
    g_assert_cmpstr(f, ==, e);
    /* 0xFF cannot start anything; an invalid byte prints as U+FFFD. */
    g_assert_true(g_str_has_prefix(g, "E:JSON parse error, stray '\"\xff'"));
    g_assert_cmpstr(h, ==, "E:JSON parse error, stray '\xef'\n"
                    "V:{\"id\": 5}\n");
    g_assert_cmpstr(i, ==, "V:{\"id\": \"a\\u007F\"}\n");
}

/* A value split across many writes comes out once, whole. */
static void test_split_writes(void)
{
    const char *text = "{'execute': 'x', 'arguments': {'n': 12345, "
                       "'s': \"a\\u0041\", 'l': [1, 2.5e3, true]}}";
    GString *log = g_string_new(NULL);
    JSONStreamer *js = json_streamer_new(collect, log);
    g_autofree char *whole = feed(text, strlen(text));

    for (size_t i = 0; text[i]; i++) {
        json_streamer_feed(js, &text[i], 1);
    }
    json_streamer_free(js);
    g_assert_cmpstr(log->str, ==, whole);
    g_assert_true(g_str_has_prefix(whole, "V:"));
    g_string_free(log, true);
}

static void test_limits(void)
{
    g_autoptr(GString) deep = g_string_new(NULL);
    g_autofree char *got = NULL;
    g_autofree char *ok = NULL;
    gchar **lines;

    /* Depth 1024 is fine ... */
    for (int i = 0; i < 1024; i++) {
        g_string_append_c(deep, '[');
    }
    for (int i = 0; i < 1024; i++) {
        g_string_append_c(deep, ']');
    }
    ok = feed(deep->str, deep->len);
    g_assert_true(g_str_has_prefix(ok, "V:[[[["));

    /* ... 1025 is refused, and each leftover closer is framed alone. */
    g_string_prepend_c(deep, '[');
    g_string_append_c(deep, ']');
    g_string_append(deep, "{\"id\":9}");
    got = feed(deep->str, deep->len);
    lines = g_strsplit(got, "\n", -1);
    g_assert_cmpstr(lines[0], ==, "E:JSON nesting depth limit exceeded");
    g_assert_cmpstr(lines[1], ==, "E:JSON parse error, expecting value");
    g_assert_cmpuint(g_strv_length(lines), ==, 1 + 1025 + 1 + 1);
    g_assert_cmpstr(lines[1026], ==, "V:{\"id\": 9}");
    g_strfreev(lines);
}

static void test_token_size_limit(void)
{
    size_t n = 64 * MiB + 16;
    g_autofree char *buf = g_malloc(n + 32);
    g_autofree char *got = NULL;

    memcpy(buf, "{\"id\":\"", 7);
    memset(buf + 7, 'a', n);
    memcpy(buf + 7 + n, "\"}{\"id\":7}", 10);
    got = feed(buf, 7 + n + 10);
    /* The oversized string is dropped; the stream goes on. */
    g_assert_true(g_str_has_prefix(got,
                                   "E:JSON token size limit exceeded\n"));
    g_assert_true(g_str_has_suffix(got, "V:{\"id\": 7}\n"));
}

static void test_writer(void)
{
    g_autoptr(JsonNode) v = json_parse_string(
        "{\"return\": [], \"id\": [1, {\"a\": []}, {}], "
        "\"s\": \"\\u0001\\u007f\\u00e9\\ud83d\\ude00/\\\"\\\\\\b\\f\\n\\r\\t\"}",
        &error_abort);
    g_autofree char *compact = json_writer_to_string(v, false);
    g_autofree char *pretty = json_writer_to_string(v, true);

    g_assert_cmpstr(compact, ==,
        "{\"return\": [], \"id\": [1, {\"a\": []}, {}], "
        "\"s\": \"\\u0001\\u007F\\u00E9\\uD83D\\uDE00/\\\"\\\\\\b\\f\\n\\r\\t\"}");
    /* QEMU's pretty layout, empty containers included. */
    g_assert_cmpstr(pretty, ==,
        "{\n"
        "    \"return\": [\n"
        "    ],\n"
        "    \"id\": [\n"
        "        1,\n"
        "        {\n"
        "            \"a\": [\n"
        "            ]\n"
        "        },\n"
        "        {\n"
        "        }\n"
        "    ],\n"
        "    \"s\": \"\\u0001\\u007F\\u00E9\\uD83D\\uDE00/\\\"\\\\\\b\\f\\n\\r\\t\"\n"
        "}");
}

static void test_parse_string(void)
{
    Error *err = NULL;
    g_autoptr(JsonNode) v = json_parse_string(" {\"id\": \"x\"} ",
                                              &error_abort);

    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(v),
                                                  "id"), ==, "x");
    g_assert_null(json_parse_string("{\"a\":1} {}", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Expecting at most one JSON value");
    error_free(err);
    err = NULL;
    g_assert_null(json_parse_string("{\"a\":", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "JSON parse error, premature EOI");
    error_free(err);
    err = NULL;
    g_assert_null(json_parse_string("   ", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Expecting a JSON value");
    error_free(err);
    err = NULL;
    /* A number at the very end needs no delimiter. */
    v = (json_node_unref(v), json_parse_string("17", &error_abort));
    g_assert_cmpint(json_node_get_int(v), ==, 17);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/json-stream/values", test_values);
    g_test_add_func("/json-stream/parse-errors", test_parse_errors);
    g_test_add_func("/json-stream/recovery", test_recovery);
    g_test_add_func("/json-stream/utf8", test_utf8);
    g_test_add_func("/json-stream/split-writes", test_split_writes);
    g_test_add_func("/json-stream/limits/nesting", test_limits);
    g_test_add_func("/json-stream/limits/token-size", test_token_size_limit);
    g_test_add_func("/json-stream/writer", test_writer);
    g_test_add_func("/json-stream/parse-string", test_parse_string);
    return g_test_run();
}
