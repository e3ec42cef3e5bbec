/*
 * qblock-img: create, inspect, compare and copy images from the shell.
 *
 * The subcommands, options, messages and exit statuses are qemu-img's, for
 * raw images so far:
 *
 *     qblock-img create -f raw a.img 64M
 *     qblock-img info --output=json a.img
 *     qblock-img map --output=json a.img
 *     qblock-img compare a.img b.img       (0 same, 1 different, 2 error)
 *     qblock-img convert -f raw -O raw a.img b.img
 *
 * Images are opened as a format node over a "file" node and read through a
 * BlockBackend; map, compare and convert walk the block status of the
 * format node, so holes are neither read nor written.
 */
#include "qemu/osdep.h"

#include <getopt.h>
#include <math.h>
#include <sys/stat.h>

#include "qapi/error.h"
#include "block/block.h"
#include "block/block-backend.h"

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

/*
 * Open @filename as format @fmt (NULL: probed from its first bytes) over
 * a file node, with its backing chain; writable if @write.
 */
static BlockBackend *img_open(const char *filename, const char *fmt,
                              bool write, Error **errp)
{
    BlockDriverState *bs;
    BlockBackend *blk;
    uint64_t perm = BLK_PERM_CONSISTENT_READ;

    bs = bdrv_open_image(filename, fmt, write ? BDRV_O_RDWR : 0, errp);
    if (!bs) {
        return NULL;
    }
    if (write) {
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
    }
    blk = blk_new(qemu_get_aio_context(), perm,
                  BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED);
    if (blk_insert_bs(blk, bs, errp) < 0) {
        blk_unref(blk);
        bdrv_unref(bs);
        return NULL;
    }
    bdrv_unref(bs);
    return blk;
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
};

static const struct option output_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "format", required_argument, NULL, 'f' },
    { "output", required_argument, NULL, OPT_OUTPUT },
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
 * The common start of info and map: "[-f FMT] [--output=human|json] FILE",
 * checked in qemu-img's order (the output format after the file name),
 * then the image opened read-only.  Returns NULL after printing why.
 */
static BlockBackend *img_open_query(int argc, char **argv, bool *json)
{
    const char *fmt = NULL, *output = NULL;
    BlockBackend *blk;
    Error *err = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:", output_opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case OPT_OUTPUT:
            output = optarg;
            break;
        default:
            other_option(c, argv);
        }
    }
    if (optind != argc - 1) {
        error_exit("Expecting one image file name");
    }
    if (output && !parse_output(output, json)) {
        return NULL;
    }
    blk = img_open(argv[optind], fmt, false, &err);
    if (!blk) {
        error_reportf_err(err, "Could not open '%s': ", argv[optind]);
    }
    return blk;
}

static int img_info(int argc, char **argv)
{
    bool json = false;
    BlockBackend *blk;
    struct stat st;
    int64_t size, actual = -1;

    blk = img_open_query(argc, argv, &json);
    if (!blk) {
        return 1;
    }
    size = blk_getlength(blk);
    if (stat(argv[optind], &st) == 0) {
        actual = (int64_t)st.st_blocks * 512;
    }
    if (json) {
        g_autofree char *quoted = g_strescape(argv[optind], NULL);

        printf("{\n"
               "    \"virtual-size\": %" PRId64 ",\n"
               "    \"filename\": \"%s\",\n"
               "    \"format\": \"raw\",\n", size, quoted);
        if (actual >= 0) {
            printf("    \"actual-size\": %" PRId64 ",\n", actual);
        }
        printf("    \"dirty-flag\": false\n}\n");
    } else {
        g_autofree char *vs = human_size(size);
        g_autofree char *as = human_size(actual);

        printf("image: %s\n"
               "file format: raw\n"
               "virtual size: %s (%" PRId64 " bytes)\n"
               "disk size: %s\n", argv[optind], vs, size,
               actual >= 0 ? as : "unavailable");
    }
    blk_unref(blk);
    return 0;
}

/*
 * map
 */

typedef struct MapEntry {
    int64_t start;
    int64_t length;
    bool zero;
    bool data;
    bool has_offset;
    int64_t offset;
} MapEntry;

/* The status of [@offset, @offset + @bytes) as a map entry; -errno. */
static int get_entry(BlockBackend *blk, int64_t offset, int64_t bytes,
                     MapEntry *e)
{
    int64_t pnum, map = 0;
    int ret = bdrv_block_status(blk_bs(blk), offset, bytes, &pnum, &map,
                                NULL);

    if (ret < 0) {
        return ret;
    }
    e->start = offset;
    e->length = pnum;
    e->zero = ret & BDRV_BLOCK_ZERO;
    e->data = ret & BDRV_BLOCK_DATA;
    e->has_offset = ret & BDRV_BLOCK_OFFSET_VALID;
    e->offset = map;
    return 0;
}

/* Can @next be printed as part of @cur? */
static bool entry_continues(const MapEntry *cur, const MapEntry *next)
{
    return cur->zero == next->zero && cur->data == next->data &&
           cur->has_offset == next->has_offset &&
           (!cur->has_offset || cur->offset + cur->length == next->offset);
}

static void print_entry(const MapEntry *e, bool json, bool first,
                        const char *filename)
{
    if (json) {
        printf("%s{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", "
               "\"depth\": 0, \"present\": true, \"zero\": %s, "
               "\"data\": %s", first ? "" : ",\n", e->start, e->length,
               e->zero ? "true" : "false", e->data ? "true" : "false");
        if (e->has_offset) {
            printf(", \"offset\": %" PRId64, e->offset);
        }
        printf("}");
    } else if (e->data && e->has_offset) {
        /* qemu-img prints 0 rather than 0x0 */
        g_autofree char *a = g_strdup_printf("%#" PRIx64, e->start);
        g_autofree char *b = g_strdup_printf("%#" PRIx64, e->length);
        g_autofree char *m = g_strdup_printf("%#" PRIx64, e->offset);

        printf("%-16s%-16s%-16s%s\n", a, b, m, filename);
    }
}

static int img_map(int argc, char **argv)
{
    bool json = false;
    BlockBackend *blk;
    MapEntry cur = { 0 }, next;
    bool first = true, have = false;
    int64_t length, offset = 0;
    int ret;

    blk = img_open_query(argc, argv, &json);
    if (!blk) {
        return 1;
    }
    length = blk_getlength(blk);
    if (json) {
        printf("[");
    } else {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
               "File");
    }
    while (offset < length) {
        ret = get_entry(blk, offset, length - offset, &next);
        if (ret < 0 || next.length == 0) {
            error_report("Could not read file metadata: %s",
                         strerror(ret < 0 ? -ret : EIO));
            blk_unref(blk);
            return 1;
        }
        if (have && entry_continues(&cur, &next)) {
            cur.length += next.length;
        } else {
            if (have) {
                print_entry(&cur, json, first, argv[optind]);
                first = false;
            }
            cur = next;
            have = true;
        }
        offset += next.length;
    }
    if (have) {
        print_entry(&cur, json, first, argv[optind]);
    }
    if (json) {
        printf("]\n");
    }
    blk_unref(blk);
    return 0;
}

/*
 * compare and convert
 */

/*
 * The start of the first 512-byte sector of [@offset, @offset + @bytes)
 * of @blk that does not read as zeroes, INT64_MAX if none, or -errno.
 */
static int64_t first_nonzero(BlockBackend *blk, int64_t offset,
                             int64_t bytes, uint8_t *buf)
{
    while (bytes > 0) {
        int64_t pnum, n, i;
        int ret = bdrv_block_status(blk_bs(blk), offset, bytes, &pnum,
                                    NULL, NULL);

        if (ret < 0) {
            return ret;
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

static int img_compare(int argc, char **argv)
{
    const char *fmt1 = NULL, *fmt2 = NULL;
    BlockBackend *blk1, *blk2;
    Error *err = NULL;
    g_autofree uint8_t *buf1 = NULL;
    g_autofree uint8_t *buf2 = NULL;
    int64_t len1, len2, common, offset = 0, diff;
    int c, ret = 0;

    optind = 0;
    while ((c = getopt(argc, argv, ":hf:F:q")) != -1) {
        switch (c) {
        case 'f':
            fmt1 = optarg;
            break;
        case 'F':
            fmt2 = optarg;
            break;
        case 'q':
            break;
        default:
            other_option(c, argv);
        }
    }
    if (optind != argc - 2) {
        error_exit("Expecting two image file names");
    }
    blk1 = img_open(argv[optind], fmt1, false, &err);
    if (!blk1) {
        error_reportf_err(err, "Could not open '%s': ", argv[optind]);
        return 2;
    }
    blk2 = img_open(argv[optind + 1], fmt2, false, &err);
    if (!blk2) {
        error_reportf_err(err, "Could not open '%s': ", argv[optind + 1]);
        blk_unref(blk1);
        return 2;
    }
    buf1 = g_malloc(IMG_CHUNK);
    buf2 = g_malloc(IMG_CHUNK);
    len1 = blk_getlength(blk1);
    len2 = blk_getlength(blk2);
    common = MIN(len1, len2);
    while (offset < common) {
        int64_t n = MIN(common - offset, IMG_CHUNK), i, pnum1, pnum2;
        int st1, st2;

        /* Where both images read as zeroes there is nothing to read. */
        st1 = bdrv_block_status(blk_bs(blk1), offset, n, &pnum1, NULL, NULL);
        st2 = bdrv_block_status(blk_bs(blk2), offset, n, &pnum2, NULL, NULL);
        if (st1 >= 0 && st2 >= 0 && pnum1 > 0 && pnum2 > 0 &&
            (st1 & st2 & BDRV_BLOCK_ZERO)) {
            offset += MIN(pnum1, pnum2);
            continue;
        }
        st1 = blk_pread(blk1, offset, n, buf1, 0);
        if (st1 < 0) {
            error_report("Error while reading offset %" PRId64 " of %s: %s",
                         offset, argv[optind], strerror(-st1));
            ret = 4;
            goto out;
        }
        st2 = blk_pread(blk2, offset, n, buf2, 0);
        if (st2 < 0) {
            error_report("Error while reading offset %" PRId64 " of %s: %s",
                         offset, argv[optind + 1], strerror(-st2));
            ret = 4;
            goto out;
        }
        if (memcmp(buf1, buf2, n)) {
            for (i = 0; buf1[i] == buf2[i]; i++) {
                /* find the first differing byte */
            }
            /* qemu-img names the 512-byte sector that differs */
            printf("Content mismatch at offset %" PRId64 "!\n",
                   offset + (i & ~(int64_t)511));
            ret = 1;
            goto out;
        }
        offset += n;
    }
    if (len1 != len2) {
        BlockBackend *longer = len1 > len2 ? blk1 : blk2;

        printf("Warning: Image size mismatch!\n");
        diff = first_nonzero(longer, common, MAX(len1, len2) - common, buf1);
        if (diff < 0) {
            error_report("Error while reading offset %" PRId64 ": %s",
                         common, strerror(-diff));
            ret = 4;
            goto out;
        }
        if (diff != INT64_MAX) {
            printf("Content mismatch at offset %" PRId64 "!\n", diff);
            ret = 1;
            goto out;
        }
    }
    printf("Images are identical.\n");
out:
    blk_unref(blk2);
    blk_unref(blk1);
    return ret;
}

static int img_convert(int argc, char **argv)
{
    const char *fmt = NULL, *out_fmt = "raw";
    BlockBackend *src, *dst;
    Error *err = NULL;
    g_autofree uint8_t *buf = NULL;
    int64_t len, offset = 0;
    int fd, c, ret = 0;

    optind = 0;
    while ((c = getopt(argc, argv, ":hf:O:pq")) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'O':
            out_fmt = optarg;
            break;
        case 'p':
        case 'q':
            break;
        default:
            other_option(c, argv);
        }
    }
    if (argc - optind < 2) {
        error_report("Must specify image file name");
        return 1;
    }
    if (argc - optind > 2) {
        error_exit("Expecting one image file name");
    }
    if (strcmp(out_fmt, "raw")) {
        error_report("Unknown file format '%s'", out_fmt);
        return 1;
    }
    src = img_open(argv[optind], fmt, false, &err);
    if (!src) {
        error_reportf_err(err, "Could not open '%s': ", argv[optind]);
        return 1;
    }
    len = blk_getlength(src);
    fd = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, len) < 0) {
        error_report("%s: error while converting raw: Could not create "
                     "'%s': %s", argv[optind + 1], argv[optind + 1],
                     strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        blk_unref(src);
        return 1;
    }
    /* Like create, allocate the first block (see img_create()). */
    if (len > 0) {
        g_autofree uint8_t *zero = g_malloc0(MIN(len, 4096));

        if (pwrite(fd, zero, MIN(len, 4096), 0) < 0) {
            error_report("%s: error while converting raw: %s",
                         argv[optind + 1], strerror(errno));
            close(fd);
            blk_unref(src);
            return 1;
        }
    }
    close(fd);
    dst = img_open(argv[optind + 1], "raw", true, &err);
    if (!dst) {
        error_reportf_err(err, "Could not open '%s': ", argv[optind + 1]);
        blk_unref(src);
        return 1;
    }
    buf = g_malloc(IMG_CHUNK);
    /* The new file is all hole: copy only what may not read as zeroes. */
    while (offset < len) {
        int64_t pnum, n;
        int st = bdrv_block_status(blk_bs(src), offset, len - offset, &pnum,
                                   NULL, NULL);

        if (st < 0 || pnum == 0) {
            error_report("error while reading block status at offset %"
                         PRId64 ": %s", offset, strerror(st < 0 ? -st : EIO));
            ret = 1;
            break;
        }
        if (st & BDRV_BLOCK_ZERO) {
            offset += pnum;
            continue;
        }
        n = MIN(pnum, IMG_CHUNK);
        if (blk_pread(src, offset, n, buf, 0) < 0) {
            error_report("error while reading at byte %" PRId64 ": %s",
                         offset, strerror(EIO));
            ret = 1;
            break;
        }
        if (buffer_is_zero_bytes(buf, n)) {
            offset += n;
            continue;
        }
        if (blk_pwrite(dst, offset, n, buf, 0) < 0) {
            error_report("error while writing at byte %" PRId64 ": %s",
                         offset, strerror(EIO));
            ret = 1;
            break;
        }
        offset += n;
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
        default:
            other_option(c, argv);
        }
    }
    if (optind != argc - 1) {
        error_exit("Expecting one image file name");
    }
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

static void usage(void)
{
    printf("Usage: qblock-img [standard options] command [command options]\n"
           "Create, inspect, compare and convert raw images\n"
           "\n"
           "Commands:\n"
           "  create [-f fmt] [-o options] filename [size]\n"
           "  info [-f fmt] [--output=ofmt] filename\n"
           "  map [-f fmt] [--output=ofmt] filename\n"
           "  compare [-f fmt] [-F fmt] filename1 filename2\n"
           "  convert [-f fmt] [-O output_fmt] filename output_filename\n");
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
