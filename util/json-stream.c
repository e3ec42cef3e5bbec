/*
 * json-stream.c: lexing, framing and parsing of QMP's JSON input.
 *
 * Three stages, each feeding the next:
 *
 *   lexer     a byte-at-a-time state machine that cuts the stream into
 *             tokens; a byte that cannot continue the current token makes
 *             an error token of everything so far plus that byte, then the
 *             lexer skips ahead to a resynchronisation point.
 *   framer    collects tokens, counting { } and [ ]; when the counts come
 *             back to zero (or go negative) it has a whole top-level value
 *             (or a stray closer, or a lone scalar) and hands the tokens to
 *             the parser.  It also enforces the size, count and depth limits.
 *   parser    recursive descent over one value's tokens into a JsonNode;
 *             it decodes escapes and checks UTF-8.
 *
 * The split matters for error behaviour: framing never looks inside a
 * value, so one malformed value costs exactly one error reply and the next
 * value is read normally.  Worked example, one write of
 *
 *     {"execute": "x",} {"execute": "y"}
 *
 * gives the framer two balanced token runs; the first fails in the parser
 * ("expecting value" after the comma), the second parses.
 *
 * Costs: O(1) work per byte; a token's bytes are copied once into the
 * token buffer and once into the JsonNode.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qemu/json-stream.h"

#define MAX_TOKEN_SIZE  (64 * MiB)
#define MAX_TOKEN_COUNT (2 * 1024 * 1024)
#define MAX_NESTING     1024

typedef enum JSONTokenType {
    JSON_LCURLY,
    JSON_RCURLY,
    JSON_LSQUARE,
    JSON_RSQUARE,
    JSON_COLON,
    JSON_COMMA,
    JSON_INTEGER,
    JSON_FLOAT,
    JSON_KEYWORD,
    JSON_STRING,
    JSON_ERROR,
} JSONTokenType;

typedef struct JSONToken {
    JSONTokenType type;
    char *text;             /* the token's bytes, NUL-terminated */
    size_t len;
} JSONToken;

typedef enum LexState {
    LEX_START,
    LEX_RECOVERY,
    LEX_KEYWORD,
    LEX_STRING,             /* quote char in lex_quote */
    LEX_STRING_ESCAPE,
    LEX_NEG,                /* after '-' */
    LEX_ZERO,               /* after a leading 0 */
    LEX_INT,                /* in the integer digits */
    LEX_DOT,                /* after '.', need a digit */
    LEX_FRAC,               /* in fraction digits */
    LEX_EXP,                /* after e/E, need sign or digit */
    LEX_EXP_SIGN,           /* after the exponent's sign, need a digit */
    LEX_EXP_DIGITS,
} LexState;

struct JSONStreamer {
    JSONStreamEmit *emit;
    void *opaque;

    /* lexer */
    LexState state;
    char quote;
    bool is_float;
    GString *token;

    /* framer */
    GArray *tokens;         /* of JSONToken */
    size_t token_bytes;
    int braces;
    int brackets;
};

/* ------------------------------------------------------------- parser */

typedef struct JSONParser {
    JSONToken *tok;
    size_t n;
    size_t pos;
    Error *err;
} JSONParser;

static void G_GNUC_PRINTF(2, 3) parse_error(JSONParser *p, const char *fmt,
                                             ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (p->err) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(&p->err, "JSON parse error, %s", msg);
}

static JSONToken *peek(JSONParser *p)
{
    return p->pos < p->n ? &p->tok[p->pos] : NULL;
}

static JSONToken *next(JSONParser *p)
{
    return p->pos < p->n ? &p->tok[p->pos++] : NULL;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/*
 * Read the four hex digits of a \u escape at @s (just after "\u"); -1 if
 * they are not four hex digits.
 */
static int read_u_escape(const char *s)
{
    int cp = 0;
    int i;

    for (i = 0; i < 4; i++) {
        int d = hex_value(s[i]);
        if (d < 0) {
            return -1;
        }
        cp = cp * 16 + d;
    }
    return cp;
}

/* Append @cp as UTF-8; U+0000 becomes C0 80 so strings stay C strings. */
static void append_codepoint(GString *out, gunichar cp)
{
    if (cp == 0) {
        g_string_append_c(out, (char)0xc0);
        g_string_append_c(out, (char)0x80);
    } else {
        g_string_append_unichar(out, cp);
    }
}

/*
 * Decode one UTF-8 sequence at @s (at most @avail bytes).  Returns its
 * length, or 0 if it is not valid: overlong forms, surrogates and values
 * past U+10FFFF are refused, except C0 80, which is QEMU's spelling of NUL.
 */
static size_t utf8_sequence_len(const unsigned char *s, size_t avail)
{
    gunichar cp;
    size_t len, i;

    if (s[0] < 0x80) {
        return 1;
    }
    if (avail >= 2 && s[0] == 0xc0 && s[1] == 0x80) {
        return 2;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (avail < len) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

/* Decode a string token (with its quotes) into a new string node. */
static JsonNode *parse_string(JSONParser *p, JSONToken *t)
{
    g_autoptr(GString) out = g_string_sized_new(t->len);
    const char *s = t->text + 1;
    const char *end = t->text + t->len - 1;     /* the closing quote */
    JsonNode *node;

    while (s < end) {
        if (*s == '\\') {
            int cp, lo;

            switch (s[1]) {
            case '"':  g_string_append_c(out, '"');  s += 2; continue;
            case '\'': g_string_append_c(out, '\''); s += 2; continue;
            case '\\': g_string_append_c(out, '\\'); s += 2; continue;
            case '/':  g_string_append_c(out, '/');  s += 2; continue;
            case 'b':  g_string_append_c(out, '\b'); s += 2; continue;
            case 'f':  g_string_append_c(out, '\f'); s += 2; continue;
            case 'n':  g_string_append_c(out, '\n'); s += 2; continue;
            case 'r':  g_string_append_c(out, '\r'); s += 2; continue;
            case 't':  g_string_append_c(out, '\t'); s += 2; continue;
            case 'u':
                break;
            default:
                parse_error(p, "invalid escape sequence in string");
                return NULL;
            }
            /*
             * The message quotes up to six bytes of the escape, never past
             * the end of the token, as QEMU's does.
             */
            cp = end - s >= 6 ? read_u_escape(s + 2) : -1;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                lo = (end - s >= 12 && s[6] == '\\' && s[7] == 'u')
                     ? read_u_escape(s + 8) : -1;
                if (lo < 0xdc00 || lo > 0xdfff) {
                    cp = -1;
                } else {
                    append_codepoint(out, 0x10000 + ((cp - 0xd800) << 10) +
                                     (lo - 0xdc00));
                    s += 12;
                    continue;
                }
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                cp = -1;
            }
            if (cp < 0) {
                int n = MIN(6, (int)(t->text + t->len - s));
                parse_error(p, "%.*s is not a valid Unicode character", n, s);
                return NULL;
            }
            append_codepoint(out, cp);
            s += 6;
        } else {
            size_t n = utf8_sequence_len((const unsigned char *)s, end - s);
            if (!n) {
                parse_error(p, "invalid UTF-8 sequence in string");
                return NULL;
            }
            g_string_append_len(out, s, n);
            s += n;
        }
    }
    node = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(node, out->str);
    return node;
}

JsonNode *json_node_new_uint64(uint64_t value)
{
    JsonNode *node = json_node_new(JSON_NODE_VALUE);

    json_node_set_int(node, (gint64)value);
    if (value > INT64_MAX) {
        json_node_seal(node);
    }
    return node;
}

bool json_node_holds_big_uint64(JsonNode *node)
{
    return JSON_NODE_HOLDS_VALUE(node) &&
           json_node_get_value_type(node) == G_TYPE_INT64 &&
           json_node_is_immutable(node);
}

static JsonNode *parse_number(JSONToken *t)
{
    JsonNode *node = json_node_new(JSON_NODE_VALUE);

    if (t->type == JSON_INTEGER) {
        char *end;
        gint64 v;

        errno = 0;
        v = g_ascii_strtoll(t->text, &end, 10);
        if (!errno && *end == '\0') {
            json_node_set_int(node, v);
            return node;
        }
        if (t->text[0] != '-') {
            guint64 u;

            errno = 0;
            u = g_ascii_strtoull(t->text, &end, 10);
            if (!errno && *end == '\0') {
                json_node_unref(node);
                return json_node_new_uint64(u);
            }
        }
        /* Past uint64 (or below int64): a double, as QEMU. */
    }
    json_node_set_double(node, g_ascii_strtod(t->text, NULL));
    return node;
}

static JsonNode *parse_value(JSONParser *p);

static JsonNode *parse_object(JSONParser *p)
{
    g_autoptr(JsonObject) obj = json_object_new();
    JSONToken *t;
    JsonNode *node;

    t = peek(p);
    if (t && t->type == JSON_RCURLY) {
        next(p);
        goto done;
    }
    for (;;) {
        g_autoptr(JsonNode) key = NULL;
        JsonNode *value;
        const char *name;

        t = peek(p);
        if (!t) {
            parse_error(p, "premature EOI");
            return NULL;
        }
        key = parse_value(p);
        if (!key) {
            return NULL;
        }
        if (t->type != JSON_STRING) {
            parse_error(p, "key is not a string in object");
            return NULL;
        }
        t = next(p);
        if (!t || t->type != JSON_COLON) {
            parse_error(p, "missing : in object pair");
            return NULL;
        }
        value = parse_value(p);
        if (!value) {
            return NULL;
        }
        name = json_node_get_string(key);
        if (json_object_has_member(obj, name)) {
            json_node_unref(value);
            parse_error(p, "duplicate key");
            return NULL;
        }
        json_object_set_member(obj, name, value);

        t = next(p);
        if (!t) {
            parse_error(p, "premature EOI");
            return NULL;
        }
        if (t->type == JSON_RCURLY) {
            break;
        }
        if (t->type != JSON_COMMA) {
            parse_error(p, "expected separator in dict");
            return NULL;
        }
    }
done:
    node = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(node, obj);
    return node;
}

static JsonNode *parse_array(JSONParser *p)
{
    g_autoptr(JsonArray) arr = json_array_new();
    JSONToken *t;
    JsonNode *node;

    t = peek(p);
    if (t && t->type == JSON_RSQUARE) {
        next(p);
        goto done;
    }
    for (;;) {
        JsonNode *elem = parse_value(p);

        if (!elem) {
            return NULL;
        }
        json_array_add_element(arr, elem);
        t = next(p);
        if (!t) {
            parse_error(p, "premature EOI");
            return NULL;
        }
        if (t->type == JSON_RSQUARE) {
            break;
        }
        if (t->type != JSON_COMMA) {
            parse_error(p, "expected separator in list");
            return NULL;
        }
    }
done:
    node = json_node_new(JSON_NODE_ARRAY);
    json_node_set_array(node, arr);
    return node;
}

static JsonNode *parse_value(JSONParser *p)
{
    JSONToken *t = next(p);
    JsonNode *node;

    if (!t) {
        parse_error(p, "premature EOI");
        return NULL;
    }
    switch (t->type) {
    case JSON_LCURLY:
        return parse_object(p);
    case JSON_LSQUARE:
        return parse_array(p);
    case JSON_STRING:
        return parse_string(p, t);
    case JSON_INTEGER:
    case JSON_FLOAT:
        return parse_number(t);
    case JSON_KEYWORD:
        if (!strcmp(t->text, "true") || !strcmp(t->text, "false")) {
            node = json_node_new(JSON_NODE_VALUE);
            json_node_set_boolean(node, t->text[0] == 't');
            return node;
        }
        if (!strcmp(t->text, "null")) {
            return json_node_new(JSON_NODE_NULL);
        }
        parse_error(p, "invalid keyword '%s'", t->text);
        return NULL;
    default:
        parse_error(p, "expecting value");
        return NULL;
    }
}

/* Parse one framed run of tokens; returns the value or sets *errp. */
static JsonNode *parse_tokens(JSONToken *tok, size_t n, Error **errp)
{
    JSONParser p = { .tok = tok, .n = n };
    JsonNode *node = parse_value(&p);

    if (node && p.pos < p.n) {
        /* The framer never hands over more than one value. */
        parse_error(&p, "expecting value");
        json_node_unref(node);
        node = NULL;
    }
    if (!node) {
        error_propagate(errp, p.err);
    }
    return node;
}

/* ------------------------------------------------------------- framer */

static void tokens_reset(JSONStreamer *js)
{
    guint i;

    for (i = 0; i < js->tokens->len; i++) {
        g_free(g_array_index(js->tokens, JSONToken, i).text);
    }
    g_array_set_size(js->tokens, 0);
    js->token_bytes = 0;
    js->braces = 0;
    js->brackets = 0;
}

static void emit_error(JSONStreamer *js, Error *err)
{
    tokens_reset(js);
    js->emit(js->opaque, NULL, err);
}

static void frame_token(JSONStreamer *js, JSONTokenType type,
                        const char *text, size_t len)
{
    JSONToken tok;
    Error *err = NULL;
    JsonNode *value;

    if (type == JSON_ERROR) {
        error_setg(&err, "JSON parse error, stray '%.*s'", (int)len, text);
        emit_error(js, err);
        return;
    }

    switch (type) {
    case JSON_LCURLY:
        js->braces++;
        break;
    case JSON_RCURLY:
        js->braces--;
        break;
    case JSON_LSQUARE:
        js->brackets++;
        break;
    case JSON_RSQUARE:
        js->brackets--;
        break;
    default:
        break;
    }
    tok.type = type;
    tok.text = g_strndup(text, len);
    tok.len = len;
    g_array_append_val(js->tokens, tok);
    js->token_bytes += len;

    /*
     * The size and count limits apply before a value is recognised as
     * complete: QEMU refuses an array whose closing bracket is token
     * 2 Mi + 1.
     */
    if (js->token_bytes > MAX_TOKEN_SIZE) {
        error_setg(&err, "JSON token size limit exceeded");
        emit_error(js, err);
        return;
    }
    if (js->tokens->len > MAX_TOKEN_COUNT) {
        error_setg(&err, "JSON token count limit exceeded");
        emit_error(js, err);
        return;
    }
    if (js->braces < 0 || js->brackets < 0 ||
        (js->braces == 0 && js->brackets == 0)) {
        value = parse_tokens((JSONToken *)js->tokens->data, js->tokens->len,
                             &err);
        tokens_reset(js);
        js->emit(js->opaque, value, err);
        return;
    }
    if (js->braces + js->brackets > MAX_NESTING) {
        error_setg(&err, "JSON nesting depth limit exceeded");
        emit_error(js, err);
    }
}

/* -------------------------------------------------------------- lexer */

static void lex_emit(JSONStreamer *js, JSONTokenType type)
{
    frame_token(js, type, js->token->str, js->token->len);
    g_string_truncate(js->token, 0);
    js->state = LEX_START;
}

/* @c cannot continue the token: it becomes part of an error token. */
static void lex_error(JSONStreamer *js, char c)
{
    g_string_append_c(js->token, c);
    frame_token(js, JSON_ERROR, js->token->str, js->token->len);
    g_string_truncate(js->token, 0);
    js->state = LEX_RECOVERY;
}

/* End a number or keyword that @c does not belong to. */
static void lex_end_number(JSONStreamer *js)
{
    lex_emit(js, js->is_float ? JSON_FLOAT : JSON_INTEGER);
}

static bool is_structural(unsigned char c)
{
    return c == '{' || c == '}' || c == '[' || c == ']' || c == ':' ||
           c == ',';
}

/*
 * One byte.  Returns false if the byte was not consumed and must be
 * offered again in the new state (the lookahead that ends a number or a
 * keyword, or the byte that ends recovery).
 */
static bool lex_byte(JSONStreamer *js, unsigned char c)
{
    switch (js->state) {
    case LEX_RECOVERY:
        if ((c < 0x20 && c != '\t') || c >= 0xfe || is_structural(c)) {
            js->state = LEX_START;
            return false;
        }
        return true;

    case LEX_START:
        switch (c) {
        case ' ': case '\t': case '\n': case '\r':
            return true;
        case '{':
            g_string_append_c(js->token, c);
            lex_emit(js, JSON_LCURLY);
            return true;
        case '}':
            g_string_append_c(js->token, c);
            lex_emit(js, JSON_RCURLY);
            return true;
        case '[':
            g_string_append_c(js->token, c);
            lex_emit(js, JSON_LSQUARE);
            return true;
        case ']':
            g_string_append_c(js->token, c);
            lex_emit(js, JSON_RSQUARE);
            return true;
        case ':':
            g_string_append_c(js->token, c);
            lex_emit(js, JSON_COLON);
            return true;
        case ',':
            g_string_append_c(js->token, c);
            lex_emit(js, JSON_COMMA);
            return true;
        case '"': case '\'':
            g_string_append_c(js->token, c);
            js->quote = c;
            js->state = LEX_STRING;
            return true;
        case '-':
            g_string_append_c(js->token, c);
            js->is_float = false;
            js->state = LEX_NEG;
            return true;
        case '0':
            g_string_append_c(js->token, c);
            js->is_float = false;
            js->state = LEX_ZERO;
            return true;
        default:
            if (c >= '1' && c <= '9') {
                g_string_append_c(js->token, c);
                js->is_float = false;
                js->state = LEX_INT;
            } else if (c >= 'a' && c <= 'z') {
                g_string_append_c(js->token, c);
                js->state = LEX_KEYWORD;
            } else {
                lex_error(js, c);
            }
            return true;
        }

    case LEX_KEYWORD:
        if (c >= 'a' && c <= 'z') {
            g_string_append_c(js->token, c);
            return true;
        }
        lex_emit(js, JSON_KEYWORD);
        return false;

    case LEX_STRING:
        if (c == js->quote) {
            g_string_append_c(js->token, c);
            lex_emit(js, JSON_STRING);
        } else if (c == '\\') {
            g_string_append_c(js->token, c);
            js->state = LEX_STRING_ESCAPE;
        } else if (c < 0x20 || c >= 0xfe) {
            lex_error(js, c);
        } else {
            g_string_append_c(js->token, c);
        }
        return true;

    case LEX_STRING_ESCAPE:
        /* The parser judges the escape; the lexer only keeps it whole. */
        if (c < 0x20 || c >= 0xfe) {
            lex_error(js, c);
        } else {
            g_string_append_c(js->token, c);
            js->state = LEX_STRING;
        }
        return true;

    case LEX_NEG:
        if (c == '0') {
            g_string_append_c(js->token, c);
            js->state = LEX_ZERO;
        } else if (c >= '1' && c <= '9') {
            g_string_append_c(js->token, c);
            js->state = LEX_INT;
        } else {
            lex_error(js, c);
        }
        return true;

    case LEX_ZERO:
    case LEX_INT:
        if (c >= '0' && c <= '9') {
            if (js->state == LEX_ZERO) {
                lex_error(js, c);
            } else {
                g_string_append_c(js->token, c);
            }
            return true;
        }
        if (c == '.') {
            g_string_append_c(js->token, c);
            js->is_float = true;
            js->state = LEX_DOT;
            return true;
        }
        if (c == 'e' || c == 'E') {
            g_string_append_c(js->token, c);
            js->is_float = true;
            js->state = LEX_EXP;
            return true;
        }
        lex_end_number(js);
        return false;

    case LEX_DOT:
        if (c >= '0' && c <= '9') {
            g_string_append_c(js->token, c);
            js->state = LEX_FRAC;
        } else {
            lex_error(js, c);
        }
        return true;

    case LEX_FRAC:
        if (c >= '0' && c <= '9') {
            g_string_append_c(js->token, c);
            return true;
        }
        if (c == 'e' || c == 'E') {
            g_string_append_c(js->token, c);
            js->state = LEX_EXP;
            return true;
        }
        lex_end_number(js);
        return false;

    case LEX_EXP:
        if (c == '+' || c == '-') {
            g_string_append_c(js->token, c);
            js->state = LEX_EXP_SIGN;
        } else if (c >= '0' && c <= '9') {
            g_string_append_c(js->token, c);
            js->state = LEX_EXP_DIGITS;
        } else {
            lex_error(js, c);
        }
        return true;

    case LEX_EXP_SIGN:
        if (c >= '0' && c <= '9') {
            g_string_append_c(js->token, c);
            js->state = LEX_EXP_DIGITS;
        } else {
            lex_error(js, c);
        }
        return true;

    case LEX_EXP_DIGITS:
        if (c >= '0' && c <= '9') {
            g_string_append_c(js->token, c);
            return true;
        }
        lex_end_number(js);
        return false;
    }
    g_assert_not_reached();
}

JSONStreamer *json_streamer_new(JSONStreamEmit *emit, void *opaque)
{
    JSONStreamer *js = g_new0(JSONStreamer, 1);

    js->emit = emit;
    js->opaque = opaque;
    js->state = LEX_START;
    js->token = g_string_new(NULL);
    js->tokens = g_array_new(false, false, sizeof(JSONToken));
    return js;
}

void json_streamer_feed(JSONStreamer *js, const char *buf, size_t len)
{
    size_t i = 0;

    while (i < len) {
        if (lex_byte(js, (unsigned char)buf[i])) {
            i++;
        }
        /* One token may not outgrow the limit while it is still open. */
        if (js->token->len > MAX_TOKEN_SIZE) {
            Error *err = NULL;

            g_string_truncate(js->token, 0);
            js->state = LEX_RECOVERY;
            error_setg(&err, "JSON token size limit exceeded");
            emit_error(js, err);
        }
    }
}

void json_streamer_flush(JSONStreamer *js)
{
    /*
     * A space ends a number or keyword waiting for its delimiter; inside a
     * string it would be content, and the value is unfinished anyway.
     */
    switch (js->state) {
    case LEX_KEYWORD:
        lex_emit(js, JSON_KEYWORD);
        break;
    case LEX_ZERO:
    case LEX_INT:
    case LEX_FRAC:
    case LEX_EXP_DIGITS:
        lex_end_number(js);
        break;
    case LEX_START:
    case LEX_RECOVERY:
        break;
    default:
        /* An unterminated string or number is one stray token. */
        frame_token(js, JSON_ERROR, js->token->str, js->token->len);
        g_string_truncate(js->token, 0);
        break;
    }
    js->state = LEX_START;
    if (js->tokens->len) {
        Error *err = NULL;

        error_setg(&err, "JSON parse error, premature EOI");
        emit_error(js, err);
    }
}

void json_streamer_free(JSONStreamer *js)
{
    if (!js) {
        return;
    }
    tokens_reset(js);
    g_array_free(js->tokens, true);
    g_string_free(js->token, true);
    g_free(js);
}

typedef struct ParseOne {
    JsonNode *value;
    Error *err;
    int count;
} ParseOne;

static void parse_one_emit(void *opaque, JsonNode *value, Error *err)
{
    ParseOne *po = opaque;

    po->count++;
    if (po->count > 1 || po->err) {
        /* Keep the first outcome; drop the rest. */
        if (value) {
            json_node_unref(value);
        }
        error_free(err);
        if (po->count == 2 && !po->err) {
            json_node_unref(po->value);
            po->value = NULL;
            error_setg(&po->err, "Expecting at most one JSON value");
        }
        return;
    }
    po->value = value;
    po->err = err;
}

JsonNode *json_parse_string(const char *text, Error **errp)
{
    ParseOne po = { 0 };
    JSONStreamer *js = json_streamer_new(parse_one_emit, &po);

    json_streamer_feed(js, text, strlen(text));
    json_streamer_flush(js);
    json_streamer_free(js);
    if (po.err) {
        error_propagate(errp, po.err);
        return NULL;
    }
    if (!po.value) {
        error_setg(errp, "Expecting a JSON value");
        return NULL;
    }
    return po.value;
}
