/*
 * qblock-io: run I/O commands against one block node from the shell.
 *
 * The command line and the commands are qemu-io's, so that a test can run
 * the same script against either program and compare filtered output:
 *
 *     qblock-io -f raw -c 'write -P 0xab 0 64k' -c 'read -P 0xab 0 64k' a.img
 *
 * The image is opened as a BlockdevOptions tree (format node over a file
 * node, or the --image-opts keyval string as it is) and reached through one
 * BlockBackend.  Each -c string is split at blanks into argv, checked
 * against the command table (argument counts, an open file, a writable
 * node) and run; a failing command makes the exit status 1, but the
 * following commands still run, as qemu-io does.
 *
 * Output keeps qemu-io's buffering: results go to stdout, which the C
 * library buffers when it is a pipe, and complaints about the command line
 * go to stderr unbuffered, so `2>&1` interleaves both programs alike.
 */
#include "qemu/osdep.h"

#include <ctype.h>
#include <getopt.h>
#include <math.h>

#include "qemu/keyval.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qapi-visit.h"
#include "block/block.h"
#include "block/block-backend.h"

typedef struct IoCmd {
    const char *name;
    int (*func)(int argc, char **argv);
    int argmin;
    int argmax;                 /* -1: no limit */
    bool global;                /* runs without an open image */
    bool writes;                /* refused on a read-only node */
    const char *args;           /* NULL: none shown */
    const char *oneline;
} IoCmd;

static BlockBackend *io_blk;

/*
 * Numbers and their printing
 */

/* A size with an optional binary suffix (k, M, G, T, P, E); -errno. */
static int parse_size(const char *s, int64_t *value)
{
    char *end;
    double d;
    uint64_t mul = 1;

    if (!*s || isspace((unsigned char)*s) || *s == '-') {
        return -EINVAL;
    }
    errno = 0;
    d = strtod(s, &end);
    if (end == s || errno == ERANGE) {
        return end == s ? -EINVAL : -ERANGE;
    }
    switch (*end) {
    case '\0':
        break;
    case 'b': case 'B': mul = 1; end++; break;
    case 'k': case 'K': mul = 1ULL << 10; end++; break;
    case 'm': case 'M': mul = 1ULL << 20; end++; break;
    case 'g': case 'G': mul = 1ULL << 30; end++; break;
    case 't': case 'T': mul = 1ULL << 40; end++; break;
    case 'p': case 'P': mul = 1ULL << 50; end++; break;
    case 'e': case 'E': mul = 1ULL << 60; end++; break;
    default:
        return -EINVAL;
    }
    if (*end) {
        return -EINVAL;
    }
    /* A fraction needs a suffix to make whole bytes of it. */
    if (mul == 1 && d != floor(d)) {
        return -EINVAL;
    }
    d *= mul;
    if (d >= 9223372036854775808.0) {
        return -ERANGE;
    }
    *value = (int64_t)d;
    return 0;
}

static int64_t cvtnum(const char *s)
{
    int64_t v;
    int ret = parse_size(s, &v);

    return ret < 0 ? ret : v;
}

static void print_cvtnum_err(int64_t rc, const char *arg)
{
    if (rc == -ERANGE) {
        printf("Parsing error: argument too large -- %s\n", arg);
    } else if (rc == -EINVAL) {
        printf("Parsing error: non-numeric argument, or extraneous/"
               "unrecognized suffix -- %s\n", arg);
    } else {
        printf("Parsing error: %s -- %s\n", strerror(-rc), arg);
    }
}

/*
 * A quantity as qemu-io prints it: three decimals and a binary unit from
 * KiB up, plain bytes below; a fraction of exactly .000 is dropped.
 */
static char *size_str(double value)
{
    static const char *const units[] = {
        "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
    };
    g_autofree char *num = NULL;
    char *dot;
    int i = 0;

    while (i < 6 && value >= 1024.0) {
        value /= 1024.0;
        i++;
    }
    num = g_strdup_printf(i ? "%.3f" : "%f", value);
    dot = strchr(num, '.');
    if (dot && strspn(dot + 1, "0") == strlen(dot + 1)) {
        *dot = '\0';
    }
    return g_strdup_printf("%s %s", num, units[i]);
}

static char *time_str(int64_t ns)
{
    double secs = ns / 1e9;
    unsigned int whole = (unsigned int)secs;
    unsigned int cents = (unsigned int)((secs - whole) * 100);

    if (whole >= 3600) {
        return g_strdup_printf("%u:%02u:%02u.%02u", whole / 3600,
                               whole / 60 % 60, whole % 60, cents);
    }
    if (whole >= 60) {
        return g_strdup_printf("%02u:%02u.%02u", whole / 60, whole % 60,
                               cents);
    }
    return g_strdup_printf("%02u.%02u sec", whole, cents);
}

static void print_report(const char *op, int64_t ns, int64_t offset,
                         int64_t count, int64_t total, int ops)
{
    double secs = ns / 1e9;
    g_autofree char *s_total = NULL;
    g_autofree char *s_rate = NULL;
    g_autofree char *s_time = NULL;

    printf("%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n",
           op, total, count, offset);
    s_total = size_str(total);
    s_rate = size_str(secs > 0 ? total / secs : INFINITY);
    s_time = time_str(ns);
    printf("%s, %d ops; %s (%s/sec and %.4f ops/sec)\n", s_total, ops,
           s_time, s_rate, secs > 0 ? ops / secs : INFINITY);
}

static int parse_pattern(const char *arg)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 0);
    if (errno || end == arg || *end || v < 0 || v > 0xff) {
        printf("%s is not a valid pattern byte\n", arg);
        return -1;
    }
    return (int)v;
}

static void dump_buffer(const uint8_t *buf, int64_t offset, int64_t len)
{
    int64_t i;
    int j;

    for (i = 0; i < len; i += 16) {
        printf("%08" PRIx64 ":  ", (uint64_t)(offset + i));
        for (j = 0; j < 16 && i + j < len; j++) {
            printf("%02x ", buf[i + j]);
        }
        printf(" ");
        for (j = 0; j < 16 && i + j < len; j++) {
            putchar(isalnum(buf[i + j]) ? buf[i + j] : '.');
        }
        printf("\n");
    }
}

static const IoCmd *find_cmd(const char *name);

static void help_oneline(const IoCmd *ct)
{
    printf("%s ", ct->name);
    if (ct->args) {
        printf("%s ", ct->args);
    }
    printf("-- %s\n", ct->oneline);
}

/* A command's options or arguments were wrong: show its synopsis. */
static void print_cmd_usage(const IoCmd *ct)
{
    help_oneline(ct);
}

/* Offset and length arguments, with qemu-io's checks; false on error. */
static bool parse_off_len(const char *soff, const char *slen,
                          int64_t *offset, int64_t *count)
{
    *offset = cvtnum(soff);
    if (*offset < 0) {
        print_cvtnum_err(*offset, soff);
        return false;
    }
    *count = cvtnum(slen);
    if (*count < 0) {
        print_cvtnum_err(*count, slen);
        return false;
    }
    if (*count > BDRV_REQUEST_MAX_BYTES) {
        printf("length cannot exceed %" PRId64 ", given %s\n",
               (int64_t)BDRV_REQUEST_MAX_BYTES, slen);
        return false;
    }
    return true;
}

/* The first byte not equal to @pattern, or -1. */
static int64_t pattern_mismatch(const uint8_t *buf, int64_t len, int pattern)
{
    int64_t i;

    for (i = 0; i < len; i++) {
        if (buf[i] != pattern) {
            return i;
        }
    }
    return -1;
}

/*
 * The flags read, readv, writev, aio_read and aio_write share: -P PATTERN,
 * -q and (for reads) -v, as @optstring allows.  On a bad flag prints the
 * usage of the command named @cmd and returns false; optind is left at the
 * first operand.
 */
static bool parse_pqv_flags(int argc, char **argv, const char *cmd,
                            const char *optstring, int *pattern, bool *qflag,
                            bool *vflag)
{
    int c;

    optind = 0;
    while ((c = getopt(argc, argv, optstring)) != -1) {
        switch (c) {
        case 'P':
            *pattern = parse_pattern(optarg);
            if (*pattern < 0) {
                return false;
            }
            break;
        case 'q':
            *qflag = true;
            break;
        case 'v':
            *vflag = true;
            break;
        default:
            print_cmd_usage(find_cmd(cmd));
            return false;
        }
    }
    return true;
}

/*
 * Synchronous requests
 */

static int cmd_read(int argc, char **argv)
{
    bool vflag = false, qflag = false;
    int pattern = -1;
    int64_t offset, count, ns;
    g_autofree uint8_t *buf = NULL;
    int ret;

    if (!parse_pqv_flags(argc, argv, "read", "P:qv", &pattern, &qflag,
                         &vflag)) {
        return -EINVAL;
    }
    if (optind != argc - 2) {
        print_cmd_usage(find_cmd("read"));
        return -EINVAL;
    }
    if (!parse_off_len(argv[optind], argv[optind + 1], &offset, &count)) {
        return -EINVAL;
    }
    buf = g_malloc(MAX(count, 1));
    ns = -g_get_monotonic_time() * 1000;
    ret = blk_pread(io_blk, offset, count, buf, 0);
    ns += g_get_monotonic_time() * 1000;
    if (ret < 0) {
        printf("read failed: %s\n", strerror(-ret));
        return ret;
    }
    ret = 0;
    if (pattern >= 0 && pattern_mismatch(buf, count, pattern) >= 0) {
        printf("Pattern verification failed at offset %" PRId64 ", %"
               PRId64 " bytes\n", offset, count);
        ret = -EINVAL;
    }
    if (qflag) {
        return ret;
    }
    if (vflag) {
        dump_buffer(buf, offset, count);
    }
    print_report("read", ns, offset, count, count, 1);
    return ret;
}

static int cmd_write(int argc, char **argv)
{
    bool qflag = false, zflag = false, uflag = false, pflag = false;
    int pattern = 0xcd;
    int64_t offset, count, ns;
    g_autofree uint8_t *buf = NULL;
    int c, ret;

    optind = 0;
    while ((c = getopt(argc, argv, "P:quz")) != -1) {
        switch (c) {
        case 'P':
            pflag = true;
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 'u':
            uflag = true;
            break;
        case 'z':
            zflag = true;
            break;
        default:
            print_cmd_usage(find_cmd("write"));
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        print_cmd_usage(find_cmd("write"));
        return -EINVAL;
    }
    if (zflag && pflag) {
        printf("Only one of -z, -P, and -s can be specified at the same "
               "time\n");
        return -EINVAL;
    }
    if (uflag && !zflag) {
        printf("-u requires -z to be specified\n");
        return -EINVAL;
    }
    if (!parse_off_len(argv[optind], argv[optind + 1], &offset, &count)) {
        return -EINVAL;
    }
    if (!zflag) {
        buf = g_malloc(MAX(count, 1));
        memset(buf, pattern, count);
    }
    ns = -g_get_monotonic_time() * 1000;
    if (zflag) {
        ret = blk_pwrite_zeroes(io_blk, offset, count,
                                uflag ? BDRV_REQ_MAY_UNMAP : 0);
    } else {
        ret = blk_pwrite(io_blk, offset, count, buf, 0);
    }
    ns += g_get_monotonic_time() * 1000;
    if (ret < 0) {
        printf("write failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        print_report("wrote", ns, offset, count, count, 1);
    }
    return 0;
}

static void free_vector(QEMUIOVector *qiov)
{
    int i;

    for (i = 0; i < qiov->niov; i++) {
        g_free(qiov->iov[i].iov_base);
    }
    qemu_iovec_destroy(qiov);
}

/*
 * One buffer per length in argv[@first..@argc), filled with @pattern and
 * gathered in @qiov (free with free_vector()).  False after printing why.
 */
static bool build_vector(QEMUIOVector *qiov, char **argv, int first,
                         int argc, int pattern)
{
    int64_t total = 0;
    int i;

    qemu_iovec_init(qiov, argc - first);
    for (i = first; i < argc; i++) {
        int64_t len = cvtnum(argv[i]);
        uint8_t *p;

        if (len < 0) {
            print_cvtnum_err(len, argv[i]);
            free_vector(qiov);
            return false;
        }
        if (len > BDRV_REQUEST_MAX_BYTES - total) {
            printf("Argument '%s' exceeds maximum size %" PRId64 "\n",
                   argv[i], (int64_t)BDRV_REQUEST_MAX_BYTES);
            free_vector(qiov);
            return false;
        }
        total += len;
        p = g_malloc(MAX(len, 1));
        memset(p, pattern, len);
        qemu_iovec_add(qiov, p, len);
    }
    return true;
}

/* True if every byte of @qiov is @pattern. */
static bool vector_matches(QEMUIOVector *qiov, int pattern)
{
    int i;

    for (i = 0; i < qiov->niov; i++) {
        if (pattern_mismatch(qiov->iov[i].iov_base, qiov->iov[i].iov_len,
                             pattern) >= 0) {
            return false;
        }
    }
    return true;
}

/*
 * Vector and asynchronous requests share one coroutine body: the
 * synchronous commands poll until it is done, the aio_ ones return at once
 * and the body prints its own report when the request completes.
 */
typedef struct IoVecReq {
    bool write;
    bool aio;
    bool qflag;
    bool vflag;
    int pattern;                /* -1: no verification */
    int64_t offset;
    QEMUIOVector qiov;
    int64_t start_ns;
    int ret;
    bool done;
} IoVecReq;

static int report_vec(IoVecReq *r, int64_t ns)
{
    int ret = 0;

    if (r->ret < 0) {
        printf("%s%s failed: %s\n", r->aio ? "aio_" : "",
               r->write ? "write" : "read", strerror(-r->ret));
        return r->ret;
    }
    if (!r->write && r->pattern >= 0 &&
        !vector_matches(&r->qiov, r->pattern)) {
        printf("Pattern verification failed at offset %" PRId64 ", %zu"
               " bytes\n", r->offset, r->qiov.size);
        ret = -EINVAL;
    }
    if (r->qflag) {
        return ret;
    }
    if (r->vflag) {
        g_autofree uint8_t *flat = g_malloc(MAX(r->qiov.size, 1));

        qemu_iovec_to_buf(&r->qiov, 0, flat, r->qiov.size);
        dump_buffer(flat, r->offset, r->qiov.size);
    }
    print_report(r->write ? "wrote" : "read", ns, r->offset, r->qiov.size,
                 r->qiov.size, 1);
    return ret;
}

static void coroutine_fn iovec_co(void *opaque)
{
    IoVecReq *r = opaque;

    if (r->write) {
        r->ret = blk_co_pwritev(io_blk, r->offset, r->qiov.size, &r->qiov,
                                0);
    } else {
        r->ret = blk_co_preadv(io_blk, r->offset, r->qiov.size, &r->qiov,
                               0);
    }
    if (r->aio) {
        /* As qemu-io, a failed aio request does not change the status. */
        report_vec(r, (g_get_monotonic_time() - r->start_ns) * 1000);
        free_vector(&r->qiov);
        g_free(r);
        return;
    }
    r->done = true;
}

static int vec_command(int argc, char **argv, bool write, bool aio)
{
    const char *name = argv[0];
    bool qflag = false, vflag = false;
    int pattern = -1;
    IoVecReq *r;
    int64_t offset;
    int ret;

    if (!parse_pqv_flags(argc, argv, name, write ? "P:q" : "P:qv",
                         &pattern, &qflag, &vflag)) {
        return -EINVAL;
    }
    if (optind > argc - 2) {
        print_cmd_usage(find_cmd(name));
        return -EINVAL;
    }
    offset = cvtnum(argv[optind]);
    if (offset < 0) {
        print_cvtnum_err(offset, argv[optind]);
        return -EINVAL;
    }
    r = g_new0(IoVecReq, 1);
    r->write = write;
    r->aio = aio;
    r->qflag = qflag;
    r->vflag = vflag;
    r->offset = offset;
    if (write) {
        r->pattern = pattern < 0 ? 0xcd : pattern;
    } else {
        r->pattern = pattern;
    }
    if (!build_vector(&r->qiov, argv, optind + 1, argc,
                      write ? r->pattern : 0)) {
        g_free(r);
        return -EINVAL;
    }
    r->start_ns = g_get_monotonic_time();
    if (aio) {
        qemu_coroutine_enter(qemu_coroutine_create(iovec_co, r));
        return 0;
    }
    bdrv_poll_co(iovec_co, r, &r->done);
    ret = report_vec(r, (g_get_monotonic_time() - r->start_ns) * 1000);
    free_vector(&r->qiov);
    g_free(r);
    return ret;
}

static int cmd_readv(int argc, char **argv)
{
    return vec_command(argc, argv, false, false);
}

static int cmd_writev(int argc, char **argv)
{
    return vec_command(argc, argv, true, false);
}

static int cmd_aio_read(int argc, char **argv)
{
    return vec_command(argc, argv, false, true);
}

static int cmd_aio_write(int argc, char **argv)
{
    return vec_command(argc, argv, true, true);
}

static int cmd_aio_flush(int argc, char **argv)
{
    blk_drain(io_blk);
    return 0;
}

static int cmd_discard(int argc, char **argv)
{
    bool qflag = false;
    int64_t offset, count, ns;
    int c, ret;

    optind = 0;
    while ((c = getopt(argc, argv, "q")) != -1) {
        switch (c) {
        case 'q':
            qflag = true;
            break;
        default:
            print_cmd_usage(find_cmd("discard"));
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        print_cmd_usage(find_cmd("discard"));
        return -EINVAL;
    }
    if (!parse_off_len(argv[optind], argv[optind + 1], &offset, &count)) {
        return -EINVAL;
    }
    ns = -g_get_monotonic_time() * 1000;
    ret = blk_pdiscard(io_blk, offset, count);
    ns += g_get_monotonic_time() * 1000;
    if (ret < 0) {
        printf("discard failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        print_report("discard", ns, offset, count, count, 1);
    }
    return 0;
}

static int cmd_flush(int argc, char **argv)
{
    return blk_flush(io_blk);
}

/*
 * Allocation: the status flags of the root node, a range at a time.  A
 * range the node itself decides (data or zeroes) counts as allocated.
 */
static int is_allocated(int64_t offset, int64_t bytes, int64_t *pnum)
{
    int ret = bdrv_block_status(blk_bs(io_blk), offset, bytes, pnum, NULL,
                                NULL);

    if (ret < 0) {
        return ret;
    }
    return !!(ret & (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_DATA |
                     BDRV_BLOCK_ZERO));
}

static int cmd_alloc(int argc, char **argv)
{
    int64_t offset, count = 512, remaining, sum = 0, pos;
    g_autofree char *s_off = NULL;

    offset = cvtnum(argv[1]);
    if (offset < 0) {
        print_cvtnum_err(offset, argv[1]);
        return offset;
    }
    if (argc == 3) {
        count = cvtnum(argv[2]);
        if (count < 0) {
            print_cvtnum_err(count, argv[2]);
            return count;
        }
    }
    remaining = count;
    pos = offset;
    while (remaining > 0) {
        int64_t num;
        int ret = is_allocated(pos, remaining, &num);

        if (ret < 0) {
            printf("is_allocated failed: %s\n", strerror(-ret));
            return ret;
        }
        if (num == 0) {
            break;
        }
        if (ret) {
            sum += num;
        }
        pos += num;
        remaining -= num;
    }
    s_off = size_str(offset);
    printf("%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n", sum,
           count, s_off);
    return 0;
}

static int cmd_map(int argc, char **argv)
{
    int64_t offset = 0, length = blk_getlength(io_blk);

    if (length < 0) {
        error_report("Failed to query image length: %s", strerror(-length));
        return length;
    }
    while (offset < length) {
        int64_t num = 0, more;
        int first = is_allocated(offset, length - offset, &num);
        g_autofree char *s_len = NULL;
        g_autofree char *s_off = NULL;

        if (first < 0) {
            error_report("Failed to get allocation status: %s",
                         strerror(-first));
            return first;
        }
        /* Merge following ranges of the same kind into one line. */
        while (offset + num < length) {
            int next = is_allocated(offset + num, length - offset - num,
                                    &more);

            if (next < 0) {
                error_report("Failed to get allocation status: %s",
                             strerror(-next));
                return next;
            }
            if (next != first || more == 0) {
                break;
            }
            num += more;
        }
        if (num == 0) {
            break;
        }
        s_len = size_str(num);
        s_off = size_str(offset);
        printf("%s (0x%" PRIx64 ") bytes %s allocated at offset %s (0x%"
               PRIx64 ")\n", s_len, num, first ? "   " : "not", s_off,
               offset);
        offset += num;
    }
    return 0;
}

static int cmd_length(int argc, char **argv)
{
    int64_t size = blk_getlength(io_blk);
    g_autofree char *s = NULL;

    if (size < 0) {
        printf("getlength: %s\n", strerror(-size));
        return size;
    }
    s = size_str(size);
    printf("%s\n", s);
    return 0;
}

static int cmd_info(int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(io_blk);
    BlockDriverInfo bdi = { 0 };
    g_autofree char *s_cluster = NULL;
    g_autofree char *s_vm = NULL;
    int ret;

    printf("format name: %s\n", bdrv_get_format_name(bs));
    ret = bdrv_get_info(bs, &bdi);
    if (ret) {
        return 0;
    }
    s_cluster = size_str(bdi.cluster_size);
    s_vm = size_str(0);
    printf("cluster size: %s\n", s_cluster);
    printf("vm state offset: %s\n", s_vm);
    return 0;
}

/*
 * Opening and closing
 */

typedef struct OpenOpts {
    bool read_only;
    bool force_share;
    const char *cache;          /* NULL: writeback */
    const char *aio;            /* NULL: the driver's default */
    const char *discard;        /* NULL: unmap, qemu-io's default */
} OpenOpts;

/* Set @key to @value in @obj unless the user already set it. */
static void set_default(JsonObject *obj, const char *key, const char *value)
{
    if (!json_object_has_member(obj, key)) {
        json_object_set_string_member(obj, key, value);
    }
}

static bool apply_cache_mode(JsonObject *obj, const char *mode,
                             Error **errp)
{
    bool direct, no_flush = false;
    JsonObject *cache;

    if (!strcmp(mode, "none") || !strcmp(mode, "off")) {
        direct = true;
    } else if (!strcmp(mode, "directsync")) {
        direct = true;
    } else if (!strcmp(mode, "writeback") || !strcmp(mode, "writethrough")) {
        direct = false;
    } else if (!strcmp(mode, "unsafe")) {
        direct = false;
        no_flush = true;
    } else {
        error_setg(errp, "Invalid cache option: %s", mode);
        return false;
    }
    if (!json_object_has_member(obj, "cache")) {
        json_object_set_object_member(obj, "cache", json_object_new());
    }
    cache = json_object_get_object_member(obj, "cache");
    if (!cache) {
        return true;
    }
    set_default(cache, "direct", direct ? "on" : "off");
    set_default(cache, "no-flush", no_flush ? "on" : "off");
    return true;
}

/*
 * Open @name into io_blk.  @fmt NULL means probe (only raw is known, so
 * it takes raw, and warns as qemu-io does when opening for writing); with
 * @image_opts, @name is a keyval string of BlockdevOptions.
 */
static bool open_image(const char *name, const char *fmt, bool image_opts,
                       const OpenOpts *o, Error **errp)
{
    g_autoptr(JsonNode) tree = NULL;
    g_autoptr(BlockdevOptions) options = NULL;
    JsonObject *top;
    JsonObject *proto;
    BlockDriverState *bs;
    BlockBackend *blk;
    QapiInput in;
    uint64_t perm, shared;

    if (image_opts) {
        tree = keyval_parse(name, NULL, NULL, errp);
        if (!tree) {
            return false;
        }
        top = json_node_get_object(tree);
    } else {
        /* The warning is about writes, so a read-only open has none. */
        if (!fmt && !o->read_only) {
            error_printf("WARNING: Image format was not specified for '%s' "
                         "and probing guessed raw.\n", name);
            error_printf("         Automatically detecting the format is "
                         "dangerous for raw images, write operations on "
                         "block 0 will be restricted.\n"
                         "         Specify the 'raw' format explicitly to "
                         "remove the restrictions.\n");
        }
        if (!fmt) {
            fmt = "raw";
        }
        if (!bdrv_find_format(fmt)) {
            error_setg(errp, "Unknown driver '%s'", fmt);
            return false;
        }
        tree = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(tree, json_object_new());
        top = json_node_get_object(tree);
        json_object_set_string_member(top, "driver", fmt);
        if (strcmp(fmt, "file")) {
            proto = json_object_new();
            json_object_set_string_member(proto, "driver", "file");
            json_object_set_string_member(proto, "filename", name);
            json_object_set_object_member(top, "file", proto);
        } else {
            json_object_set_string_member(top, "filename", name);
        }
    }
    /* A file child given by filename alone is a "file" node. */
    if (json_object_has_member(top, "file")) {
        JsonNode *f = json_object_get_member(top, "file");

        if (JSON_NODE_HOLDS_OBJECT(f)) {
            set_default(json_node_get_object(f), "driver", "file");
        }
    }
    set_default(top, "read-only", o->read_only ? "on" : "off");
    set_default(top, "discard", o->discard ? o->discard : "unmap");
    if (o->cache && !apply_cache_mode(top, o->cache, errp)) {
        return false;
    }
    if (o->aio) {
        JsonObject *leaf = top;
        JsonNode *f = json_object_get_member(top, "file");

        if (f && JSON_NODE_HOLDS_OBJECT(f)) {
            leaf = json_node_get_object(f);
        }
        set_default(leaf, "aio", o->aio);
    }

    qapi_input_init(&in, true);
    if (!qapi_input_BlockdevOptions(&in, NULL, tree, &options, errp)) {
        return false;
    }
    bs = bdrv_open_blockdev(options, errp);
    if (!bs) {
        return false;
    }
    perm = BLK_PERM_CONSISTENT_READ;
    if (!bdrv_is_read_only(bs)) {
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
    }
    shared = o->force_share ? BLK_PERM_ALL
                            : BLK_PERM_CONSISTENT_READ |
                              BLK_PERM_WRITE_UNCHANGED;
    blk = blk_new(qemu_get_aio_context(), perm, shared);
    if (blk_insert_bs(blk, bs, errp) < 0) {
        blk_unref(blk);
        bdrv_unref(bs);
        return false;
    }
    bdrv_unref(bs);
    io_blk = blk;
    return true;
}

static void close_image(void)
{
    if (io_blk) {
        blk_drain(io_blk);
        blk_unref(io_blk);
        io_blk = NULL;
    }
}

static bool check_aio_mode(const char *mode, Error **errp)
{
    if (strcmp(mode, "threads") && strcmp(mode, "native") &&
        strcmp(mode, "io_uring")) {
        error_setg(errp, "Invalid aio option: %s", mode);
        return false;
    }
    return true;
}

/* qemu-io's -d: "off"/"ignore" or "on"/"unmap", as the option value. */
static const char *parse_discard_mode(const char *mode, Error **errp)
{
    if (!strcmp(mode, "off") || !strcmp(mode, "ignore")) {
        return "ignore";
    }
    if (!strcmp(mode, "on") || !strcmp(mode, "unmap")) {
        return "unmap";
    }
    error_setg(errp, "Invalid discard option: %s", mode);
    return NULL;
}

static bool check_cache_mode(const char *mode, Error **errp)
{
    g_autoptr(JsonNode) scratch = json_node_new(JSON_NODE_OBJECT);

    json_node_take_object(scratch, json_object_new());
    return apply_cache_mode(json_node_get_object(scratch), mode, errp);
}

static int cmd_open(int argc, char **argv)
{
    OpenOpts o = { 0 };
    Error *err = NULL;
    int c;

    if (io_blk) {
        error_report("file open already, try 'help close'");
        return -EBUSY;
    }
    optind = 0;
    while ((c = getopt(argc, argv, "rnUt:d:")) != -1) {
        switch (c) {
        case 'r':
            o.read_only = true;
            break;
        case 'n':
            o.cache = "none";
            break;
        case 'U':
            o.force_share = true;
            break;
        case 't':
            if (!check_cache_mode(optarg, &err)) {
                error_report_err(err);
                return -EINVAL;
            }
            o.cache = optarg;
            break;
        case 'd':
            o.discard = parse_discard_mode(optarg, &err);
            if (!o.discard) {
                error_report_err(err);
                return -EINVAL;
            }
            break;
        default:
            print_cmd_usage(find_cmd("open"));
            return -EINVAL;
        }
    }
    if (optind != argc - 1) {
        print_cmd_usage(find_cmd("open"));
        return -EINVAL;
    }
    if (!open_image(argv[optind], NULL, false, &o, &err)) {
        error_reportf_err(err, "can't open device %s: ", argv[optind]);
        return -EINVAL;
    }
    return 0;
}

static int cmd_close(int argc, char **argv)
{
    close_image();
    return 0;
}

static int cmd_help(int argc, char **argv);

/* Sorted by name, as help lists them. */
static const IoCmd io_cmds[] = {
    { "aio_flush", cmd_aio_flush, 0, 0, false, false, NULL,
      "completes all outstanding aio requests" },
    { "aio_read", cmd_aio_read, 2, -1, false, false,
      "[-Ciqv] [-P pattern] off len [len..]",
      "asynchronously reads a number of bytes" },
    { "aio_write", cmd_aio_write, 2, -1, false, true,
      "[-Cfiquz] [-P pattern] off len [len..]",
      "asynchronously writes a number of bytes" },
    { "alloc", cmd_alloc, 1, 2, false, false, "offset [count]",
      "checks if offset is allocated in the file" },
    { "close", cmd_close, 0, 0, false, false, NULL,
      "close the current open file" },
    { "discard", cmd_discard, 2, -1, false, true, "[-Cq] off len",
      "discards a number of bytes at a specified offset" },
    { "flush", cmd_flush, 0, 0, false, false, NULL,
      "flush all in-core file state to disk" },
    { "help", cmd_help, 0, 1, true, false, "[command]",
      "help for one or all commands" },
    { "info", cmd_info, 0, 0, false, false, NULL,
      "prints information about the current file" },
    { "length", cmd_length, 0, 0, false, false, NULL,
      "gets the length of the current file" },
    { "map", cmd_map, 0, 0, false, false, "",
      "prints the allocated areas of a file" },
    { "open", cmd_open, 1, -1, true, false,
      "[-rsCnkU] [-t cache] [-d discard] [-o options] [path]",
      "open the file specified by path" },
    { "read", cmd_read, 2, -1, false, false,
      "[-abCqv] [-P pattern [-s off] [-l len]] off len",
      "reads a number of bytes at a specified offset" },
    { "readv", cmd_readv, 2, -1, false, false,
      "[-Cqv] [-P pattern] off len [len..]",
      "reads a number of bytes at a specified offset" },
    { "write", cmd_write, 2, -1, false, true,
      "[-bcCfnquz] [-P pattern | -s source_file] off len",
      "writes a number of bytes at a specified offset" },
    { "writev", cmd_writev, 2, -1, false, true,
      "[-Cfq] [-P pattern] off len [len..]",
      "writes a number of bytes at a specified offset" },
};

static const IoCmd *find_cmd(const char *name)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(io_cmds); i++) {
        if (!strcmp(io_cmds[i].name, name)) {
            return &io_cmds[i];
        }
    }
    return NULL;
}

static int cmd_help(int argc, char **argv)
{
    const IoCmd *ct;
    size_t i;

    if (argc == 1) {
        for (i = 0; i < G_N_ELEMENTS(io_cmds); i++) {
            help_oneline(&io_cmds[i]);
        }
        printf("\nUse 'help commandname' for extended help.\n");
        return 0;
    }
    ct = find_cmd(argv[1]);
    if (!ct) {
        printf("command %s not found\n", argv[1]);
        return -EINVAL;
    }
    help_oneline(ct);
    return 0;
}

/* Run one -c string; a negative return makes the exit status 1. */
static int run_command(const char *line)
{
    g_auto(GStrv) argv = NULL;
    const IoCmd *ct;
    int argc;

    if (!g_shell_parse_argv(line, &argc, &argv, NULL)) {
        /* Blank: nothing to do, as qemu-io. */
        return 0;
    }
    ct = find_cmd(argv[0]);
    if (!ct) {
        fprintf(stderr, "command \"%s\" not found\n", argv[0]);
        return -EINVAL;
    }
    if (argc - 1 < ct->argmin ||
        (ct->argmax != -1 && argc - 1 > ct->argmax)) {
        if (ct->argmax == -1) {
            fprintf(stderr, "bad argument count %d to %s, expected at least "
                    "%d arguments\n", argc - 1, ct->name, ct->argmin);
        } else if (ct->argmin == ct->argmax) {
            fprintf(stderr, "bad argument count %d to %s, expected %d "
                    "arguments\n", argc - 1, ct->name, ct->argmin);
        } else {
            fprintf(stderr, "bad argument count %d to %s, expected between "
                    "%d and %d arguments\n", argc - 1, ct->name,
                    ct->argmin, ct->argmax);
        }
        return -EINVAL;
    }
    if (!ct->global && !io_blk) {
        fprintf(stderr, "no file open, try 'help open'\n");
        return -EINVAL;
    }
    if (ct->writes && bdrv_is_read_only(blk_bs(io_blk))) {
        error_report("Block node is read-only");
        return -EACCES;
    }
    return ct->func(argc, argv);
}

static void usage(void)
{
    printf("Usage: qblock-io [OPTIONS]... [-c STRING]... [file]\n"
           "Run qemu-io's commands on a block image\n"
           "\n"
           "  --image-opts         treat file as option string\n"
           "  -c, --cmd STRING     execute command with its arguments\n"
           "                       from the given string\n"
           "  -f, --format FMT     specifies the block driver to use\n"
           "  -r, --read-only      export read-only\n"
           "  -n, --nocache        disable host cache, short for -t none\n"
           "  -i, --aio=MODE       use AIO mode (threads, native or "
           "io_uring)\n"
           "  -t, --cache=MODE     use the given cache mode for the image\n"
           "  -d, --discard=MODE   use the given discard mode for the image\n"
           "  -U, --force-share    force shared permissions\n"
           "  -h, --help           display this help and exit\n"
           "\n"
           "See 'qblock-io -c help' for information on available commands.\n");
}

enum {
    OPT_IMAGE_OPTS = 256,
};

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "cmd", required_argument, NULL, 'c' },
        { "format", required_argument, NULL, 'f' },
        { "read-only", no_argument, NULL, 'r' },
        { "nocache", no_argument, NULL, 'n' },
        { "aio", required_argument, NULL, 'i' },
        { "cache", required_argument, NULL, 't' },
        { "discard", required_argument, NULL, 'd' },
        { "force-share", no_argument, NULL, 'U' },
        { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
        { NULL, 0, NULL, 0 }
    };
    g_autoptr(GPtrArray) cmds = g_ptr_array_new();
    OpenOpts o = { 0 };
    const char *fmt = NULL;
    bool image_opts = false;
    Error *err = NULL;
    int status = 0;
    guint i;
    int c;

    g_set_prgname("qblock-io");
    while ((c = getopt_long(argc, argv, "+hc:f:rni:t:d:U", long_opts,
                            NULL)) != -1) {
        switch (c) {
        case 'c':
            g_ptr_array_add(cmds, optarg);
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'r':
            o.read_only = true;
            break;
        case 'n':
            o.cache = "none";
            break;
        case 't':
            if (!check_cache_mode(optarg, &err)) {
                error_report_err(err);
                return 1;
            }
            o.cache = optarg;
            break;
        case 'i':
            if (!check_aio_mode(optarg, &err)) {
                error_report_err(err);
                return 1;
            }
            o.aio = optarg;
            break;
        case 'd':
            o.discard = parse_discard_mode(optarg, &err);
            if (!o.discard) {
                error_report_err(err);
                return 1;
            }
            break;
        case 'U':
            o.force_share = true;
            break;
        case OPT_IMAGE_OPTS:
            image_opts = true;
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 1;
        }
    }
    if (argc - optind > 1) {
        usage();
        return 1;
    }
    if (image_opts && fmt) {
        error_report("--image-opts and -f are mutually exclusive");
        return 1;
    }

    qemu_init_main_loop(&error_fatal);
    bdrv_init();

    if (optind < argc) {
        if (!open_image(argv[optind], fmt, image_opts, &o, &err)) {
            error_reportf_err(err, "can't open device %s: ", argv[optind]);
            return 1;
        }
    }
    for (i = 0; i < cmds->len; i++) {
        if (run_command(g_ptr_array_index(cmds, i)) < 0) {
            status = 1;
        }
    }
    close_image();
    return status;
}
