/*
 * keyval.c: parse QEMU's KEY=VALUE,... syntax into a JSON tree.
 *
 * The grammar, as QEMU defines it:
 *
 *     key-vals     = [ key-val { ',' key-val } [ ',' ] ]
 *     key-val      = key '=' val | help
 *     key          = key-fragment { '.' key-fragment }
 *     key-fragment = qapi-name | index
 *     qapi-name    = [ '__' / [A-Za-z0-9.-]* / '_' ] / [A-Za-z][A-Za-z0-9_-]* /
 *     index        = / [0-9]+ /
 *     val          = { / [^,]+ / | ',,' }
 *     help         = 'help' | '?'
 *
 * with, when the caller names an implied key, one more form for the first
 * parameter only:
 *
 *     key-vals-ik  = val-no-key [ ',' key-vals ]
 *     val-no-key   = / [^=,]+ /, but not help
 *
 * meaning implied-key=val-no-key.  Such a value cannot hold ',' or '='.
 *
 * Meaning: each key names a path from the root object to a leaf, one
 * fragment per level, and the leaf holds the value as a string.  An index
 * fragment (allowed below the root only) makes its parent an array, a name
 * makes it an object; a node used both ways, or as both a leaf and an
 * inner node, is an error.  Array indices may come in any order but must
 * cover 0..n-1 without a gap.  A fragment is 1 to 127 characters.  When a
 * key is given twice the last value wins.  ",," inside a value stands for
 * one ','.  A trailing ',' is ignored, but an empty parameter elsewhere is
 * an empty key and so an error.  There is no way to write an empty array,
 * an empty inner object, or a non-string scalar.
 *
 * How: parameters are parsed left to right into a private tree in which
 * every inner node is an object keyed by the fragment text ("01" and "1"
 * are different members here).  Only when the whole string has been read
 * is the tree converted to JSON; that pass turns objects whose members are
 * all indices into arrays, which is why an index gap is reported after
 * every syntax error.  Errors are checked in the same order as QEMU does,
 * so that the same bad input gives the same message: per parameter, each
 * fragment is validated and descended into before the next is looked at,
 * then the '=' is checked, then the leaf is stored.
 *
 * Two spellings of one index ("a.1" and "a.01") are distinct members of
 * the private tree but one array element; QEMU picks one of them in hash
 * order.  Here every node remembers the sequence number of the last
 * parameter that wrote at or below it, and the most recently written
 * spelling wins, which is the "last one wins" rule applied to indices.
 *
 * Cost: O(length of @params) hash lookups to build, plus a sort-free
 * O(members) pass per array.
 *
 * Worked example: "a.1=y,a.0=x,b.c=,help" with help allowed gives
 * {"a": ["x", "y"], "b": {"c": ""}} and *help = true; the same string
 * with "a.2=y" instead gives "Parameter 'a.1' missing".
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qemu/keyval.h"

typedef struct KeyvalNode KeyvalNode;

typedef struct KeyvalMember {
    char *name;
    KeyvalNode *node;
} KeyvalMember;

/* A leaf (value != NULL) or an object (members != NULL), never both. */
struct KeyvalNode {
    char *value;
    GPtrArray *order;       /* KeyvalMember *, in first-seen order */
    GHashTable *members;    /* name -> KeyvalMember *, borrowed from order */
    uint64_t seq;           /* last parameter written at or below here */
};

static void keyval_node_free(KeyvalNode *node);

static void keyval_member_free(gpointer p)
{
    KeyvalMember *m = p;

    g_free(m->name);
    keyval_node_free(m->node);
    g_free(m);
}

static void keyval_node_free(KeyvalNode *node)
{
    if (!node) {
        return;
    }
    g_free(node->value);
    if (node->members) {
        g_hash_table_unref(node->members);
        g_ptr_array_unref(node->order);
    }
    g_free(node);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(KeyvalNode, keyval_node_free)

static KeyvalNode *keyval_object_new(void)
{
    KeyvalNode *node = g_new0(KeyvalNode, 1);

    node->order = g_ptr_array_new_with_free_func(keyval_member_free);
    node->members = g_hash_table_new(g_str_hash, g_str_equal);
    return node;
}

static KeyvalNode *keyval_lookup(KeyvalNode *obj, const char *name)
{
    KeyvalMember *m = g_hash_table_lookup(obj->members, name);

    return m ? m->node : NULL;
}

/* Add a member @name (not yet present) to @obj; @obj takes @node. */
static void keyval_add(KeyvalNode *obj, const char *name, KeyvalNode *node)
{
    KeyvalMember *m = g_new(KeyvalMember, 1);

    m->name = g_strdup(name);
    m->node = node;
    g_ptr_array_add(obj->order, m);
    g_hash_table_insert(obj->members, m->name, m);
}

static KeyvalMember *member_at(KeyvalNode *obj, guint i)
{
    return g_ptr_array_index(obj->order, i);
}

/*
 * Length of the QAPI name at @s ("__RFQDN_" downstream prefix allowed),
 * or 0 if there is none.
 */
static size_t qapi_name_len(const char *s)
{
    const char *p = s;

    if (*p == '_') {
        if (p[1] != '_') {
            return 0;
        }
        p += 2;
        while (g_ascii_isalnum(*p) || *p == '-' || *p == '.') {
            p++;
        }
        if (*p != '_') {
            return 0;
        }
        p++;
    }
    if (!g_ascii_isalpha(*p)) {
        return 0;
    }
    p++;
    while (g_ascii_isalnum(*p) || *p == '-' || *p == '_') {
        p++;
    }
    return p - s;
}

/* Length of the key fragment at @s; an index is allowed unless @first. */
static size_t fragment_len(const char *s, bool first)
{
    size_t len = 0;

    if (first || !g_ascii_isdigit(*s)) {
        return qapi_name_len(s);
    }
    while (g_ascii_isdigit(s[len])) {
        len++;
    }
    return len;
}

/* The array index a member name denotes (capped at INT_MAX), or -1. */
static int name_to_index(const char *name)
{
    int64_t index = 0;

    if (!g_ascii_isdigit(*name)) {
        return -1;
    }
    for (; g_ascii_isdigit(*name); name++) {
        index = MIN(index * 10 + (*name - '0'), (int64_t)INT_MAX);
    }
    return *name ? -1 : (int)index;
}

/* True if the parameter of @len characters at @s is a help request. */
static bool is_help(const char *s, size_t len)
{
    return (len == 1 && *s == '?') ||
           (len == 4 && !strncmp(s, "help", 4));
}

/*
 * Make @name in @cur an object and return it.  @key up to @key_cursor
 * names @name's path for the message if it is already a leaf.
 */
static KeyvalNode *keyval_descend(KeyvalNode *cur, const char *name,
                                  uint64_t seq, const char *key,
                                  const char *key_cursor, Error **errp)
{
    KeyvalNode *next = keyval_lookup(cur, name);

    if (next && next->value) {
        error_setg(errp, "Parameters '%.*s.*' used inconsistently",
                   (int)(key_cursor - key), key);
        return NULL;
    }
    if (!next) {
        next = keyval_object_new();
        keyval_add(cur, name, next);
    }
    next->seq = seq;
    return next;
}

/*
 * Parse the one parameter at the start of @params into @root, as
 * parameter number @seq.  Returns where the next parameter starts (or the
 * terminating NUL), or NULL on error.
 */
static const char *keyval_parse_one(KeyvalNode *root, const char *params,
                                    const char *implied_key, uint64_t seq,
                                    bool *help, Error **errp)
{
    const char *key = params;
    const char *key_end, *s;
    const char *val_end = NULL;
    size_t len = strcspn(params, "=,");
    char frag[KEYVAL_FRAGMENT_MAX + 1];
    KeyvalNode *cur = root;
    KeyvalNode *leaf;
    GString *val;

    if (len && params[len] != '=') {
        if (is_help(params, len)) {
            *help = true;
            s = params + len;
            return *s == ',' ? s + 1 : s;
        }
        if (implied_key) {
            key = implied_key;
            val_end = params + len;
            len = strlen(implied_key);
        }
    }
    key_end = key + len;

    /* Each fragment is checked, then its parent made an object. */
    s = key;
    for (;;) {
        len = fragment_len(s, s == key);
        assert(s + len <= key_end);
        if (!len || (s + len < key_end && s[len] != '.')) {
            assert(key != implied_key);
            error_setg(errp, "Invalid parameter '%.*s'",
                       (int)(key_end - key), key);
            return NULL;
        }
        if (len > KEYVAL_FRAGMENT_MAX) {
            assert(key != implied_key);
            error_setg(errp, "Parameter%s '%.*s' is too long",
                       s != key || s + len != key_end ? " fragment" : "",
                       (int)len, s);
            return NULL;
        }
        if (s != key) {
            /* @frag still holds the previous fragment. */
            cur = keyval_descend(cur, frag, seq, key, s - 1, errp);
            if (!cur) {
                return NULL;
            }
        }
        memcpy(frag, s, len);
        frag[len] = '\0';
        s += len;
        if (*s != '.') {
            break;
        }
        s++;
    }

    if (key == implied_key) {
        assert(!*s);
        val = g_string_new_len(params, val_end - params);
        s = *val_end == ',' ? val_end + 1 : val_end;
    } else {
        if (*s != '=') {
            error_setg(errp, "Expected '=' after parameter '%.*s'",
                       (int)(s - key), key);
            return NULL;
        }
        s++;
        val = g_string_new(NULL);
        while (*s) {
            if (*s == ',') {
                if (s[1] != ',') {
                    s++;
                    break;
                }
                s++;
            }
            g_string_append_c(val, *s++);
        }
    }

    leaf = keyval_lookup(cur, frag);
    if (leaf && !leaf->value) {
        g_string_free(val, TRUE);
        error_setg(errp, "Parameters '%.*s.*' used inconsistently",
                   (int)(key_end - key), key);
        return NULL;
    }
    if (leaf) {
        g_free(leaf->value);
    } else {
        leaf = g_new0(KeyvalNode, 1);
        keyval_add(cur, frag, leaf);
    }
    leaf->value = g_string_free(val, FALSE);
    leaf->seq = seq;
    return s;
}

/*
 * Convert @node to JSON.  @path is the dotted key of @node with a trailing
 * '.' ("" for the root); it is used for messages and restored on return.
 */
static JsonNode *keyval_to_json(KeyvalNode *node, GString *path,
                                Error **errp)
{
    g_autoptr(GPtrArray) children = NULL;
    g_autofree int *slot = NULL;
    bool has_index = false, has_member = false;
    int max_index = -1;
    size_t path_len = path->len;
    JsonObject *obj;
    JsonArray *arr;
    JsonNode *ret;
    guint i;
    int k;

    if (node->value) {
        return json_node_init_string(json_node_alloc(), node->value);
    }

    /* Members first, so that errors deeper down are found first. */
    children = g_ptr_array_new_with_free_func(
        (GDestroyNotify)json_node_unref);
    for (i = 0; i < node->order->len; i++) {
        KeyvalMember *m = member_at(node, i);
        JsonNode *child;

        if (name_to_index(m->name) >= 0) {
            has_index = true;
        } else {
            has_member = true;
        }
        g_string_append(path, m->name);
        g_string_append_c(path, '.');
        child = keyval_to_json(m->node, path, errp);
        g_string_truncate(path, path_len);
        if (!child) {
            return NULL;
        }
        g_ptr_array_add(children, child);
    }

    if (has_index && has_member) {
        error_setg(errp, "Parameters '%s*' used inconsistently", path->str);
        return NULL;
    }

    if (!has_index) {
        obj = json_object_new();
        for (i = 0; i < node->order->len; i++) {
            KeyvalMember *m = member_at(node, i);

            json_object_set_member(obj, m->name,
                                   json_node_ref(children->pdata[i]));
        }
        ret = json_node_init_object(json_node_alloc(), obj);
        json_object_unref(obj);
        return ret;
    }

    /*
     * @slot[k] is 1 + the member holding index k, for k below the member
     * count.  n members cannot fill 0..n-1 if any index is n or more, so
     * larger indices need no slot: a gap below them is found anyway.
     */
    slot = g_new0(int, node->order->len);
    for (i = 0; i < node->order->len; i++) {
        KeyvalMember *m = member_at(node, i);
        int index = name_to_index(m->name);

        max_index = MAX(max_index, index);
        if (index >= (int)node->order->len) {
            continue;
        }
        if (!slot[index] || member_at(node, slot[index] - 1)->node->seq <
                            m->node->seq) {
            slot[index] = i + 1;
        }
    }
    for (k = 0; k <= max_index; k++) {
        if (k >= (int)node->order->len || !slot[k]) {
            error_setg(errp, "Parameter '%s%d' missing", path->str, k);
            return NULL;
        }
    }

    arr = json_array_sized_new(max_index + 1);
    for (k = 0; k <= max_index; k++) {
        json_array_add_element(arr,
                               json_node_ref(children->pdata[slot[k] - 1]));
    }
    ret = json_node_init_array(json_node_alloc(), arr);
    json_array_unref(arr);
    return ret;
}

JsonNode *keyval_parse(const char *params, const char *implied_key,
                       bool *help, Error **errp)
{
    g_autoptr(KeyvalNode) root = keyval_object_new();
    g_autoptr(GString) path = g_string_new(NULL);
    bool help_seen = false;
    uint64_t seq = 0;
    const char *s = params;

    while (*s) {
        s = keyval_parse_one(root, s, implied_key, ++seq, &help_seen, errp);
        if (!s) {
            return NULL;
        }
        implied_key = NULL;
    }

    if (help) {
        *help = help_seen;
    } else if (help_seen) {
        error_setg(errp, "Help is not available for this option");
        return NULL;
    }

    return keyval_to_json(root, path, errp);
}
