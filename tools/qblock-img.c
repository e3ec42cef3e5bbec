/*
 * qblock-img: create, inspect, compare and copy images from the shell.
 *
 * The subcommands, options, messages and exit statuses are qemu-img
 * 7.2's, for raw and qcow2 images and their backing chains:
 *
 *     qblock-img create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
 *     qblock-img info --backing-chain --output=json top.qcow2
 *     qblock-img map --output=json top.qcow2
 *     qblock-img compare -s a.qcow2 b.raw  (0 same, 1 different, 2 error)
 *     qblock-img convert -O qcow2 top.qcow2 flat.qcow2
 *     qblock-img rebase -u -b new.qcow2 -F qcow2 top.qcow2
 *     qblock-img resize --shrink top.qcow2 -- -1M
 *     qblock-img check -r leaks top.qcow2
 *     qblock-img bench -w -c 10000 -d 16 -s 64k -t none top.qcow2
 *
 * Images are opened as a format node over a "file" node (with their
 * backing chain, except where qemu-img does not open it: info and
 * rebase -u) and read through a BlockBackend; map, compare and convert
 * walk the block status of the chain, so holes and zero clusters are
 * neither read nor written.  What is printed in JSON keeps qemu-img's
 * member order, which is that of QEMU's hash tables (info_key_order).
 */
#include "qemu/osdep.h"

#include <getopt.h>
#include <math.h>
#include <sys/stat.h>

#include "qapi/error.h"
#include "qapi/util.h"
#include "qapi/visitor.h"
#include "qemu/keyval.h"
#include "block/block.h"
#include "block/block-backend.h"
#include "block/qapi.h"
#include "qapi/qjson.h"
#include "qapi-visit.h"
#include "qemu/json-writer.h"
#include "qemu/coroutine.h"
#include "qemu/aio.h"

/* Ranges are read and compared at most this much at a time. */
#define IMG_CHUNK (2 * 1024 * 1024)

static bool buffer_is_zero_bytes(const uint8_t *buf, int64_t len)
{
    int64_t i;

    for (i = 0; i < len; i++) {
        if (buf[i]) {
            return false;
        }
    }
    return true;
}

static void G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN error_exit(const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("%s", msg);
    /* Not g_autofree: exit() below would leave it allocated. */
    g_free(msg);
    error_printf("Try 'qblock-img --help' for more information\n");
    exit(EXIT_FAILURE);
}

static void usage(void);

/*
 * An option getopt did not hand to the subcommand: -h, an unknown one
 * ('?') or one missing its argument (':', as the option strings start
 * with ':').
 */
static void G_GNUC_NORETURN other_option(int c, char **argv)
{
    if (c == 'h') {
        usage();
        exit(EXIT_SUCCESS);
    }
    if (c == ':') {
        error_exit("missing argument for option '%s'", argv[optind - 1]);
    }
    error_exit("unrecognized option '%s'", argv[optind - 1]);
}

static bool parse_img_size(const char *s, int64_t *value)
{
    char *end;
    double d;
    uint64_t mul = 1;

    if (!*s || *s == '-') {
        return false;
    }
    errno = 0;
    d = strtod(s, &end);
    if (end == s || errno) {
        return false;
    }
    switch (*end) {
    case '\0':
        break;
    case 'b': case 'B': end++; break;
    case 'k': case 'K': mul = 1ULL << 10; end++; break;
    case 'm': case 'M': mul = 1ULL << 20; end++; break;
    case 'g': case 'G': mul = 1ULL << 30; end++; break;
    case 't': case 'T': mul = 1ULL << 40; end++; break;
    case 'p': case 'P': mul = 1ULL << 50; end++; break;
    case 'e': case 'E': mul = 1ULL << 60; end++; break;
    default:
        return false;
    }
    if (*end || d * mul >= 9223372036854775808.0) {
        return false;
    }
    *value = (int64_t)(d * mul);
    return true;
}

/* --image-opts: file names are keyval strings of BlockdevOptions. */
static bool img_image_opts;

/* Set @key of @obj to @value unless the user's options already say it. */
static void opts_default(JsonObject *obj, const char *key, const char *value)
{
    if (obj && !json_object_has_member(obj, key)) {
        json_object_set_string_member(obj, key, value);
    }
}

/* The "cache" object of @top, made empty if absent; NULL if not an object. */
static JsonObject *opts_cache(JsonObject *top)
{
    if (!json_object_has_member(top, "cache")) {
        json_object_set_object_member(top, "cache", json_object_new());
    }
    return json_object_get_object_member(top, "cache");
}

/* Open the node of the BlockdevOptions @tree. */
static BlockDriverState *img_open_tree(JsonNode *tree, Error **errp)
{
    g_autoptr(BlockdevOptions) options = NULL;
    QapiInput in;

    qapi_input_init(&in, true);
    if (!qapi_input_BlockdevOptions(&in, NULL, tree, &options, errp)) {
        return NULL;
    }
    return bdrv_open_blockdev(options, errp);
}

/*
 * The BlockdevOptions tree of the --image-opts keyval string @optstr, or
 * NULL and @errp.  As qemu-img, a string without '=' is refused: a bare
 * name would be a node of a running QEMU.
 */
static JsonNode *img_parse_image_opts(const char *optstr, Error **errp)
{
    if (!strchr(optstr, '=')) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   optstr, optstr);
        return NULL;
    }
    return keyval_parse(optstr, NULL, NULL, errp);
}

/*
 * Open the node the keyval string @optstr describes (--image-opts), as
 * @flags ask (BDRV_O_RDWR, BDRV_O_NOCACHE, BDRV_O_NO_BACKING) where the
 * string does not say otherwise.
 */
static BlockDriverState *img_open_opts(const char *optstr, int flags,
                                       Error **errp)
{
    g_autoptr(JsonNode) tree = NULL;
    JsonObject *top;

    tree = img_parse_image_opts(optstr, errp);
    if (!tree) {
        return NULL;
    }
    top = json_node_get_object(tree);
    opts_default(top, "read-only", flags & BDRV_O_RDWR ? "off" : "on");
    if (flags & BDRV_O_NOCACHE) {
        opts_default(opts_cache(top), "direct", "on");
    }
    bdrv_default_child_drivers(top);
    return img_open_tree(tree, errp);
}

/*
 * Open @filename as format @fmt (NULL: probed from its first bytes) over
 * a file node, with its backing chain; writable if @write.  With
 * --image-opts, @filename is a keyval string and @fmt must be NULL.
 */
static BlockBackend *img_open_flags(const char *filename, const char *fmt,
                                    bool write, int flags, Error **errp)
{
    BlockDriverState *bs;
    BlockBackend *blk;
    uint64_t perm = BLK_PERM_CONSISTENT_READ;

    flags |= write ? BDRV_O_RDWR : 0;
    if (img_image_opts) {
        bs = img_open_opts(filename, flags, errp);
    } else {
        bs = bdrv_open_image(filename, fmt, flags, errp);
    }
    if (!bs) {
        return NULL;
    }
    if (write) {
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
    }
    blk = blk_new_with_bs(bs, perm,
                          BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED,
                          errp);
    bdrv_unref(bs);
    return blk;
}

static BlockBackend *img_open(const char *filename, const char *fmt,
                              bool write, Error **errp)
{
    return img_open_flags(filename, fmt, write, 0, errp);
}

/* --image-opts and -f together: qemu-img's message, and exit. */
static void check_image_opts(const char *fmt)
{
    if (img_image_opts && fmt) {
        error_report("--image-opts and --format are mutually exclusive");
        exit(EXIT_FAILURE);
    }
}

/*
 * create
 */

static int img_create(int argc, char **argv)
{
    const char *fmt = "raw";
    const char *base_filename = NULL, *base_fmt = NULL;
    const char *filename;
    g_autoptr(GString) opts = NULL;
    Error *err = NULL;
    int64_t size = -1;
    bool quiet = false, unsafe = false;
    int c;

    optind = 0;
    while ((c = getopt(argc, argv, ":hf:o:qb:F:u")) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'o':
            /* Repeated -o options add up, as in qemu-img. */
            if (!opts) {
                opts = g_string_new(optarg);
            } else {
                g_string_append_printf(opts, ",%s", optarg);
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'b':
            base_filename = optarg;
            break;
        case 'F':
            base_fmt = optarg;
            break;
        case 'u':
            unsafe = true;
            break;
        default:
            other_option(c, argv);
        }
    }
    if (opts && (!strcmp(opts->str, "help") || !strcmp(opts->str, "?"))) {
        const char *target = optind < argc ? argv[optind] : NULL;

        if (!bdrv_print_create_options(fmt, target, &err)) {
            error_report_err(err);
            return 1;
        }
        return 0;
    }
    if (opts && (opts->str[0] == ',' ||
                 (opts->len && opts->str[opts->len - 1] == ','))) {
        error_report("Invalid option list: %s", opts->str);
        return 1;
    }
    if (optind >= argc) {
        error_exit("Expecting image file name");
    }
    filename = argv[optind++];
    if (optind < argc) {
        if (!parse_img_size(argv[optind], &size)) {
            error_report("Invalid image size specified. You may use k, M, "
                         "G, T, P or E suffixes for");
            error_report("kilobytes, megabytes, gigabytes, terabytes, "
                         "petabytes and exabytes.");
            return 1;
        }
        optind++;
        if (opts && (g_str_has_prefix(opts->str, "size=") ||
                     strstr(opts->str, ",size="))) {
            error_report("%s: The image size must be specified only once",
                         filename);
            return 1;
        }
    }
    if (optind != argc) {
        error_exit("Unexpected argument: %s", argv[optind]);
    }
    if (!bdrv_img_create(filename, fmt, base_filename, base_fmt,
                         opts ? opts->str : NULL, size, unsafe, quiet,
                         &err)) {
        error_reportf_err(err, "%s: ", filename);
        return 1;
    }
    return 0;
}

/*
 * info
 */

static bool parse_output(const char *arg, bool *json)
{
    if (!strcmp(arg, "json")) {
        *json = true;
    } else if (!strcmp(arg, "human")) {
        *json = false;
    } else {
        error_report("--output must be used with human or json as argument.");
        return false;
    }
    return true;
}

enum {
    OPT_OUTPUT = 256,
    OPT_BACKING_CHAIN,
    OPT_SHRINK,
    OPT_IMAGE_OPTS,
    OPT_START_OFFSET,
    OPT_MAX_LENGTH,
    OPT_PREALLOCATION,
    OPT_FLUSH_INTERVAL,
    OPT_NO_DRAIN,
    OPT_PATTERN,
};

static const struct option output_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "format", required_argument, NULL, 'f' },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
    { "force-share", no_argument, NULL, 'U' },
    { "shrink", no_argument, NULL, OPT_SHRINK },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "start-offset", required_argument, NULL, OPT_START_OFFSET },
    { "max-length", required_argument, NULL, OPT_MAX_LENGTH },
    { "preallocation", required_argument, NULL, OPT_PREALLOCATION },
    { "flush-interval", required_argument, NULL, OPT_FLUSH_INTERVAL },
    { "no-drain", no_argument, NULL, OPT_NO_DRAIN },
    { "pattern", required_argument, NULL, OPT_PATTERN },
    { NULL, 0, NULL, 0 }
};

/*
 * A size as qemu-img prints it: three significant digits and the binary
 * unit that keeps the number below 1000 ("4 KiB", "1.5 MiB", "0.977 MiB"
 * for 1000 KiB).
 */
static char *human_size(int64_t v)
{
    static const char *const units[] = {
        "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
    };
    int exp2;
    int i;

    /* exp2 - 1 is floor(log2(v * 1024 / 1000)) */
    frexp(v / (1000.0 / 1024.0), &exp2);
    i = MAX(exp2 - 1, 0) / 10;
    i = MIN(i, 6);
    return g_strdup_printf("%0.3g %s", (double)v / (1ULL << (i * 10)),
                           units[i]);
}

/*
 * The backing file name @backing resolved against the directory of
 * @image as QEMU does for "full-backing-filename": relative to the
 * directory part of @image as written, so "a/b.qcow2" naming "c.qcow2"
 * gives "a/c.qcow2" and "b.qcow2" gives "c.qcow2".
 */
static char *img_full_backing(const char *image, const char *backing)
{
    const char *slash = strrchr(image, '/');

    if (backing[0] == '/' || !slash) {
        return g_strdup(backing);
    }
    return g_strdup_printf("%.*s%s", (int)(slash - image + 1), image,
                           backing);
}

/* What qemu-img info tells of one image (the node @bs, named @filename). */
static ImageInfo *img_collect_info(BlockDriverState *bs, const char *filename)
{
    ImageInfo *info = g_new0(ImageInfo, 1);
    BlockDriverInfo bdi = { 0 };
    Error *err = NULL;
    struct stat st;

    info->filename = g_strdup(filename);
    info->format = g_strdup(bdrv_get_format_name(bs));
    info->virtual_size = MAX(bdrv_getlength(bs), 0);
    if (stat(filename, &st) == 0) {
        info->has_actual_size = true;
        info->actual_size = (int64_t)st.st_blocks * 512;
    }
    if (bdrv_get_info(bs, &bdi) == 0) {
        if (bdi.cluster_size > 0) {
            info->has_cluster_size = true;
            info->cluster_size = bdi.cluster_size;
        }
        info->has_dirty_flag = true;
        info->dirty_flag = bdi.is_dirty;
    }
    /*
     * As QEMU: no dirty-flag where no driver answers (raw over nbd); raw
     * over a file has it, through the file driver's answer.
     */
    if (bdrv_get_backing_file(bs)[0]) {
        info->backing_filename = g_strdup(bdrv_get_backing_file(bs));
        info->full_backing_filename =
            img_full_backing(filename, bdrv_get_backing_file(bs));
    }
    if (bdrv_get_backing_format(bs)[0]) {
        info->backing_filename_format = g_strdup(bdrv_get_backing_format(bs));
    }
    info->format_specific = bdrv_get_specific_info(bs, &err);
    if (err) {
        error_free(err);
    }
    return info;
}

static void img_print_info_human(ImageInfo *info)
{
    g_autofree char *vs = human_size(info->virtual_size);
    g_autofree char *as = human_size(info->actual_size);

    printf("image: %s\n"
           "file format: %s\n"
           "virtual size: %s (%" PRId64 " bytes)\n"
           "disk size: %s\n", info->filename, info->format, vs,
           info->virtual_size, info->has_actual_size ? as : "unavailable");
    if (info->has_cluster_size) {
        printf("cluster_size: %" PRId64 "\n", info->cluster_size);
    }
    if (info->has_dirty_flag && info->dirty_flag) {
        printf("cleanly shut down: no\n");
    }
    if (info->backing_filename) {
        printf("backing file: %s", info->backing_filename);
        if (strcmp(info->backing_filename, info->full_backing_filename)) {
            printf(" (actual path: %s)", info->full_backing_filename);
        }
        printf("\n");
    }
    if (info->backing_filename_format) {
        printf("backing file format: %s\n", info->backing_filename_format);
    }
    if (info->format_specific) {
        printf("Format specific information:\n");
        bdrv_image_info_specific_dump(info->format_specific, stdout);
    }
}

static char *img_info_json(ImageInfo *info)
{
    g_autoptr(JsonNode) node = qapi_output_ImageInfo(info);
    g_autoptr(JsonNode) sorted = bdrv_image_info_reorder(node);

    return json_writer_to_string(sorted, true);
}

/* A size option of map; exits with qemu-img's message if bad. */
static int64_t map_size_arg(const char *arg, const char *what)
{
    int64_t v;

    if (!parse_img_size(arg, &v)) {
        error_report("Invalid %s specified. You may use k, M, G, T, P or E "
                     "suffixes for", what);
        error_report("kilobytes, megabytes, gigabytes, terabytes, "
                     "petabytes and exabytes.");
        exit(EXIT_FAILURE);
    }
    return v;
}

/*
 * The options info and map share: -f FMT, -U, --output=...,
 * --image-opts; for info only (@chain not NULL), --backing-chain; for
 * map only (@start not NULL), --start-offset and --max-length (@max
 * stays -1 without it).  Exactly one file name must follow; optind is
 * left on it.
 */
static void query_opts(int argc, char **argv, const char **fmt,
                       const char **output, bool *chain, int64_t *start,
                       int64_t *max)
{
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:U", output_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            *fmt = optarg;
            break;
        case 'U':
            break;
        case OPT_OUTPUT:
            *output = optarg;
            break;
        case OPT_IMAGE_OPTS:
            img_image_opts = true;
            break;
        case OPT_BACKING_CHAIN:
            if (chain) {
                *chain = true;
                break;
            }
            other_option(c, argv);
        case OPT_START_OFFSET:
            if (start) {
                *start = map_size_arg(optarg, "start offset");
                break;
            }
            other_option(c, argv);
        case OPT_MAX_LENGTH:
            if (max) {
                *max = map_size_arg(optarg, "max length");
                break;
            }
            other_option(c, argv);
        default:
            other_option(c, argv);
        }
    }
    if (optind != argc - 1) {
        error_exit("Expecting one image file name");
    }
    check_image_opts(*fmt);
}

static int img_info(int argc, char **argv)
{
    const char *fmt = NULL, *output = NULL;
    g_autofree char *filename = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GHashTable) seen = NULL;
    g_autoptr(GPtrArray) infos =
        g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_ImageInfo);
    g_autofree char *chain_fmt = NULL;
    bool json = false, chain = false;
    int n = 0;

    query_opts(argc, argv, &fmt, &output, &chain, NULL, NULL);
    if (output && !parse_output(output, &json)) {
        return 1;
    }
    filename = g_strdup(argv[optind]);
    seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    /*
     * Each image of the chain is opened on its own, without its backing
     * file, so that a missing backing file does not hide the image.
     */
    while (filename) {
        BlockDriverState *bs;
        Error *err = NULL;
        g_autoptr(ImageInfo) info = NULL;
        char *next = NULL;

        if (!g_hash_table_add(seen, g_strdup(filename))) {
            error_report("Backing file '%s' creates an infinite loop.",
                         filename);
            return 1;
        }
        if (img_image_opts && !infos->len) {
            bs = img_open_opts(filename, BDRV_O_NO_BACKING, &err);
        } else {
            bs = bdrv_open_image(filename, fmt, BDRV_O_NO_BACKING, &err);
        }
        if (!bs) {
            error_reportf_err(err, "Could not open '%s': ", filename);
            return 1;
        }
        if (img_image_opts && !infos->len) {
            /* The image's own name, which later names resolve against. */
            g_free(filename);
            filename = g_strdup(bdrv_get_filename(bs));
        }
        info = img_collect_info(bs, filename);
        if (chain && info->full_backing_filename) {
            next = g_strdup(info->full_backing_filename);
            g_free(chain_fmt);
            chain_fmt = bdrv_get_backing_format(bs)[0]
                        ? g_strdup(bdrv_get_backing_format(bs)) : NULL;
            fmt = chain_fmt;
        }
        bdrv_unref(bs);
        /* Nothing is printed until the whole chain has opened. */
        g_ptr_array_add(infos, g_steal_pointer(&info));
        g_free(filename);
        filename = next;
    }
    for (n = 0; n < (int)infos->len; n++) {
        ImageInfo *info = infos->pdata[n];

        if (json) {
            g_autofree char *text = img_info_json(info);

            if (chain) {
                /* qemu-img's array layout: each object one level in */
                g_autofree char *ind = NULL;
                g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

                ind = g_strjoinv("\n    ", lines);
                g_string_append_printf(out, "%s\n    %s", n ? "," : "[",
                                       ind);
            } else {
                g_string_append_printf(out, "%s\n", text);
            }
        } else {
            if (n) {
                printf("\n");
            }
            img_print_info_human(info);
        }
    }
    if (json) {
        if (chain) {
            g_string_append(out, "\n]\n");
        }
        fputs(out->str, stdout);
    }
    return 0;
}

/*
 * map
 */

typedef struct MapEntry {
    int64_t start;
    int64_t length;
    int depth;
    bool present;
    bool zero;
    bool data;
    bool has_offset;
    int64_t offset;
    BlockDriverState *file;
} MapEntry;

/*
 * The status of [@offset, @offset + @bytes) as qemu-img map sees it:
 * each image of the chain from the top is asked in turn until one says
 * the range holds data or zeroes; @depth counts the images passed.
 */
static int get_entry(BlockDriverState *bs, int64_t offset, int64_t bytes,
                     MapEntry *e)
{
    int64_t pnum = bytes, map = 0;
    BlockDriverState *file = NULL;
    int depth = 0;
    int ret;

    for (;;) {
        ret = bdrv_block_status(bs, offset, bytes, &pnum, &map, &file);
        if (ret < 0) {
            return ret;
        }
        if (pnum <= 0) {
            return -EIO;
        }
        bytes = pnum;
        if (ret & (BDRV_BLOCK_ZERO | BDRV_BLOCK_DATA)) {
            break;
        }
        bs = bdrv_cow_bs(bs);
        if (!bs) {
            ret = 0;
            break;
        }
        depth++;
    }
    e->start = offset;
    e->length = bytes;
    e->depth = depth;
    e->present = ret & BDRV_BLOCK_ALLOCATED;
    e->zero = ret & BDRV_BLOCK_ZERO;
    e->data = ret & BDRV_BLOCK_DATA;
    e->has_offset = ret & BDRV_BLOCK_OFFSET_VALID;
    e->offset = e->has_offset ? map : 0;
    e->file = e->has_offset ? file : NULL;
    return 0;
}

/* Can @next be printed as part of @cur? */
static bool entry_continues(const MapEntry *cur, const MapEntry *next)
{
    return cur->depth == next->depth && cur->present == next->present &&
           cur->zero == next->zero && cur->data == next->data &&
           cur->has_offset == next->has_offset && cur->file == next->file &&
           (!cur->has_offset || cur->offset + cur->length == next->offset);
}

/* False (after reporting it) for a range the human format cannot show. */
static bool print_entry(const MapEntry *e, bool json, bool first)
{
    if (json) {
        printf("%s{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", "
               "\"depth\": %d, \"present\": %s, \"zero\": %s, "
               "\"data\": %s", first ? "" : ",\n", e->start, e->length,
               e->depth, e->present ? "true" : "false",
               e->zero ? "true" : "false", e->data ? "true" : "false");
        if (e->has_offset) {
            printf(", \"offset\": %" PRId64, e->offset);
        }
        printf("}");
        return true;
    }
    if (e->data && !e->has_offset) {
        error_report("File contains external, encrypted or compressed "
                     "clusters.");
        return false;
    }
    if (e->data) {
        /* qemu-img prints 0 rather than 0x0 */
        g_autofree char *a = g_strdup_printf("%#" PRIx64, e->start);
        g_autofree char *b = g_strdup_printf("%#" PRIx64, e->length);
        g_autofree char *m = g_strdup_printf("%#" PRIx64, e->offset);

        printf("%-16s%-16s%-16s%s\n", a, b, m, bdrv_get_filename(e->file));
    }
    return true;
}

static int img_map(int argc, char **argv)
{
    const char *fmt = NULL, *output = NULL;
    bool json = false;
    BlockBackend *blk;
    Error *err = NULL;
    MapEntry cur = { 0 }, next;
    bool first = true, have = false;
    int64_t length, offset = 0, max = -1;
    int ret;

    query_opts(argc, argv, &fmt, &output, NULL, &offset, &max);
    if (output && !parse_output(output, &json)) {
        return 1;
    }
    blk = img_open(argv[optind], fmt, false, &err);
    if (!blk) {
        error_reportf_err(err, "Could not open '%s': ", argv[optind]);
        return 1;
    }
    length = blk_getlength(blk);
    /* As qemu-img: the range is cut to the image, and may be empty. */
    if (max >= 0 && max < length - offset) {
        length = offset + max;
    }
    if (offset >= length) {
        /* qemu-img prints one empty entry (JSON only shows it). */
        cur.start = offset;
        have = true;
    }
    if (json) {
        printf("[");
    } else {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
               "File");
    }
    while (offset < length) {
        ret = get_entry(blk_bs(blk), offset, length - offset, &next);
        if (ret < 0) {
            error_report("Could not read file metadata: %s", strerror(-ret));
            blk_unref(blk);
            return 1;
        }
        if (have && entry_continues(&cur, &next)) {
            cur.length += next.length;
        } else {
            if (have) {
                if (!print_entry(&cur, json, first)) {
                    blk_unref(blk);
                    return 1;
                }
                first = false;
            }
            cur = next;
            have = true;
        }
        offset += next.length;
    }
    if (have && !print_entry(&cur, json, first)) {
        blk_unref(blk);
        return 1;
    }
    if (json) {
        printf("]\n");
    }
    blk_unref(blk);
    return 0;
}

/*
 * compare, convert and rebase
 */

/* The first byte where @a and @b differ, as the 512-byte sector's start. */
static int64_t first_difference(const uint8_t *a, const uint8_t *b,
                                int64_t n)
{
    int64_t i;

    for (i = 0; i < n && a[i] == b[i]; i++) {
        /* find the first differing byte */
    }
    return i & ~(int64_t)511;
}

/*
 * The start of the first 512-byte sector of [@offset, @offset + @bytes)
 * of @blk (through its backing chain) that does not read as zeroes,
 * INT64_MAX if none, or -errno.
 */
static int64_t first_nonzero(BlockBackend *blk, int64_t offset,
                             int64_t bytes, uint8_t *buf)
{
    while (bytes > 0) {
        int64_t pnum, n, i;
        int ret = bdrv_block_status_above(blk_bs(blk), NULL, offset, bytes,
                                          &pnum, NULL, NULL, NULL);

        if (ret < 0) {
            return ret;
        }
        if (pnum <= 0) {
            return -EIO;
        }
        if (ret & BDRV_BLOCK_ZERO) {
            offset += pnum;
            bytes -= pnum;
            continue;
        }
        n = MIN(pnum, IMG_CHUNK);
        ret = blk_pread(blk, offset, n, buf, 0);
        if (ret < 0) {
            return ret;
        }
        for (i = 0; i < n; i++) {
            if (buf[i]) {
                return offset + (i & ~(int64_t)511);
            }
        }
        offset += n;
        bytes -= n;
    }
    return INT64_MAX;
}

/* What -s compares of two block statuses. */
#define STRICT_STATUS_MASK (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_ZERO | \
                            BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID)

static int img_compare(int argc, char **argv)
{
    const char *fmt1 = NULL, *fmt2 = NULL, *name1, *name2;
    BlockBackend *blk1, *blk2;
    Error *err = NULL;
    g_autofree uint8_t *buf1 = NULL;
    g_autofree uint8_t *buf2 = NULL;
    int64_t len1, len2, common, offset = 0, diff;
    bool quiet = false, strict = false;
    int c, ret = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:F:sqU", output_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt1 = optarg;
            break;
        case 'F':
            fmt2 = optarg;
            break;
        case 's':
            strict = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'U':
            break;
        case OPT_IMAGE_OPTS:
            img_image_opts = true;
            break;
        default:
            other_option(c, argv);
        }
    }
    if (optind != argc - 2) {
        error_exit("Expecting two image file names");
    }
    check_image_opts(fmt1 ? fmt1 : fmt2);
    name1 = argv[optind];
    name2 = argv[optind + 1];
    blk1 = img_open(name1, fmt1, false, &err);
    if (!blk1) {
        error_reportf_err(err, "Could not open '%s': ", name1);
        return 2;
    }
    blk2 = img_open(name2, fmt2, false, &err);
    if (!blk2) {
        error_reportf_err(err, "Could not open '%s': ", name2);
        blk_unref(blk1);
        return 2;
    }
    buf1 = g_malloc(IMG_CHUNK);
    buf2 = g_malloc(IMG_CHUNK);
    len1 = blk_getlength(blk1);
    len2 = blk_getlength(blk2);
    common = MIN(len1, len2);
    if (strict && len1 != len2) {
        if (!quiet) {
            printf("Strict mode: Image size mismatch!\n");
        }
        ret = 1;
        goto out;
    }
    while (offset < common) {
        int64_t pnum1, pnum2, n, done;
        int st1, st2;

        st1 = bdrv_block_status_above(blk_bs(blk1), NULL, offset,
                                      common - offset, &pnum1, NULL, NULL,
                                      NULL);
        if (st1 < 0 || pnum1 <= 0) {
            error_report("Sector allocation test failed for %s", name1);
            ret = 3;
            goto out;
        }
        st2 = bdrv_block_status_above(blk_bs(blk2), NULL, offset,
                                      common - offset, &pnum2, NULL, NULL,
                                      NULL);
        if (st2 < 0 || pnum2 <= 0) {
            error_report("Sector allocation test failed for %s", name2);
            ret = 3;
            goto out;
        }
        n = MIN(pnum1, pnum2);
        if (strict &&
            (st1 & STRICT_STATUS_MASK) != (st2 & STRICT_STATUS_MASK)) {
            if (!quiet) {
                printf("Strict mode: Offset %" PRId64
                       " block status mismatch!\n", offset);
            }
            ret = 1;
            goto out;
        }
        if (st1 & st2 & BDRV_BLOCK_ZERO) {
            /* Where both images read as zeroes there is nothing to read. */
            offset += n;
            continue;
        }
        for (done = 0; done < n;) {
            int64_t k = MIN(n - done, IMG_CHUNK);
            int r;

            r = blk_pread(blk1, offset + done, k, buf1, 0);
            if (r < 0) {
                error_report("Error while reading offset %" PRId64
                             " of %s: %s", offset + done, name1,
                             strerror(-r));
                ret = 4;
                goto out;
            }
            r = blk_pread(blk2, offset + done, k, buf2, 0);
            if (r < 0) {
                error_report("Error while reading offset %" PRId64
                             " of %s: %s", offset + done, name2,
                             strerror(-r));
                ret = 4;
                goto out;
            }
            if (memcmp(buf1, buf2, k)) {
                if (!quiet) {
                    printf("Content mismatch at offset %" PRId64 "!\n",
                           offset + done + first_difference(buf1, buf2, k));
                }
                ret = 1;
                goto out;
            }
            done += k;
        }
        offset += n;
    }
    if (len1 != len2) {
        BlockBackend *longer = len1 > len2 ? blk1 : blk2;

        if (!quiet) {
            printf("Warning: Image size mismatch!\n");
        }
        diff = first_nonzero(longer, common, MAX(len1, len2) - common, buf1);
        if (diff < 0) {
            error_report("Error while reading offset %" PRId64 " of %s: %s",
                         common, longer == blk1 ? name1 : name2,
                         strerror(-diff));
            ret = 4;
            goto out;
        }
        if (diff != INT64_MAX) {
            if (!quiet) {
                printf("Content mismatch at offset %" PRId64 "!\n", diff);
            }
            ret = 1;
            goto out;
        }
    }
    if (!quiet) {
        printf("Images are identical.\n");
    }
out:
    blk_unref(blk2);
    blk_unref(blk1);
    return ret;
}

/*
 * Write [@offset, + @n) of @buf to @dst, leaving out the @piece-sized
 * pieces (convert -S, 4 KiB by default) that are all zeroes (the target
 * already reads them as zeroes), or writing them as zeroes when
 * @zero_writes (the target may not).  @piece 0 writes every byte as
 * data: the target is fully allocated (-S 0).
 */
static int write_sparse(BlockBackend *dst, int64_t offset, int64_t n,
                        const uint8_t *buf, bool zero_writes, int64_t piece)
{
    int64_t i = 0;

    if (!piece) {
        return blk_pwrite(dst, offset, n, buf, 0);
    }
    while (i < n) {
        int64_t start = i;
        bool zero = buffer_is_zero_bytes(buf + i, MIN(piece, n - i));
        int ret;

        while (i < n && buffer_is_zero_bytes(buf + i, MIN(piece, n - i)) ==
               zero) {
            i += MIN(piece, n - i);
        }
        if (!zero) {
            ret = blk_pwrite(dst, offset + start, i - start, buf + start, 0);
        } else if (zero_writes) {
            ret = blk_pwrite_zeroes(dst, offset + start, i - start, 0);
        } else {
            ret = 0;
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* qemu-img's -p line: "    (12.34/100%)" and a carriage return. */
static void progress_print(bool on, double percent, double *last)
{
    if (isnan(percent)) {
        percent = 100.0;    /* an empty image */
    }
    if (!on || (percent < 100.0 && percent - *last < 1.0 && *last >= 0)) {
        return;
    }
    printf("    (%3.2f/100%%)\r", percent);
    fflush(stdout);
    *last = percent;
}

/* -t/-T: a cache mode qemu-img knows; @nocache set for the direct ones. */
static bool parse_cache_mode(const char *mode, bool *nocache)
{
    static const char *const modes[] = {
        "none", "directsync", "writeback", "writethrough", "unsafe",
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (!strcmp(mode, modes[i])) {
            *nocache = i < 2;
            return true;
        }
    }
    return false;
}

static int img_convert(int argc, char **argv)
{
    const char *fmt = NULL, *out_fmt = "raw", *options = NULL;
    const char *base = NULL, *base_fmt = NULL, *src_name, *dst_name;
    BlockBackend *src, *dst;
    Error *err = NULL;
    g_autofree uint8_t *buf = NULL;
    int64_t len, offset = 0, min_sparse = 4096;
    bool no_create = false, progress = false, quiet = false;
    bool compress = false, src_nocache = false, dst_nocache = false;
    double last_percent = -1;
    int c, ret = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:O:o:B:F:npqUcS:t:T:Wm:",
                            output_opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'O':
            out_fmt = optarg;
            break;
        case 'o':
            options = optarg;
            break;
        case 'B':
            base = optarg;
            break;
        case 'F':
            base_fmt = optarg;
            break;
        case 'n':
            no_create = true;
            break;
        case 'p':
            progress = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'U':
            break;
        case 'c':
            compress = true;
            break;
        case 'S':
            if (!parse_img_size(optarg, &min_sparse) ||
                min_sparse % 512 || min_sparse > 16 * 1024 * 1024) {
                error_report("Invalid buffer size for sparse output "
                             "specified. Valid sizes are multiples of 512 "
                             "up to 16777216. Select 0 to disable sparse "
                             "detection (fully allocates output).");
                return 1;
            }
            break;
        case 't':
            if (!parse_cache_mode(optarg, &dst_nocache)) {
                error_report("Invalid cache option: %s", optarg);
                return 1;
            }
            break;
        case 'T':
            if (!parse_cache_mode(optarg, &src_nocache)) {
                error_report("Invalid source cache option: %s", optarg);
                return 1;
            }
            break;
        case 'W':
            /* Out-of-order writes are allowed; these are in order. */
            break;
        case 'm': {
            char *end;
            long n = strtol(optarg, &end, 10);

            /* The copy is sequential: -m only has to be valid. */
            if (end == optarg || *end || n < 1 || n > 16) {
                error_report("Invalid number of coroutines. Allowed number "
                             "of coroutines is between 1 and 16");
                return 1;
            }
            break;
        }
        case OPT_IMAGE_OPTS:
            img_image_opts = true;
            break;
        default:
            other_option(c, argv);
        }
    }
    progress &= !quiet;
    check_image_opts(fmt);
    if (argc - optind < 2) {
        error_report("Must specify image file name");
        return 1;
    }
    if (argc - optind > 2) {
        error_exit("Expecting one image file name");
    }
    src_name = argv[optind];
    dst_name = argv[optind + 1];
    if (base && !base_fmt) {
        error_report("Use of backing file requires explicit backing format");
        return 1;
    }
    if (!bdrv_find_format(out_fmt) ||
        (strcmp(out_fmt, "raw") && strcmp(out_fmt, "qcow2"))) {
        error_report("Unknown file format '%s'", out_fmt);
        return 1;
    }
    if (compress) {
        /* qemu-img's words for raw; qblock's qcow2 has no such writes. */
        error_report(strcmp(out_fmt, "qcow2")
                     ? "Compression not supported for this file format"
                     : "Compression not supported: qblock's qcow2 driver "
                       "does not write compressed clusters");
        return 1;
    }
    src = img_open_flags(src_name, fmt, false,
                         src_nocache ? BDRV_O_NOCACHE : 0, &err);
    if (!src) {
        error_reportf_err(err, "Could not open '%s': ", src_name);
        return 1;
    }
    len = blk_getlength(src);
    if (!no_create &&
        !bdrv_img_create(dst_name, out_fmt, base, base_fmt, options, len,
                         false, true, &err)) {
        const char *msg = error_get_pretty(err);

        /* qemu-img checks -o before it starts converting */
        if (g_str_has_prefix(msg, "Invalid parameter") ||
            g_str_has_prefix(msg, "Parameter ") ||
            g_str_has_prefix(msg, "Backing file not supported")) {
            error_report_err(err);
        } else {
            error_reportf_err(err, "%s: error while converting %s: ",
                              dst_name, out_fmt);
        }
        blk_unref(src);
        return 1;
    }
    img_image_opts = false;
    dst = img_open_flags(dst_name, out_fmt, true,
                         dst_nocache ? BDRV_O_NOCACHE : 0, &err);
    if (!dst) {
        error_reportf_err(err, "Could not open '%s': ", dst_name);
        blk_unref(src);
        return 1;
    }
    buf = g_malloc(IMG_CHUNK);
    progress_print(progress, 0, &last_percent);
    /*
     * A new target without a backing file reads as zeroes: only what may
     * not read as zeroes is copied.  With -B, only what the source's top
     * image holds is copied (the rest is the new backing file's); with
     * -n the target may hold anything, so zeroes are written too.
     */
    while (offset < len) {
        int64_t pnum, done;
        int st;

        if (base) {
            st = bdrv_block_status(blk_bs(src), offset, len - offset, &pnum,
                                   NULL, NULL);
        } else {
            st = bdrv_block_status_above(blk_bs(src), NULL, offset,
                                         len - offset, &pnum, NULL, NULL,
                                         NULL);
        }
        if (st < 0 || pnum <= 0) {
            error_report("error while reading block status at offset %"
                         PRId64 ": %s", offset, strerror(st < 0 ? -st : EIO));
            ret = 1;
            break;
        }
        if (base && !(st & BDRV_BLOCK_ALLOCATED)) {
            offset += pnum;
            progress_print(progress, offset * 100.0 / len, &last_percent);
            continue;
        }
        if ((st & BDRV_BLOCK_ZERO) && min_sparse) {
            if ((base || no_create) &&
                blk_pwrite_zeroes(dst, offset, pnum, 0) < 0) {
                error_report("error while writing at byte %" PRId64 ": %s",
                             offset, strerror(EIO));
                ret = 1;
                break;
            }
            offset += pnum;
            progress_print(progress, offset * 100.0 / len, &last_percent);
            continue;
        }
        for (done = 0; done < pnum && !ret;) {
            int64_t n = MIN(pnum - done, IMG_CHUNK);
            int r = blk_pread(src, offset + done, n, buf, 0);

            if (r < 0) {
                error_report("error while reading at byte %" PRId64 ": %s",
                             offset + done, strerror(-r));
                ret = 1;
                break;
            }
            r = write_sparse(dst, offset + done, n, buf, base || no_create,
                             min_sparse);
            if (r < 0) {
                error_report("error while writing at byte %" PRId64 ": %s",
                             offset + done, strerror(-r));
                ret = 1;
                break;
            }
            done += n;
            progress_print(progress, (offset + done) * 100.0 / len,
                           &last_percent);
        }
        offset += pnum;
    }
    if (progress && !ret) {
        /* As qemu-img: the end is printed once more, then a newline. */
        printf("    (100.00/100%%)\r\n");
    }
    if (!ret && blk_flush(dst) < 0) {
        error_report("error while flushing: %s", strerror(EIO));
        ret = 1;
    }
    blk_unref(dst);
    blk_unref(src);
    return ret;
}

/*
 * In the safe mode, copy into @blk (the image being rebased) every range
 * it does not allocate itself where its old backing chain and @new_base
 * (NULL: no backing file, all zeroes) differ, so that the image reads
 * the same afterwards.
 */
static int rebase_copy(BlockBackend *blk, BlockBackend *new_base)
{
    int64_t len = blk_getlength(blk);
    int64_t new_len = new_base ? blk_getlength(new_base) : 0;
    g_autofree uint8_t *old_buf = g_malloc(IMG_CHUNK);
    g_autofree uint8_t *new_buf = g_malloc(IMG_CHUNK);
    int64_t offset = 0;

    while (offset < len) {
        int64_t pnum, n, i;
        int ret = bdrv_block_status(blk_bs(blk), offset,
                                    MIN(len - offset, IMG_CHUNK), &pnum,
                                    NULL, NULL);

        if (ret < 0 || pnum <= 0) {
            error_report("error while reading image metadata: %s",
                         strerror(ret < 0 ? -ret : EIO));
            return 1;
        }
        n = pnum;
        if (ret & BDRV_BLOCK_ALLOCATED) {
            offset += n;
            continue;
        }
        ret = blk_pread(blk, offset, n, old_buf, 0);
        if (ret < 0) {
            error_report("error while reading from old backing file");
            return 1;
        }
        memset(new_buf, 0, n);
        if (offset < new_len) {
            ret = blk_pread(new_base, offset, MIN(n, new_len - offset),
                            new_buf, 0);
            if (ret < 0) {
                error_report("error while reading from new backing file");
                return 1;
            }
        }
        /* Write the runs of 512-byte sectors that differ. */
        for (i = 0; i < n;) {
            int64_t start = i;
            int64_t k = MIN(512, n - i);

            if (!memcmp(old_buf + i, new_buf + i, k)) {
                i += k;
                continue;
            }
            while (i < n && memcmp(old_buf + i, new_buf + i,
                                   MIN(512, n - i))) {
                i += MIN(512, n - i);
            }
            ret = blk_pwrite(blk, offset + start, i - start,
                             old_buf + start, 0);
            if (ret < 0) {
                error_report("Error while writing to COW image: %s",
                             strerror(-ret));
                return 1;
            }
        }
        offset += n;
    }
    return 0;
}

static int img_rebase(int argc, char **argv)
{
    const char *fmt = NULL, *base = NULL, *base_fmt = NULL, *filename;
    BlockDriverState *bs;
    BlockBackend *blk, *new_base = NULL;
    Error *err = NULL;
    bool unsafe = false;
    int c, ret;

    optind = 0;
    while ((c = getopt(argc, argv, ":hf:F:b:upqU")) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'F':
            base_fmt = optarg;
            break;
        case 'b':
            base = optarg;
            break;
        case 'u':
            unsafe = true;
            break;
        case 'p':
        case 'q':
        case 'U':
            /* no progress is printed, and nothing is locked */
            break;
        default:
            other_option(c, argv);
        }
    }
    if (optind != argc - 1) {
        error_exit("Expecting one image file name");
    }
    filename = argv[optind];
    if (base_fmt && !bdrv_find_format(base_fmt)) {
        error_report("Invalid format name: '%s'", base_fmt);
        return 1;
    }
    if (!base && !unsafe) {
        error_exit("Must specify backing file (-b) or use unsafe mode (-u)");
    }
    if (!base) {
        /* -u without -b: the image gets no backing file at all. */
        base = "";
    }
    /* The unsafe mode does not need, or even open, any backing file. */
    bs = bdrv_open_image(filename, fmt,
                         BDRV_O_RDWR | (unsafe ? BDRV_O_NO_BACKING : 0),
                         &err);
    if (!bs) {
        error_reportf_err(err, "Could not open '%s': ", filename);
        return 1;
    }
    blk = blk_new(qemu_get_aio_context(),
                  BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                  BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED);
    if (blk_insert_bs(blk, bs, &err) < 0) {
        error_reportf_err(err, "Could not open '%s': ", filename);
        blk_unref(blk);
        bdrv_unref(bs);
        return 1;
    }
    bdrv_unref(bs);
    if (!unsafe && base[0]) {
        g_autofree char *path = img_full_backing(filename, base);

        new_base = img_open(path, base_fmt, false, &err);
        if (!new_base) {
            error_reportf_err(err, "Could not open new backing file '%s': ",
                              base);
            blk_unref(blk);
            return 1;
        }
        if (!base_fmt) {
            base_fmt = bdrv_get_format_name(blk_bs(new_base));
        }
    }
    if (base[0] && !base_fmt) {
        error_report("Could not change the backing file to '%s': backing "
                     "format must be specified", base);
        blk_unref(blk);
        return 1;
    }
    if (!unsafe && rebase_copy(blk, new_base)) {
        blk_unref(new_base);
        blk_unref(blk);
        return 1;
    }
    ret = bdrv_change_backing_file(blk_bs(blk), base, base_fmt);
    if (ret < 0) {
        error_report("Could not change the backing file to '%s': %s", base,
                     strerror(-ret));
    }
    if (new_base) {
        blk_unref(new_base);
    }
    blk_unref(blk);
    return ret < 0 ? 1 : 0;
}

/*
 * resize
 */

static void size_error(void)
{
    error_report("Parameter 'size' expects a non-negative number below "
                 "2^64");
    error_printf("Optional suffix k, M, G, T, P or E means kilo-, mega-, "
                 "giga-, tera-, peta-\nand exabytes, respectively.\n");
}

static int img_resize(int argc, char **argv)
{
    const char *fmt = NULL, *size_arg, *filename;
    BlockBackend *blk;
    Error *err = NULL;
    int64_t n, cur, total;
    bool quiet = false, shrink = false;
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    int c, relative = 0;

    if (argc < 3) {
        error_exit("Not enough arguments");
    }
    /* The size comes last and may start with '-': keep it from getopt. */
    size_arg = argv[--argc];
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:qU", output_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'U':
            break;
        case OPT_SHRINK:
            shrink = true;
            break;
        case OPT_IMAGE_OPTS:
            img_image_opts = true;
            break;
        case OPT_PREALLOCATION:
            prealloc = qapi_enum_parse(&PreallocMode_lookup, optarg,
                                       PREALLOC_MODE__MAX, NULL);
            if (prealloc == PREALLOC_MODE__MAX) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return 1;
            }
            break;
        default:
            other_option(c, argv);
        }
    }
    if (optind != argc - 1) {
        error_exit("Expecting image file name and size");
    }
    check_image_opts(fmt);
    filename = argv[optind];
    if (size_arg[0] == '+' || size_arg[0] == '-') {
        relative = size_arg[0] == '-' ? -1 : 1;
        size_arg++;
    }
    if (!parse_img_size(size_arg, &n)) {
        size_error();
        return 1;
    }
    blk = img_open(filename, fmt, true, &err);
    if (!blk) {
        error_reportf_err(err, "Could not open '%s': ", filename);
        return 1;
    }
    cur = blk_getlength(blk);
    total = relative ? cur + relative * n : n;
    if (total <= 0) {
        error_report("New image size must be positive");
        blk_unref(blk);
        return 1;
    }
    if (total < cur && !shrink) {
        error_report("Use the --shrink option to perform a shrink "
                     "operation.");
        warn_report("Shrinking an image will delete all data beyond the "
                    "shrunken image's end. Before performing such an "
                    "operation, make sure there is no important data "
                    "there.");
        blk_unref(blk);
        return 1;
    }
    if (blk_truncate(blk, total, false, prealloc, 0, &err) < 0) {
        error_report_err(err);
        blk_unref(blk);
        return 1;
    }
    if (!quiet) {
        printf("Image resized.\n");
    }
    blk_unref(blk);
    return 0;
}

/*
 * check
 */

static void check_print_human(const BdrvCheckResult *r)
{
    if (!(r->corruptions || r->leaks || r->check_errors)) {
        printf("No errors were found on the image.\n");
    } else {
        if (r->corruptions) {
            printf("\n%d errors were found on the image.\n"
                   "Data may be corrupted, or further writes to the image "
                   "may corrupt it.\n", r->corruptions);
        }
        if (r->leaks) {
            printf("\n%d leaked clusters were found on the image.\n"
                   "This means waste of disk space, but no harm to data.\n",
                   r->leaks);
        }
        if (r->check_errors) {
            printf("\n%d internal errors have occurred during the check.\n",
                   r->check_errors);
        }
    }
    if (r->bfi.total_clusters != 0 && r->bfi.allocated_clusters != 0) {
        printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, "
               "%0.2f%% fragmented, %0.2f%% compressed clusters\n",
               r->bfi.allocated_clusters, r->bfi.total_clusters,
               r->bfi.allocated_clusters * 100.0 / r->bfi.total_clusters,
               r->bfi.fragmented_clusters * 100.0 /
               r->bfi.allocated_clusters,
               r->bfi.compressed_clusters * 100.0 /
               r->bfi.allocated_clusters);
    }
    if (r->image_end_offset > 0) {
        printf("Image end offset: %" PRId64 "\n", r->image_end_offset);
    }
}

/* The members QEMU prints, in the order qemu-img 7.2 prints them. */
static void check_print_json(const BdrvCheckResult *r, const char *filename,
                             const char *format)
{
    g_autofree char *quoted = g_strescape(filename, NULL);

    printf("{\n");
    if (r->image_end_offset > 0) {
        printf("    \"image-end-offset\": %" PRId64 ",\n",
               r->image_end_offset);
    }
    printf("    \"total-clusters\": %" PRIu64 ",\n", r->bfi.total_clusters);
    if (r->corruptions) {
        printf("    \"corruptions\": %d,\n", r->corruptions);
    }
    printf("    \"check-errors\": %d,\n", r->check_errors);
    if (r->leaks) {
        printf("    \"leaks\": %d,\n", r->leaks);
    }
    if (r->leaks_fixed) {
        printf("    \"leaks-fixed\": %d,\n", r->leaks_fixed);
    }
    if (r->corruptions_fixed) {
        printf("    \"corruptions-fixed\": %d,\n", r->corruptions_fixed);
    }
    if (r->bfi.allocated_clusters) {
        printf("    \"allocated-clusters\": %" PRIu64 ",\n",
               r->bfi.allocated_clusters);
    }
    if (r->bfi.fragmented_clusters) {
        printf("    \"fragmented-clusters\": %" PRIu64 ",\n",
               r->bfi.fragmented_clusters);
    }
    if (r->bfi.compressed_clusters) {
        printf("    \"compressed-clusters\": %" PRIu64 ",\n",
               r->bfi.compressed_clusters);
    }
    printf("    \"filename\": \"%s\",\n"
           "    \"format\": \"%s\"\n}\n", quoted, format);
}

/*
 * Exit status as qemu-img: 0 clean, 1 the check could not run, 2
 * corruptions, 3 leaks only, 63 the format has no check.
 */
static int img_check(int argc, char **argv)
{
    const char *fmt = NULL, *output = NULL, *filename;
    BdrvCheckMode fix = 0;
    BdrvCheckResult r, fixed;
    BlockBackend *blk;
    Error *err = NULL;
    bool json = false, quiet = false;
    int c, ret;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:r:qU", output_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'r':
            if (!strcmp(optarg, "leaks")) {
                fix = BDRV_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                fix = BDRV_FIX_LEAKS | BDRV_FIX_ERRORS;
            } else {
                error_exit("Unknown option value for -r "
                           "(expecting 'leaks' or 'all'): %s", optarg);
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'U':
            break;
        case OPT_OUTPUT:
            output = optarg;
            break;
        case OPT_IMAGE_OPTS:
            img_image_opts = true;
            break;
        default:
            other_option(c, argv);
        }
    }
    if (optind != argc - 1) {
        error_exit("Expecting one image file name");
    }
    check_image_opts(fmt);
    filename = argv[optind];
    if (output && !parse_output(output, &json)) {
        return 1;
    }
    blk = img_open(filename, fmt, fix != 0, &err);
    if (!blk) {
        error_reportf_err(err, "Could not open '%s': ", filename);
        return 1;
    }
    ret = bdrv_check(blk_bs(blk), &r, fix);
    if (ret == -ENOTSUP) {
        error_report("This image format does not support checks");
        blk_unref(blk);
        return 63;
    }
    if (ret == 0 && (r.leaks_fixed || r.corruptions_fixed)) {
        fixed = r;
        if (!json && !quiet) {
            printf("The following inconsistencies were found and repaired:"
                   "\n\n    %d leaked clusters\n    %d corruptions\n\n"
                   "Double checking the fixed image now...\n",
                   r.leaks_fixed, r.corruptions_fixed);
        }
        ret = bdrv_check(blk_bs(blk), &r, 0);
        r.leaks_fixed = fixed.leaks_fixed;
        r.corruptions_fixed = fixed.corruptions_fixed;
    }
    if (ret < 0 && ret != -ENOTSUP) {
        error_report("Check failed: %s", strerror(-ret));
        blk_unref(blk);
        return 1;
    }
    if (!quiet) {
        if (json) {
            check_print_json(&r, filename,
                             bdrv_get_format_name(blk_bs(blk)));
        } else {
            check_print_human(&r);
        }
    }
    blk_unref(blk);
    if (r.check_errors) {
        return 1;
    }
    if (r.corruptions) {
        return 2;
    }
    if (r.leaks) {
        return 3;
    }
    return 0;
}

/*
 * bench
 *
 * @depth worker coroutines share one request counter: each sends the
 * next request (offset advancing by the step, wrapping at the end of
 * the image), waits for it, and sends another, so that @depth requests
 * are in flight until the last ones.  With --flush-interval, whenever a
 * request completes with a multiple of the interval left to send, a
 * flush is sent: after the requests in flight have completed (no new
 * ones are sent meanwhile), or beside them with --no-drain.  This is
 * qemu-img bench's schedule, request for request.
 */

typedef struct BenchState {
    BlockBackend *blk;
    int64_t image_size;
    int64_t offset;         /* of the next request */
    int64_t bufsize;
    int64_t step;
    bool write;
    bool drain_on_flush;
    int flush_interval;
    int unsent;             /* requests not sent yet */
    int in_flight;
    int running;            /* workers and undrained flushes not done */
    bool draining;          /* no request is sent until the flush is done */
    CoQueue flush_wait;
    int64_t end_ns;         /* when the last request completed */
} BenchState;

typedef struct BenchWorker {
    BenchState *b;
    uint8_t *buf;
} BenchWorker;

static void coroutine_fn bench_flush(BenchState *b)
{
    int ret = blk_co_flush(b->blk);

    if (ret < 0) {
        error_report("Failed flush request: %s", strerror(-ret));
        exit(EXIT_FAILURE);
    }
}

static void coroutine_fn bench_undrained_flush_co(void *opaque)
{
    BenchState *b = opaque;

    bench_flush(b);
    b->running--;
}

static void coroutine_fn bench_worker_co(void *opaque)
{
    BenchWorker *w = opaque;
    BenchState *b = w->b;
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, w->buf, b->bufsize);
    while (b->unsent > 0) {
        int64_t offset = b->offset;
        int ret;

        b->unsent--;
        b->in_flight++;
        b->offset += b->step;
        if (b->image_size > 0) {
            b->offset %= b->image_size;
        }
        if (b->write) {
            ret = blk_co_pwritev(b->blk, offset, b->bufsize, &qiov, 0);
        } else {
            ret = blk_co_preadv(b->blk, offset, b->bufsize, &qiov, 0);
        }
        if (ret < 0) {
            error_report("Failed request: %s", strerror(-ret));
            exit(EXIT_FAILURE);
        }
        b->in_flight--;
        if (!b->unsent && !b->in_flight) {
            b->end_ns = g_get_monotonic_time() * 1000;
        }
        if (b->flush_interval && b->unsent % b->flush_interval == 0) {
            if (!b->drain_on_flush) {
                b->running++;
                qemu_coroutine_enter(
                    qemu_coroutine_create(bench_undrained_flush_co, b));
            } else {
                b->draining = true;
                if (!b->in_flight) {
                    bench_flush(b);
                    b->draining = false;
                    qemu_co_queue_restart_all(&b->flush_wait);
                }
            }
        }
        while (b->draining) {
            qemu_co_queue_wait(&b->flush_wait, NULL);
        }
    }
    b->running--;
}

/*
 * A number as qemu-img's -c, -d, --pattern and --flush-interval take it:
 * strtoul's, base 0 (so 0x10 and 010), the whole string, at most @max.
 */
static bool bench_parse_uint(const char *s, unsigned long max, int *value)
{
    unsigned long v;
    char *end;

    errno = 0;
    v = strtoul(s, &end, 0);
    if (end == s || *end || errno || v > max) {
        return false;
    }
    *value = v;
    return true;
}

/*
 * A size as qemu-img's cvtnum: a decimal or 0x number with an optional
 * suffix (b, k, M, G, T, P, E); a fraction only with a suffix above b.
 */
static bool bench_parse_size(const char *s, int64_t *value)
{
    const char *p = s;
    bool hex = false, frac = false;
    int64_t v;

    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        hex = true;
        p += 2;
    }
    while (hex ? g_ascii_isxdigit(*p) : g_ascii_isdigit(*p)) {
        p++;
    }
    if (!hex && *p == '.') {
        frac = true;
        p++;
        while (g_ascii_isdigit(*p)) {
            p++;
        }
    }
    if (*p && (p[1] || !strchr("bBkKmMgGtTpPeE", *p))) {
        return false;
    }
    if (frac && (!*p || *p == 'b' || *p == 'B')) {
        return false;
    }
    if (!parse_img_size(s, &v)) {
        return false;
    }
    *value = v;
    return true;
}

static G_GNUC_NORETURN void bench_size_error(const char *what)
{
    error_report("Invalid %s specified. You may use k, M, G, T, P or E "
                 "suffixes for", what);
    error_report("kilobytes, megabytes, gigabytes, terabytes, petabytes "
                 "and exabytes.");
    exit(EXIT_FAILURE);
}

/*
 * Open @filename as qemu-img bench does: the format node over a file
 * node with @aio (NULL: the default), the cache options of -t, and
 * force-share with -U.
 */
static BlockBackend *bench_open(const char *filename, const char *fmt,
                                bool write, bool nocache, bool no_flush,
                                const char *aio, bool force_share,
                                Error **errp)
{
    g_autoptr(JsonNode) tree = NULL;
    g_autofree char *probed = NULL;
    JsonObject *top, *cache, *leaf;
    BlockDriverState *bs;
    BlockBackend *blk;
    uint64_t perm = BLK_PERM_CONSISTENT_READ;

    if (img_image_opts) {
        tree = img_parse_image_opts(filename, errp);
        if (!tree) {
            return NULL;
        }
        top = json_node_get_object(tree);
    } else {
        JsonObject *file = json_object_new();

        if (fmt && !bdrv_find_format(fmt)) {
            error_setg(errp, "Unknown driver '%s'", fmt);
            json_object_unref(file);
            return NULL;
        }
        if (!fmt) {
            /* Probe on a read-only open of its own, closed again. */
            bs = bdrv_open_image(filename, NULL, 0, errp);
            if (!bs) {
                json_object_unref(file);
                return NULL;
            }
            probed = g_strdup(bdrv_get_format_name(bs));
            bdrv_unref(bs);
            fmt = probed;
        }
        if (!bdrv_filename_to_options(filename, file, errp)) {
            json_object_unref(file);
            return NULL;
        }
        tree = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(tree, json_object_new());
        top = json_node_get_object(tree);
        json_object_set_string_member(top, "driver", fmt);
        json_object_set_object_member(top, "file", file);
    }
    opts_default(top, "read-only", write ? "off" : "on");
    if (force_share) {
        opts_default(top, "force-share", "on");
    }
    cache = opts_cache(top);
    opts_default(cache, "direct", nocache ? "on" : "off");
    opts_default(cache, "no-flush", no_flush ? "on" : "off");
    bdrv_default_child_drivers(top);
    if (aio) {
        JsonNode *m = json_object_get_member(top, "file");

        leaf = m && JSON_NODE_HOLDS_OBJECT(m) ? json_node_get_object(m) : top;
        opts_default(leaf, "aio", aio);
    }
    bs = img_open_tree(tree, errp);
    if (!bs) {
        return NULL;
    }
    if (write) {
        perm |= BLK_PERM_WRITE;
    }
    blk = blk_new_with_bs(bs, perm,
                          force_share ? BLK_PERM_ALL
                                      : BLK_PERM_CONSISTENT_READ |
                                        BLK_PERM_WRITE_UNCHANGED,
                          errp);
    bdrv_unref(bs);
    return blk;
}

static int img_bench(int argc, char **argv)
{
    const char *fmt = NULL, *filename, *aio = NULL;
    const char *cache_mode = "writeback";
    BenchState b = {
        .drain_on_flush = true,
        .unsent = 75000,
        .bufsize = 4096,
    };
    int depth = 64, pattern = 0, flush_interval = 0, c, i;
    int64_t step = 0, start_ns;
    bool nocache = false, force_share = false;
    BenchWorker *workers;
    uint8_t *buf;
    Error *err = NULL;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU",
                            output_opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (!bench_parse_uint(optarg, INT_MAX, &b.unsent)) {
                error_report("Invalid request count specified");
                return 1;
            }
            break;
        case 'd':
            /*
             * qemu-img 7.2 takes -d 0 and then never completes; a depth
             * of 0 is refused here, with its message for a bad depth.
             */
            if (!bench_parse_uint(optarg, INT_MAX, &depth) || !depth) {
                error_report("Invalid queue depth specified");
                return 1;
            }
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'n':
            /* As qemu-img: -n is aio=native, not the cache. */
            aio = "native";
            break;
        case 'i':
            if (strcmp(optarg, "threads") && strcmp(optarg, "native") &&
                strcmp(optarg, "io_uring")) {
                error_report("Invalid aio option: %s", optarg);
                return 1;
            }
            aio = optarg;
            break;
        case 'o':
            if (!bench_parse_size(optarg, &b.offset)) {
                bench_size_error("offset");
            }
            break;
        case 'q':
            /* qemu-img bench prints its lines with -q too. */
            break;
        case 's':
            if (!bench_parse_size(optarg, &b.bufsize)) {
                bench_size_error("buffer size");
            }
            if (b.bufsize > INT_MAX) {
                error_report("Invalid buffer size specified. Must be between "
                             "0 and %d.", INT_MAX);
                return 1;
            }
            break;
        case 'S':
            if (!bench_parse_size(optarg, &step)) {
                bench_size_error("step_size");
            }
            if (step > INT_MAX) {
                error_report("Invalid step_size specified. Must be between "
                             "0 and %d.", INT_MAX);
                return 1;
            }
            break;
        case 't':
            if (!parse_cache_mode(optarg, &nocache)) {
                error_report("Invalid cache mode");
                return 1;
            }
            cache_mode = optarg;
            break;
        case 'w':
            b.write = true;
            break;
        case 'U':
            force_share = true;
            break;
        case OPT_PATTERN:
            if (!bench_parse_uint(optarg, 0xff, &pattern)) {
                error_report("Invalid pattern byte specified");
                return 1;
            }
            break;
        case OPT_FLUSH_INTERVAL:
            if (!bench_parse_uint(optarg, INT_MAX, &flush_interval)) {
                error_report("Invalid flush interval specified");
                return 1;
            }
            break;
        case OPT_NO_DRAIN:
            b.drain_on_flush = false;
            break;
        case OPT_IMAGE_OPTS:
            img_image_opts = true;
            break;
        default:
            other_option(c, argv);
        }
    }
    if (argc - optind != 1) {
        error_exit("Expecting one image file name");
    }
    filename = argv[optind];
    if (!b.write && flush_interval) {
        error_report("--flush-interval is only available in write tests");
        return 1;
    }
    if (flush_interval && flush_interval < depth) {
        error_report("Flush interval can't be smaller than depth");
        return 1;
    }
    check_image_opts(fmt);

    b.blk = bench_open(filename, fmt, b.write, nocache,
                       !strcmp(cache_mode, "unsafe"), aio, force_share,
                       &err);
    if (!b.blk) {
        error_reportf_err(err, "Could not open '%s': ", filename);
        return 1;
    }
    blk_set_enable_write_cache(b.blk, strcmp(cache_mode, "writethrough") &&
                                      strcmp(cache_mode, "directsync"));
    b.image_size = blk_getlength(b.blk);
    if (b.image_size < 0) {
        error_report("Could not get file length: %s",
                     strerror(-b.image_size));
        blk_unref(b.blk);
        return 1;
    }
    b.step = step ? step : b.bufsize;
    b.flush_interval = flush_interval;
    qemu_co_queue_init(&b.flush_wait);

    buf = qemu_try_blockalign(blk_bs(b.blk), (size_t)depth * b.bufsize);
    if (!buf && b.bufsize > 0) {
        error_report("Could not allocate %" PRId64 " bytes for the requests: "
                     "%s", depth * b.bufsize, strerror(ENOMEM));
        blk_unref(b.blk);
        return 1;
    }
    memset(buf, pattern, depth * b.bufsize);
    workers = g_new(BenchWorker, depth);

    printf("Sending %d %s requests, %" PRId64 " bytes each, %d in parallel "
           "(starting at offset %" PRId64 ", step size %" PRId64 ")\n",
           b.unsent, b.write ? "write" : "read", b.bufsize, depth,
           b.offset, b.step);
    if (flush_interval) {
        printf("Sending flush every %d requests\n", flush_interval);
    }

    start_ns = g_get_monotonic_time() * 1000;
    b.end_ns = start_ns;
    b.running = depth;
    for (i = 0; i < depth; i++) {
        workers[i].b = &b;
        workers[i].buf = buf + (int64_t)i * b.bufsize;
        qemu_coroutine_enter(qemu_coroutine_create(bench_worker_co,
                                                   &workers[i]));
    }
    while (b.running > 0) {
        aio_poll(qemu_get_aio_context(), true);
    }
    printf("Run completed in %3.3f seconds.\n",
           (b.end_ns - start_ns) / 1e9);

    g_free(workers);
    blk_unref(b.blk);
    qemu_vfree(buf);
    return 0;
}

static void usage(void)
{
    printf("Usage: qblock-img [standard options] command [command options]\n"
           "Create, inspect, compare and convert raw and qcow2 images\n"
           "\n"
           "Commands:\n"
           "  create [-f fmt] [-b backing_file [-F backing_fmt]] [-u] "
           "[-o options] filename [size]\n"
           "  check [--image-opts] [-f fmt] [--output=ofmt] "
           "[-r leaks|all] [-q] [-U] filename\n"
           "  info [--image-opts] [-f fmt] [--output=ofmt] "
           "[--backing-chain] [-U] filename\n"
           "  map [--image-opts] [-f fmt] [--start-offset=offset] "
           "[--max-length=len] [--output=ofmt] [-U] filename\n"
           "  compare [--image-opts] [-f fmt] [-F fmt] [-s] [-q] [-U] "
           "filename1 filename2\n"
           "  convert [--image-opts] [-c] [-f fmt] [-O output_fmt] "
           "[-o options] [-B backing_file -F backing_fmt] [-n] [-p] [-q] "
           "[-S sparse_size] [-t cache] [-T src_cache] [-W] "
           "[-m num_coroutines] [-U] filename output_filename\n"
           "  rebase [-f fmt] [-u] -b backing_file [-F backing_fmt] "
           "filename\n"
           "  resize [--image-opts] [-f fmt] [--preallocation=prealloc] "
           "[-q] [--shrink] filename [+ | -]size\n"
           "  bench [-c count] [-d depth] [-f fmt] "
           "[--flush-interval=flush_interval] [-i aio] [-n] [--no-drain] "
           "[-o offset] [--pattern=pattern] [-q] [-s buffer_size] "
           "[-S step_size] [-t cache] [-w] [-U] filename\n"
           "\n"
           "  -V, --version  output version information and exit\n");
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*func)(int argc, char **argv);
    } cmds[] = {
        { "create", img_create },
        { "info", img_info },
        { "map", img_map },
        { "compare", img_compare },
        { "convert", img_convert },
        { "check", img_check },
        { "rebase", img_rebase },
        { "resize", img_resize },
        { "bench", img_bench },
    };
    size_t i;

    g_set_prgname("qblock-img");
    if (argc < 2) {
        error_exit("Not enough arguments");
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return 0;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("qblock-img version " QBLOCK_VERSION
               " (the commands of qemu-img %d.%d)\n",
               QBLOCK_QEMU_MAJOR, QBLOCK_QEMU_MINOR);
        return 0;
    }
    if (argv[1][0] == '-') {
        error_exit("unrecognized option '%s'", argv[1]);
    }
    qemu_init_main_loop(&error_fatal);
    bdrv_init();
    for (i = 0; i < G_N_ELEMENTS(cmds); i++) {
        if (!strcmp(argv[1], cmds[i].name)) {
            return cmds[i].func(argc - 1, argv + 1);
        }
    }
    error_exit("Command not found: %s", argv[1]);
}
