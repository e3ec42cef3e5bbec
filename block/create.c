/*
 * create.c: making new images, the format-independent half.
 *
 * qblock-img create, and later drive-mirror when it makes its target,
 * call bdrv_img_create().  It does what qemu-img's image creation does,
 * in the same order, so that messages and the "Formatting" line match:
 *
 *   1. find the format driver and the "file" protocol driver; the list of
 *      accepted options is the format's followed by the protocol's (names
 *      the format already has are not repeated);
 *   2. parse the "-o" string (key=value pairs separated by commas, ",,"
 *      standing for a comma in a value) and check each value against the
 *      type of its option; an unknown key is refused;
 *   3. -b / -F override backing_file / backing_fmt; the size argument
 *      sets "size";
 *   4. open the backing file (unless -u with a size) to check it and to
 *      take its size when none was given; without backing_fmt the probed
 *      format is refused, as QEMU 7.2 refuses it;
 *   5. print "Formatting '<file>', fmt=<fmt> k=v k=v ...", the options in
 *      the driver's order, set ones with their text and unset ones that
 *      have a default with the default;
 *   6. call the driver's bdrv_create slot, which validates the values
 *      (QEMU checks option semantics only after printing that line).
 *
 * Example: "create -f qcow2 -o cluster_size=4k a.qcow2 1M" makes the
 * options {cluster_size: "4k", size: "1048576"}, prints
 *   Formatting 'a.qcow2', fmt=qcow2 cluster_size=4096 extended_l2=off
 *   compression_type=zlib size=1048576 lazy_refcounts=off refcount_bits=16
 * (one line) and calls qcow2's create slot.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "qapi/error.h"
#include "trace.h"

struct BlockCreateOpts {
    /* The accepted options, format's first; owned by the drivers. */
    GPtrArray *descs;
    /* name -> value text (owned). */
    GHashTable *values;
};

static BlockCreateOpts *create_opts_new(BlockDriver *drv, BlockDriver *proto)
{
    BlockCreateOpts *opts = g_new0(BlockCreateOpts, 1);
    const BlockCreateOptDesc *d;
    guint i;

    opts->descs = g_ptr_array_new();
    opts->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         g_free);
    for (d = drv->create_opts; d && d->name; d++) {
        g_ptr_array_add(opts->descs, (gpointer)d);
    }
    for (d = proto && proto != drv ? proto->create_opts : NULL;
         d && d->name; d++) {
        bool dup = false;

        for (i = 0; i < opts->descs->len; i++) {
            const BlockCreateOptDesc *o = g_ptr_array_index(opts->descs, i);

            if (!strcmp(o->name, d->name)) {
                dup = true;
                break;
            }
        }
        if (!dup) {
            g_ptr_array_add(opts->descs, (gpointer)d);
        }
    }
    return opts;
}

static void create_opts_free(BlockCreateOpts *opts)
{
    if (opts) {
        g_ptr_array_free(opts->descs, true);
        g_hash_table_destroy(opts->values);
        g_free(opts);
    }
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(BlockCreateOpts, create_opts_free)

static const BlockCreateOptDesc *create_opts_find(BlockCreateOpts *opts,
                                                  const char *name)
{
    guint i;

    for (i = 0; i < opts->descs->len; i++) {
        const BlockCreateOptDesc *d = g_ptr_array_index(opts->descs, i);

        if (!strcmp(d->name, name)) {
            return d;
        }
    }
    return NULL;
}

/*
 * A size as QEMU's qemu_strtosz() reads it: a decimal number (a fraction
 * is allowed) or a 0x hex integer, and an optional unit suffix B, K, M,
 * G, T, P or E (either case, powers of 1024).  False if malformed or not
 * below 2^64.
 */
static bool parse_size_text(const char *s, uint64_t *value)
{
    uint64_t mul = 1;
    const char *p;
    char *end;
    double d;

    while (g_ascii_isspace(*s)) {
        s++;
    }
    if (!*s || *s == '-') {
        return false;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        errno = 0;
        *value = g_ascii_strtoull(s, &end, 16);
        if (end == s + 2 || errno || *end) {
            return false;
        }
        return true;
    }
    errno = 0;
    d = g_ascii_strtod(s, &end);
    if (end == s || errno) {
        return false;
    }
    p = end;
    switch (g_ascii_tolower(*p)) {
    case '\0':
        break;
    case 'b': p++; break;
    case 'k': mul = 1ULL << 10; p++; break;
    case 'm': mul = 1ULL << 20; p++; break;
    case 'g': mul = 1ULL << 30; p++; break;
    case 't': mul = 1ULL << 40; p++; break;
    case 'p': mul = 1ULL << 50; p++; break;
    case 'e': mul = 1ULL << 60; p++; break;
    default:
        return false;
    }
    if (*p || d * mul >= 18446744073709551616.0) {
        return false;
    }
    *value = (uint64_t)(d * mul);
    return true;
}

static bool parse_bool_text(const char *s, bool *value)
{
    if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") ||
        !strcmp(s, "y")) {
        *value = true;
        return true;
    }
    if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") ||
        !strcmp(s, "n")) {
        *value = false;
        return true;
    }
    return false;
}

static bool parse_number_text(const char *s, uint64_t *value)
{
    char *end;

    if (!*s || *s == '-') {
        return false;
    }
    errno = 0;
    *value = g_ascii_strtoull(s, &end, 0);
    return !errno && end != s && !*end;
}

/* Check @value against the type of @d, with QEMU's messages. */
static bool create_opt_check(const BlockCreateOptDesc *d, const char *value,
                             Error **errp)
{
    uint64_t n;
    bool b;

    switch (d->type) {
    case BLOCK_CREATE_OPT_STRING:
        return true;
    case BLOCK_CREATE_OPT_BOOL:
        if (!parse_bool_text(value, &b)) {
            error_setg(errp, "Parameter '%s' expects 'on' or 'off'",
                       d->name);
            return false;
        }
        return true;
    case BLOCK_CREATE_OPT_NUMBER:
        if (!parse_number_text(value, &n)) {
            error_setg(errp, "Parameter '%s' expects a number", d->name);
            return false;
        }
        return true;
    case BLOCK_CREATE_OPT_SIZE:
        if (!parse_size_text(value, &n)) {
            error_setg(errp, "Parameter '%s' expects a non-negative number "
                       "below 2^64", d->name);
            error_append_hint(errp, "Optional suffix k, M, G, T, P or E "
                              "means kilo-, mega-, giga-, tera-, peta-\n"
                              "and exabytes, respectively.\n");
            return false;
        }
        return true;
    }
    g_assert_not_reached();
}

static bool create_opt_set(BlockCreateOpts *opts, const char *name,
                           const char *value, Error **errp)
{
    const BlockCreateOptDesc *d = create_opts_find(opts, name);

    if (!d) {
        error_setg(errp, "Invalid parameter '%s'", name);
        return false;
    }
    if (!create_opt_check(d, value, errp)) {
        return false;
    }
    g_hash_table_replace(opts->values, g_strdup(name), g_strdup(value));
    return true;
}

/*
 * Parse "k=v,k2=v2": ",," is a comma inside a value; a key without "="
 * means "on" (QEMU's implicit boolean).
 */
static bool create_opts_parse(BlockCreateOpts *opts, const char *str,
                              Error **errp)
{
    const char *p = str;

    while (*p) {
        g_autoptr(GString) key = g_string_new(NULL);
        g_autoptr(GString) val = g_string_new(NULL);
        bool has_val = false;

        while (*p && *p != '=' && *p != ',') {
            g_string_append_c(key, *p++);
        }
        if (*p == '=') {
            has_val = true;
            p++;
            while (*p) {
                if (*p == ',') {
                    if (p[1] != ',') {
                        break;
                    }
                    p++;
                }
                g_string_append_c(val, *p++);
            }
        }
        if (*p == ',') {
            p++;
        }
        if (!create_opt_set(opts, key->str, has_val ? val->str : "on",
                            errp)) {
            return false;
        }
    }
    return true;
}

const char *bdrv_create_opt_get(BlockCreateOpts *opts, const char *name)
{
    return g_hash_table_lookup(opts->values, name);
}

bool bdrv_create_opt_get_bool(BlockCreateOpts *opts, const char *name,
                              bool def)
{
    const char *v = bdrv_create_opt_get(opts, name);
    bool b;

    return v && parse_bool_text(v, &b) ? b : def;
}

uint64_t bdrv_create_opt_get_number(BlockCreateOpts *opts, const char *name,
                                    uint64_t def)
{
    const char *v = bdrv_create_opt_get(opts, name);
    uint64_t n;

    return v && parse_number_text(v, &n) ? n : def;
}

uint64_t bdrv_create_opt_get_size(BlockCreateOpts *opts, const char *name,
                                  uint64_t def)
{
    const char *v = bdrv_create_opt_get(opts, name);
    uint64_t n;

    return v && parse_size_text(v, &n) ? n : def;
}

/* " k=v k=v", as qemu-img prints the options after "fmt=..." */
static char *create_opts_to_string(BlockCreateOpts *opts)
{
    GString *out = g_string_new(NULL);
    guint i;

    for (i = 0; i < opts->descs->len; i++) {
        const BlockCreateOptDesc *d = g_ptr_array_index(opts->descs, i);
        const char *v = bdrv_create_opt_get(opts, d->name);

        if (!v) {
            if (d->def_value_str) {
                g_string_append_printf(out, " %s=%s", d->name,
                                       d->def_value_str);
            }
            continue;
        }
        if (d->type == BLOCK_CREATE_OPT_SIZE) {
            g_string_append_printf(out, " %s=%" PRIu64, d->name,
                                   bdrv_create_opt_get_size(opts, d->name,
                                                            0));
        } else if (d->type == BLOCK_CREATE_OPT_NUMBER) {
            g_string_append_printf(out, " %s=%" PRIu64, d->name,
                                   bdrv_create_opt_get_number(opts, d->name,
                                                              0));
        } else {
            g_string_append_printf(out, " %s=%s", d->name, v);
        }
    }
    return g_string_free(out, false);
}

static const char *create_opt_type_name(BlockCreateOptType type)
{
    switch (type) {
    case BLOCK_CREATE_OPT_STRING:
        return "str";
    case BLOCK_CREATE_OPT_BOOL:
        return "bool (on/off)";
    case BLOCK_CREATE_OPT_NUMBER:
        return "num";
    case BLOCK_CREATE_OPT_SIZE:
        return "size";
    }
    g_assert_not_reached();
}

static gint create_desc_cmp(gconstpointer a, gconstpointer b)
{
    const BlockCreateOptDesc *const *da = a;
    const BlockCreateOptDesc *const *db = b;

    return strcmp((*da)->name, (*db)->name);
}

/* The drivers of @fmt and of the "file" protocol, with QEMU's messages. */
static BlockDriver *create_find_driver(const char *fmt, BlockDriver **proto,
                                       Error **errp)
{
    BlockDriver *drv = bdrv_find_format(fmt);

    if (!drv) {
        error_setg(errp, "Unknown file format '%s'", fmt);
        return NULL;
    }
    if (!drv->bdrv_create) {
        error_setg(errp, "Format driver '%s' does not support image "
                   "creation", drv->format_name);
        return NULL;
    }
    *proto = bdrv_find_format("file");
    return drv;
}

bool bdrv_print_create_options(const char *fmt, const char *filename,
                               Error **errp)
{
    g_autoptr(BlockCreateOpts) opts = NULL;
    BlockDriver *drv, *proto;
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();
    guint i;

    drv = create_find_driver(fmt, &proto, errp);
    if (!drv) {
        return false;
    }
    opts = create_opts_new(drv, filename ? proto : NULL);
    for (i = 0; i < opts->descs->len; i++) {
        g_ptr_array_add(sorted, g_ptr_array_index(opts->descs, i));
    }
    g_ptr_array_sort(sorted, create_desc_cmp);
    if (filename) {
        printf("Supported options:\n");
    } else {
        printf("Supported %s options:\n", drv->format_name);
    }
    for (i = 0; i < sorted->len; i++) {
        const BlockCreateOptDesc *d = g_ptr_array_index(sorted, i);
        g_autofree char *head = g_strdup_printf("%s=<%s>", d->name,
                                                create_opt_type_name(d->type));

        printf("  %-22s - %s\n", head, d->help);
    }
    if (!filename) {
        printf("\nThe protocol level may support further options.\n"
               "Specify the target filename to include those options.\n");
    }
    return true;
}

/* QEMU's bdrv_co_create_opts_simple(), for protocols without create. */
static int create_protocol_fallback(BlockDriver *proto, const char *filename,
                                    BlockCreateOpts *opts, Error **errp)
{
    const char *prealloc = bdrv_create_opt_get(opts, "preallocation");
    int64_t size = bdrv_create_opt_get_size(opts, "size", 0);
    Error *local_err = NULL;
    BlockDriverState *bs;
    BlockBackend *blk;
    int64_t len;
    int ret;

    if (prealloc && strcmp(prealloc, "off")) {
        error_setg(errp, "Unsupported preallocation mode '%s'", prealloc);
        return -ENOTSUP;
    }
    bs = bdrv_open_image(filename, proto->format_name, BDRV_O_RDWR,
                         &local_err);
    if (!bs) {
        error_propagate_prepend(errp, local_err, "Protocol driver '%s' does "
                                "not support image creation, and opening "
                                "the image failed: ", proto->format_name);
        return -EINVAL;
    }
    blk = blk_new(qemu_get_aio_context(), BLK_PERM_WRITE | BLK_PERM_RESIZE,
                  BLK_PERM_ALL);
    ret = blk_insert_bs(blk, bs, errp);
    bdrv_unref(bs);
    if (ret < 0) {
        blk_unref(blk);
        return ret;
    }
    /* Grow it if it can be; a protocol that cannot may be large enough. */
    ret = blk_truncate(blk, size, false, PREALLOC_MODE_OFF, 0, &local_err);
    if (ret < 0 && ret != -ENOTSUP) {
        error_propagate(errp, local_err);
        blk_unref(blk);
        return ret;
    }
    len = blk_getlength(blk);
    if (len < size) {
        if (local_err) {
            error_propagate(errp, local_err);
        } else {
            error_setg(errp, "Image is smaller than the requested size");
        }
        blk_unref(blk);
        return -ENOTSUP;
    }
    error_free(local_err);
    if (len > 0) {
        ret = blk_pwrite_zeroes(blk, 0, MIN(len, (int64_t)BDRV_SECTOR_SIZE),
                                BDRV_REQ_MAY_UNMAP);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to clear the new image's "
                             "first sector");
            blk_unref(blk);
            return ret;
        }
    }
    blk_unref(blk);
    return 0;
}

int bdrv_create_protocol(const char *filename, BlockCreateOpts *opts,
                         Error **errp)
{
    BlockDriver *proto = bdrv_find_protocol(filename);

    if (!proto) {
        proto = bdrv_find_format("file");
    }
    if (!proto->bdrv_create) {
        return create_protocol_fallback(proto, filename, opts, errp);
    }
    return proto->bdrv_create(proto, filename, opts, errp);
}

bool bdrv_create_file(const char *filename, BlockCreateOpts *opts,
                      Error **errp)
{
    BlockDriver *proto = bdrv_find_format("file");
    g_autoptr(BlockCreateOpts) popts = create_opts_new(proto, NULL);
    const BlockCreateOptDesc *d;

    /* The protocol's own options pass through; the file starts empty. */
    for (d = proto->create_opts; d && d->name; d++) {
        const char *v = bdrv_create_opt_get(opts, d->name);

        if (v && strcmp(d->name, "preallocation") &&
            !create_opt_set(popts, d->name, v, errp)) {
            return false;
        }
    }
    g_hash_table_replace(popts->values, g_strdup("size"), g_strdup("0"));
    return bdrv_create_protocol(filename, popts, errp) == 0;
}

bool bdrv_img_create(const char *filename, const char *fmt,
                     const char *base_filename, const char *base_fmt,
                     const char *options, int64_t img_size, bool unsafe,
                     bool quiet, Error **errp)
{
    g_autoptr(BlockCreateOpts) opts = NULL;
    g_autofree char *printed = NULL;
    BlockDriver *drv, *proto;
    const char *backing_file, *backing_fmt;
    int ret;

    GLOBAL_STATE_CODE();
    trace_bdrv_img_create(filename, fmt, base_filename ? base_filename : "",
                          img_size);
    drv = create_find_driver(fmt, &proto, errp);
    if (!drv) {
        return false;
    }
    opts = create_opts_new(drv, proto);
    if (img_size != -1) {
        g_hash_table_replace(opts->values, g_strdup("size"),
                             g_strdup_printf("%" PRId64, img_size));
    }
    if (options && !create_opts_parse(opts, options, errp)) {
        return false;
    }
    if (base_filename &&
        !create_opt_set(opts, "backing_file", base_filename, NULL)) {
        error_setg(errp, "Backing file not supported for file format '%s'",
                   fmt);
        return false;
    }
    if (base_fmt && !create_opt_set(opts, "backing_fmt", base_fmt, NULL)) {
        error_setg(errp, "Backing file format not supported for file "
                   "format '%s'", fmt);
        return false;
    }
    backing_file = bdrv_create_opt_get(opts, "backing_file");
    backing_fmt = bdrv_create_opt_get(opts, "backing_fmt");
    if (backing_file && !strcmp(filename, backing_file)) {
        error_setg(errp, "Error: Trying to create an image with the same "
                   "filename as the backing file");
        return false;
    }

    /* Check the backing file, and take its size if none was given. */
    if (backing_file && !unsafe) {
        g_autofree char *full = NULL;
        BlockDriverState *bs;
        Error *local_err = NULL;

        /* Relative to the new image's directory, as the image will be. */
        if (g_path_is_absolute(backing_file) || !strchr(filename, '/')) {
            full = g_strdup(backing_file);
        } else {
            g_autofree char *dir = g_path_get_dirname(filename);

            full = g_build_filename(dir, backing_file, NULL);
        }
        bs = bdrv_open_image(full, backing_fmt, 0, &local_err);
        if (!bs) {
            error_propagate(errp, local_err);
            error_append_hint(errp, "Could not open backing image.\n");
            return false;
        }
        if (!backing_fmt) {
            error_setg(errp, "Backing file specified without backing "
                       "format");
            error_append_hint(errp, "Detected format of %s.",
                              bdrv_get_format_name(bs));
            bdrv_unref(bs);
            return false;
        }
        if (!bdrv_create_opt_get(opts, "size")) {
            int64_t size = bdrv_getlength(bs);

            if (size < 0) {
                error_setg_errno(errp, -size, "Could not get size of '%s'",
                                 backing_file);
                bdrv_unref(bs);
                return false;
            }
            g_hash_table_replace(opts->values, g_strdup("size"),
                                 g_strdup_printf("%" PRId64, size));
        }
        bdrv_unref(bs);
    }
    if (!bdrv_create_opt_get(opts, "size")) {
        error_setg(errp, "Image creation needs a size parameter");
        return false;
    }

    if (!quiet) {
        printed = create_opts_to_string(opts);
        printf("Formatting '%s', fmt=%s%s\n", filename, fmt, printed);
        fflush(stdout);
    }
    /* QEMU's format drivers refuse this one after the line is out. */
    if (backing_fmt && !backing_file) {
        error_setg(errp, "Backing format cannot be used without backing "
                   "file");
        return false;
    }
    ret = drv->bdrv_create(drv, filename, opts, errp);
    trace_bdrv_img_create_done(filename, ret);
    return ret == 0;
}
