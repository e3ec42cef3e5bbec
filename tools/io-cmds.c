/*
 * io-cmds.c: qemu-io's commands over one BlockBackend (see
 * include/block/io-cmds.h for who uses them and where output goes).
 *
 * Every command parses its own options with getopt(), as qemu-io's do,
 * so that its messages and its synopsis on a bad option are qemu-io's.
 * The statistics lines, the hex dump and the size units are printed
 * exactly as qemu-io prints them; tests filter the timings.
 *
 * Each command gets the IoCmdContext: the backend (ctx->blk) and the two
 * output streams.  Helpers that only print take the stream they print to,
 * so that an aio request, which prints when it completes, keeps its own
 * copy of it rather than a pointer to a context that may be gone.
 */
#include "qemu/osdep.h"

#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>

#include "block/io-cmds.h"
#include "block/qapi.h"
#include "qapi/error.h"
#include "qapi-types.h"

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

static void print_cvtnum_err(FILE *out, int64_t rc, const char *arg)
{
    if (rc == -ERANGE) {
        fprintf(out, "Parsing error: argument too large -- %s\n", arg);
    } else if (rc == -EINVAL) {
        fprintf(out, "Parsing error: non-numeric argument, or extraneous/"
               "unrecognized suffix -- %s\n", arg);
    } else {
        fprintf(out, "Parsing error: %s -- %s\n", strerror(-rc), arg);
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

/*
 * A duration as qemu-io prints it: "SS.CC sec" under a minute, then
 * "MM:SS.CC" and "H:MM:SS.CC"; @fixed always takes the last form (-C).
 */
static char *time_str(int64_t ns, bool fixed)
{
    double secs = ns / 1e9;
    unsigned int whole = (unsigned int)secs;
    unsigned int cents = (unsigned int)((secs - whole) * 100);

    if (fixed || whole >= 3600) {
        return g_strdup_printf("%u:%02u:%02u.%02u", whole / 3600,
                               whole / 60 % 60, whole % 60, cents);
    }
    if (whole >= 60) {
        return g_strdup_printf("%02u:%02u.%02u", whole / 60, whole % 60,
                               cents);
    }
    return g_strdup_printf("%02u.%02u sec", whole, cents);
}

/*
 * The statistics after a request: two lines for people or, with @cflag,
 * one line "bytes,ops,time,bytes/sec,ops/sec" for scripts.
 */
static void print_report(FILE *out, const char *op, int64_t ns, int64_t offset,
                         int64_t count, int64_t total, int ops, bool cflag)
{
    double secs = ns / 1e9;
    double rate = secs > 0 ? total / secs : INFINITY;
    double op_rate = secs > 0 ? ops / secs : INFINITY;
    g_autofree char *s_total = NULL;
    g_autofree char *s_rate = NULL;
    g_autofree char *s_time = time_str(ns, cflag);

    if (cflag) {
        fprintf(out, "%" PRId64 ",%d,%s,%.3f,%.3f\n", total, ops, s_time, rate,
               op_rate);
        return;
    }
    fprintf(out, "%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n",
           op, total, count, offset);
    s_total = size_str(total);
    s_rate = size_str(rate);
    fprintf(out, "%s, %d ops; %s (%s/sec and %.4f ops/sec)\n", s_total, ops,
           s_time, s_rate, op_rate);
}

static int parse_pattern(FILE *out, const char *arg)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 0);
    if (errno || end == arg || *end || v < 0 || v > 0xff) {
        fprintf(out, "%s is not a valid pattern byte\n", arg);
        return -1;
    }
    return (int)v;
}

static void dump_buffer(FILE *out, const uint8_t *buf, int64_t offset, int64_t len)
{
    int64_t i;
    int j;

    for (i = 0; i < len; i += 16) {
        fprintf(out, "%08" PRIx64 ":  ", (uint64_t)(offset + i));
        for (j = 0; j < 16 && i + j < len; j++) {
            fprintf(out, "%02x ", buf[i + j]);
        }
        fprintf(out, " ");
        for (j = 0; j < 16 && i + j < len; j++) {
            fputc(isalnum(buf[i + j]) ? buf[i + j] : '.', out);
        }
        fprintf(out, "\n");
    }
}

/* The summary line of @ct, which the user called @name. */
static void help_oneline(FILE *out, const char *name, const IoCmd *ct)
{
    fprintf(out, "%s ", name);
    if (ct->args) {
        fprintf(out, "%s ", ct->args);
    }
    fprintf(out, "-- %s\n", ct->oneline);
}

/*
 * Offset and length arguments, with qemu-io's checks; false on error.
 * A length above BDRV_REQUEST_MAX_BYTES is refused, and the message then
 * carries @limit_note, unless @limit_note is NULL (no limit).
 */
static bool parse_off_len(FILE *out, const char *soff, const char *slen,
                          int64_t *offset, int64_t *count,
                          const char *limit_note)
{
    *offset = cvtnum(soff);
    if (*offset < 0) {
        print_cvtnum_err(out, *offset, soff);
        return false;
    }
    *count = cvtnum(slen);
    if (*count < 0) {
        print_cvtnum_err(out, *count, slen);
        return false;
    }
    if (limit_note && *count > BDRV_REQUEST_MAX_BYTES) {
        fprintf(out, "length cannot exceed %" PRId64 "%s, given %s\n",
               (int64_t)BDRV_REQUEST_MAX_BYTES, limit_note, slen);
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

/* The flags of the vector and aio commands. */
typedef struct VecFlags {
    int pattern;                /* -P; -1 if not given */
    bool cflag;                 /* -C: statistics for scripts */
    bool qflag;                 /* -q: no statistics */
    bool vflag;                 /* -v: dump the data read */
    BdrvRequestFlags flags;     /* -f: BDRV_REQ_FUA */
} VecFlags;

/*
 * Parse the flags readv, writev, aio_read and aio_write share (-C, -f,
 * -P PATTERN, -q, -v), as @optstring allows.  On a bad flag prints the
 * usage of the command named @cmd and returns false; optind is left at
 * the first operand.
 */
static bool parse_vec_flags(IoCmdContext *ctx, int argc, char **argv, const char *cmd,
                            const char *optstring, VecFlags *f)
{
    int c;

    optind = 0;
    while ((c = getopt(argc, argv, optstring)) != -1) {
        switch (c) {
        case 'C':
            f->cflag = true;
            break;
        case 'f':
            f->flags |= BDRV_REQ_FUA;
            break;
        case 'P':
            f->pattern = parse_pattern(ctx->out, optarg);
            if (f->pattern < 0) {
                return false;
            }
            break;
        case 'q':
            f->qflag = true;
            break;
        case 'v':
            f->vflag = true;
            break;
        default:
            io_cmd_print_usage(ctx, cmd);
            return false;
        }
    }
    return true;
}

/*
 * -b (the VM state area) and -c (compressed clusters) take whole sectors,
 * as in qemu-io; false after printing which argument is not aligned.
 */
static bool check_sector_aligned(FILE *out, const char *soff, int64_t offset,
                                 const char *scount, int64_t count)
{
    if (!QEMU_IS_ALIGNED(offset, BDRV_SECTOR_SIZE)) {
        fprintf(out, "%s is not a sector-aligned value for 'offset'\n", soff);
        return false;
    }
    if (!QEMU_IS_ALIGNED(count, BDRV_SECTOR_SIZE)) {
        fprintf(out, "%s is not a sector-aligned value for 'count'\n", scount);
        return false;
    }
    return true;
}

/*
 * Synchronous requests
 */

static int cmd_read(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    bool bflag = false, cflag = false, qflag = false, vflag = false;
    bool sflag = false, lflag = false;
    int pattern = -1;
    int64_t offset, count, ns, p_off = 0, p_len = 0, bad;
    g_autofree uint8_t *buf = NULL;
    int c, ret;

    optind = 0;
    while ((c = getopt(argc, argv, "bCl:pP:qs:v")) != -1) {
        switch (c) {
        case 'b':
            bflag = true;
            break;
        case 'C':
            cflag = true;
            break;
        case 'l':
            lflag = true;
            p_len = cvtnum(optarg);
            if (p_len < 0) {
                print_cvtnum_err(out, p_len, optarg);
                return -EINVAL;
            }
            break;
        case 'p':
            /* Accepted and ignored, as by qemu-io. */
            break;
        case 'P':
            pattern = parse_pattern(out, optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 's':
            sflag = true;
            p_off = cvtnum(optarg);
            if (p_off < 0) {
                print_cvtnum_err(out, p_off, optarg);
                return -EINVAL;
            }
            break;
        case 'v':
            vflag = true;
            break;
        default:
            io_cmd_print_usage(ctx, "read");
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        io_cmd_print_usage(ctx, "read");
        return -EINVAL;
    }
    if (!parse_off_len(out, argv[optind], argv[optind + 1], &offset, &count,
                       "")) {
        return -EINVAL;
    }
    /* -s and -l narrow the verification, so they need -P. */
    if (pattern < 0 && (sflag || lflag)) {
        io_cmd_print_usage(ctx, "read");
        return -EINVAL;
    }
    if (!lflag) {
        p_len = count - p_off;
    }
    if (p_off > count || p_len < 0 || p_len > count - p_off) {
        fprintf(out, "pattern verification range exceeds end of read data\n");
        return -EINVAL;
    }
    if (bflag) {
        if (!check_sector_aligned(out, argv[optind], offset, argv[optind + 1],
                                  count)) {
            return -EINVAL;
        }
        /* The block layer keeps no VM state: no node can read it. */
        fprintf(out, "read failed: %s\n", strerror(ENOTSUP));
        return -ENOTSUP;
    }
    buf = g_malloc(MAX(count, 1));
    ns = -g_get_monotonic_time() * 1000;
    ret = blk_pread(ctx->blk, offset, count, buf, 0);
    ns += g_get_monotonic_time() * 1000;
    if (ret < 0) {
        fprintf(out, "read failed: %s\n", strerror(-ret));
        return ret;
    }
    ret = 0;
    if (pattern >= 0) {
        bad = pattern_mismatch(buf + p_off, p_len, pattern);
        if (bad >= 0) {
            fprintf(out, "Pattern verification failed at offset %" PRId64 ", %"
                   PRId64 " bytes\n", offset + p_off, p_len);
            ret = -EINVAL;
        }
    }
    if (qflag) {
        return ret;
    }
    if (vflag) {
        dump_buffer(out, buf, offset, count);
    }
    print_report(out, "read", ns, offset, count, count, 1, cflag);
    return ret;
}

/*
 * A buffer of @len bytes filled from the file @name, its contents
 * repeated as often as needed; NULL after printing why.
 */
static uint8_t *buffer_from_file(FILE *err, const char *name, int64_t len)
{
    g_autofree uint8_t *buf = g_malloc(MAX(len, 1));
    FILE *f = fopen(name, "r");
    size_t got;
    int64_t done;

    if (!f) {
        fprintf(err, "%s: %s\n", name, strerror(errno));
        return NULL;
    }
    got = fread(buf, 1, len, f);
    if (ferror(f)) {
        fprintf(err, "%s: %s\n", name, strerror(errno));
        fclose(f);
        return NULL;
    }
    fclose(f);
    if (got == 0 && len > 0) {
        fprintf(err, "%s: file is empty\n", name);
        return NULL;
    }
    for (done = got; done < len; done += MIN((int64_t)got, len - done)) {
        memcpy(buf + done, buf, MIN((int64_t)got, len - done));
    }
    return g_steal_pointer(&buf);
}

static int cmd_write(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    FILE *err = ctx->err;
    bool bflag = false, cflag = false, qflag = false, zflag = false;
    bool compress = false, pflag = false;
    const char *source = NULL;
    BdrvRequestFlags flags = 0;
    int pattern = 0xcd;
    int64_t offset, count, ns;
    g_autofree uint8_t *buf = NULL;
    int c, ret;

    optind = 0;
    while ((c = getopt(argc, argv, "bcCfnpP:qs:uz")) != -1) {
        switch (c) {
        case 'b':
            bflag = true;
            break;
        case 'c':
            compress = true;
            break;
        case 'C':
            cflag = true;
            break;
        case 'f':
            flags |= BDRV_REQ_FUA;
            break;
        case 'n':
            flags |= BDRV_REQ_NO_FALLBACK;
            break;
        case 'p':
            /* Accepted and ignored, as by qemu-io. */
            break;
        case 'P':
            pflag = true;
            pattern = parse_pattern(out, optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 's':
            source = optarg;
            break;
        case 'u':
            flags |= BDRV_REQ_MAY_UNMAP;
            break;
        case 'z':
            zflag = true;
            break;
        default:
            io_cmd_print_usage(ctx, "write");
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        io_cmd_print_usage(ctx, "write");
        return -EINVAL;
    }
    if (bflag && zflag) {
        fprintf(out, "-b and -z cannot be specified at the same time\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_FUA) && (bflag || compress)) {
        fprintf(out, "-f and -b or -c cannot be specified at the same time\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_NO_FALLBACK) && !zflag) {
        fprintf(out, "-n requires -z to be specified\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_MAY_UNMAP) && !zflag) {
        fprintf(out, "-u requires -z to be specified\n");
        return -EINVAL;
    }
    if (zflag + pflag + !!source > 1) {
        fprintf(out, "Only one of -z, -P, and -s can be specified at the same "
               "time\n");
        return -EINVAL;
    }
    if (!parse_off_len(out, argv[optind], argv[optind + 1], &offset, &count,
                       (flags & BDRV_REQ_NO_FALLBACK) ? NULL
                                                      : " without -n")) {
        return -EINVAL;
    }
    if ((bflag || compress) &&
        !check_sector_aligned(out, argv[optind], offset, argv[optind + 1],
                              count)) {
        return -EINVAL;
    }
    if (!zflag) {
        if (source) {
            buf = buffer_from_file(err, source, count);
            if (!buf) {
                return -EINVAL;
            }
        } else {
            buf = g_malloc(MAX(count, 1));
            memset(buf, pattern, count);
        }
        if (bflag || compress) {
            /*
             * No node of this block layer stores VM state or compressed
             * clusters, so these fail as they do on QEMU's raw format.
             */
            fprintf(out, "write failed: %s\n", strerror(ENOTSUP));
            return -ENOTSUP;
        }
    }
    ns = -g_get_monotonic_time() * 1000;
    if (zflag) {
        /* As qemu-io, -c with -z writes plain zeroes. */
        ret = blk_pwrite_zeroes(ctx->blk, offset, count, flags);
    } else {
        ret = blk_pwrite(ctx->blk, offset, count, buf, flags);
    }
    ns += g_get_monotonic_time() * 1000;
    if (ret < 0) {
        fprintf(out, "write failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        print_report(out, "wrote", ns, offset, count, count, 1, cflag);
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
static bool build_vector(FILE *out, QEMUIOVector *qiov, char **argv, int first,
                         int argc, int pattern)
{
    int64_t total = 0;
    int i;

    qemu_iovec_init(qiov, argc - first);
    for (i = first; i < argc; i++) {
        int64_t len = cvtnum(argv[i]);
        uint8_t *p;

        if (len < 0) {
            print_cvtnum_err(out, len, argv[i]);
            free_vector(qiov);
            return false;
        }
        if (len > BDRV_REQUEST_MAX_BYTES - total) {
            fprintf(out, "Argument '%s' exceeds maximum size %" PRId64 "\n",
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
    BlockBackend *blk;
    FILE *out;                  /* where the report goes */
    bool write;
    bool aio;
    bool cflag;
    bool qflag;
    bool vflag;
    BdrvRequestFlags flags;
    int pattern;                /* -1: no verification */
    int64_t offset;
    QEMUIOVector qiov;
    int64_t start_ns;
    int ret;
    bool done;
} IoVecReq;

static int report_vec(IoVecReq *r, int64_t ns)
{
    FILE *out = r->out;
    int ret = 0;

    if (r->ret < 0) {
        fprintf(out, "%s%s failed: %s\n", r->aio ? "aio_" : "",
               r->write ? "write" : "read", strerror(-r->ret));
        return r->ret;
    }
    if (!r->write && r->pattern >= 0 &&
        !vector_matches(&r->qiov, r->pattern)) {
        fprintf(out, "Pattern verification failed at offset %" PRId64 ", %zu"
               " bytes\n", r->offset, r->qiov.size);
        ret = -EINVAL;
    }
    if (r->qflag) {
        return ret;
    }
    if (r->vflag) {
        g_autofree uint8_t *flat = g_malloc(MAX(r->qiov.size, 1));

        qemu_iovec_to_buf(&r->qiov, 0, flat, r->qiov.size);
        dump_buffer(out, flat, r->offset, r->qiov.size);
    }
    print_report(out, r->write ? "wrote" : "read", ns, r->offset, r->qiov.size,
                 r->qiov.size, 1, r->cflag);
    return ret;
}

static void coroutine_fn iovec_co(void *opaque)
{
    IoVecReq *r = opaque;

    if (r->write) {
        r->ret = blk_co_pwritev(r->blk, r->offset, r->qiov.size, &r->qiov,
                                r->flags);
    } else {
        r->ret = blk_co_preadv(r->blk, r->offset, r->qiov.size, &r->qiov,
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

static int vec_command(IoCmdContext *ctx, int argc, char **argv, bool write,
                       bool aio)
{
    FILE *out = ctx->out;
    const char *name = argv[0];
    VecFlags f = { .pattern = -1 };
    IoVecReq *r;
    int64_t offset;
    int ret;

    if (!parse_vec_flags(ctx, argc, argv, name, write ? "CfP:q" : "CP:qv",
                         &f)) {
        return -EINVAL;
    }
    if (optind > argc - 2) {
        io_cmd_print_usage(ctx, name);
        return -EINVAL;
    }
    offset = cvtnum(argv[optind]);
    if (offset < 0) {
        print_cvtnum_err(out, offset, argv[optind]);
        return -EINVAL;
    }
    r = g_new0(IoVecReq, 1);
    r->blk = ctx->blk;
    r->out = out;
    r->write = write;
    r->aio = aio;
    r->cflag = f.cflag;
    r->qflag = f.qflag;
    r->vflag = f.vflag;
    r->flags = f.flags;
    r->offset = offset;
    if (write) {
        r->pattern = f.pattern < 0 ? 0xcd : f.pattern;
    } else {
        r->pattern = f.pattern;
    }
    if (!build_vector(out, &r->qiov, argv, optind + 1, argc,
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

static int cmd_readv(IoCmdContext *ctx, int argc, char **argv)
{
    return vec_command(ctx, argc, argv, false, false);
}

static int cmd_writev(IoCmdContext *ctx, int argc, char **argv)
{
    return vec_command(ctx, argc, argv, true, false);
}

static int cmd_aio_read(IoCmdContext *ctx, int argc, char **argv)
{
    return vec_command(ctx, argc, argv, false, true);
}

static int cmd_aio_write(IoCmdContext *ctx, int argc, char **argv)
{
    return vec_command(ctx, argc, argv, true, true);
}

static int cmd_aio_flush(IoCmdContext *ctx, int argc, char **argv)
{
    blk_drain(ctx->blk);
    return 0;
}

static int cmd_discard(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    bool cflag = false, qflag = false;
    int64_t offset, count, ns;
    int c, ret;

    optind = 0;
    while ((c = getopt(argc, argv, "Cq")) != -1) {
        switch (c) {
        case 'C':
            cflag = true;
            break;
        case 'q':
            qflag = true;
            break;
        default:
            io_cmd_print_usage(ctx, "discard");
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        io_cmd_print_usage(ctx, "discard");
        return -EINVAL;
    }
    if (!parse_off_len(out, argv[optind], argv[optind + 1], &offset, &count,
                       "")) {
        return -EINVAL;
    }
    ns = -g_get_monotonic_time() * 1000;
    ret = blk_pdiscard(ctx->blk, offset, count);
    ns += g_get_monotonic_time() * 1000;
    if (ret < 0) {
        fprintf(out, "discard failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        print_report(out, "discard", ns, offset, count, count, 1, cflag);
    }
    return 0;
}

static int cmd_flush(IoCmdContext *ctx, int argc, char **argv)
{
    return blk_flush(ctx->blk);
}

/*
 * Allocation, as qemu-io asks it.  "alloc" wants to know whether the
 * root node itself decides the range (bdrv_is_allocated()): data, or
 * zeroes the format records (a qcow2 zero cluster), but not a hole that
 * reads as zeroes only because nothing is below it.  "map" asks the
 * same question, of the root node too: a cluster that only the backing
 * file holds is "not allocated" to both (qemu-io's map is not qemu-img's
 * map).  A raw file is allocated everywhere (its file node answers data
 * or zeroes).
 */
static int is_allocated(BlockBackend *blk, int64_t offset, int64_t bytes,
                        int64_t *pnum)
{
    int ret = bdrv_block_status(blk_bs(blk), offset, bytes, pnum, NULL,
                                NULL);

    if (ret < 0) {
        return ret;
    }
    return !!(ret & BDRV_BLOCK_ALLOCATED);
}

static int cmd_alloc(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    int64_t offset, count = 512, remaining, sum = 0, pos;
    g_autofree char *s_off = NULL;

    offset = cvtnum(argv[1]);
    if (offset < 0) {
        print_cvtnum_err(out, offset, argv[1]);
        return offset;
    }
    if (argc == 3) {
        count = cvtnum(argv[2]);
        if (count < 0) {
            print_cvtnum_err(out, count, argv[2]);
            return count;
        }
    }
    remaining = count;
    pos = offset;
    while (remaining > 0) {
        int64_t num;
        int ret = is_allocated(ctx->blk, pos, remaining, &num);

        if (ret < 0) {
            fprintf(out, "is_allocated failed: %s\n", strerror(-ret));
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
    fprintf(out, "%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n", sum,
           count, s_off);
    return 0;
}

static int cmd_map(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    int64_t offset = 0, length = blk_getlength(ctx->blk);

    if (length < 0) {
        error_report("Failed to query image length: %s", strerror(-length));
        return length;
    }
    while (offset < length) {
        int64_t num = 0, more;
        int first = is_allocated(ctx->blk, offset, length - offset, &num);
        g_autofree char *s_len = NULL;
        g_autofree char *s_off = NULL;

        if (first < 0) {
            error_report("Failed to get allocation status: %s",
                         strerror(-first));
            return first;
        }
        /* Merge following ranges of the same kind into one line. */
        while (offset + num < length) {
            int next = is_allocated(ctx->blk, offset + num,
                                    length - offset - num, &more);

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
        fprintf(out, "%s (0x%" PRIx64 ") bytes %s allocated at offset %s (0x%"
               PRIx64 ")\n", s_len, num, first ? "   " : "not", s_off,
               offset);
        offset += num;
    }
    return 0;
}

static int cmd_length(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    int64_t size = blk_getlength(ctx->blk);
    g_autofree char *s = NULL;

    if (size < 0) {
        fprintf(out, "getlength: %s\n", strerror(-size));
        return size;
    }
    s = size_str(size);
    fprintf(out, "%s\n", s);
    return 0;
}

static int cmd_info(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    BlockDriverState *bs = blk_bs(ctx->blk);
    BlockDriverInfo bdi = { 0 };
    g_autofree char *s_cluster = NULL;
    g_autofree char *s_vm = NULL;
    ImageInfoSpecific *spec;
    Error *err = NULL;
    int ret;

    fprintf(out, "format name: %s\n", bdrv_get_format_name(bs));
    ret = bdrv_get_info(bs, &bdi);
    if (ret) {
        /* As qemu-io: a driver with nothing to tell fails the command. */
        return ret;
    }
    s_cluster = size_str(bdi.cluster_size);
    s_vm = size_str(bdi.vm_state_offset);
    fprintf(out, "cluster size: %s\n", s_cluster);
    fprintf(out, "vm state offset: %s\n", s_vm);
    spec = bdrv_get_specific_info(bs, &err);
    if (err) {
        error_report_err(err);
        return -EIO;
    }
    if (spec) {
        fprintf(out, "Format specific information:\n");
        bdrv_image_info_specific_dump(spec, out);
        qapi_free_ImageInfoSpecific(spec);
    }
    return 0;
}

/*
 * Resizing, timing and leaving
 */

static int cmd_truncate(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    Error *err = NULL;
    int64_t offset;
    int c, ret;

    optind = 0;
    while ((c = getopt(argc, argv, "m:")) != -1) {
        switch (c) {
        case 'm':
            prealloc = qapi_enum_parse(&PreallocMode_lookup, optarg,
                                       PREALLOC_MODE__MAX, NULL);
            if (prealloc == PREALLOC_MODE__MAX) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return -EINVAL;
            }
            break;
        default:
            io_cmd_print_usage(ctx, "truncate");
            return -EINVAL;
        }
    }
    /*
     * Operands after the first are ignored, as by qemu-io; none at all
     * (qemu-io 7.2 crashes on "truncate -m off") shows the usage.
     */
    if (optind >= argc) {
        io_cmd_print_usage(ctx, "truncate");
        return -EINVAL;
    }
    offset = cvtnum(argv[optind]);
    if (offset < 0) {
        print_cvtnum_err(out, offset, argv[optind]);
        return offset;
    }
    ret = blk_truncate(ctx->blk, offset, false, prealloc, 0, &err);
    if (ret < 0) {
        error_report_err(err);
        return ret;
    }
    return 0;
}

static void sleep_expired(void *opaque)
{
    bool *expired = opaque;

    *expired = true;
}

/*
 * Wait without blocking the main loop, so that aio requests in flight
 * complete (and print their reports) meanwhile.
 */
static int cmd_sleep(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    AioContext *aio_ctx = qemu_get_aio_context();
    QEMUTimer *timer;
    bool expired = false;
    int64_t deadline;
    char *end;
    long ms;

    ms = strtol(argv[1], &end, 0);
    if (ms < 0 || *end) {
        fprintf(out, "%s is not a valid number\n", argv[1]);
        return -EINVAL;
    }
    deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    if (ms > (INT64_MAX - deadline) / SCALE_MS) {
        deadline = INT64_MAX;
    } else {
        deadline += ms * SCALE_MS;
    }
    timer = aio_timer_new(aio_ctx, QEMU_CLOCK_REALTIME, SCALE_NS, sleep_expired,
                          &expired);
    timer_mod_ns(timer, deadline);
    while (!expired) {
        aio_poll(aio_ctx, true);
    }
    timer_free(timer);
    return 0;
}

static int cmd_abort(IoCmdContext *ctx, int argc, char **argv)
{
    /* Buffered output is lost, as a crash would lose it. */
    abort();
}

static int cmd_sigraise(IoCmdContext *ctx, int argc, char **argv)
{
    FILE *out = ctx->out;
    int64_t sig = cvtnum(argv[1]);

    if (sig < 0) {
        print_cvtnum_err(out, sig, argv[1]);
        return -EINVAL;
    }
    if (sig > NSIG) {
        fprintf(out, "signal argument '%s' is too large to be a valid signal\n",
               argv[1]);
        return -EINVAL;
    }
    /* Unlike abort, the output so far gets out before the signal. */
    fflush(ctx->out);
    fflush(ctx->err);
    raise(sig);
    return 0;
}

/*
 * Extended help, shown after the summary line by "help NAME".  The layout
 * is qemu-io's: a blank line, a sentence, an example, a paragraph, then
 * one line per option, each line indented by one space.
 */

static const char help_read[] =
"\n"
" reads a range of bytes, starting at the given offset\n"
"\n"
" Example:\n"
" 'read -P 0xab 4k 1k' - reads 1 KiB at offset 4 KiB and checks every byte is 0xab\n"
"\n"
" Reads from the open image into one buffer.  The data can be checked\n"
" against a byte pattern, wholly or in part, or printed in hexadecimal.\n"
" -b, -- read the VM state area instead of the disk contents\n"
" -C, -- print the statistics as one comma-separated line\n"
" -l, -- how many bytes -P checks (needs -P)\n"
" -p, -- does nothing; kept so that old scripts still work\n"
" -P, -- fail unless the data read is this byte throughout\n"
" -q, -- print no statistics\n"
" -s, -- where in the buffer -P starts checking (needs -P)\n"
" -v, -- print the data read as a hex dump\n"
"\n";

static const char help_readv[] =
"\n"
" reads a range of bytes, starting at the given offset, into several\n"
" buffers\n"
"\n"
" Example:\n"
" 'readv 1M 4k 512' - reads 4.5 KiB at offset 1 MiB into two buffers\n"
"\n"
" Each length after the offset gets its own buffer, and the buffers are\n"
" read by one vectored request.\n"
" -C, -- print the statistics as one comma-separated line\n"
" -P, -- fail unless the data read is this byte throughout\n"
" -q, -- print no statistics\n"
" -v, -- print the data read as a hex dump\n"
"\n";

static const char help_write[] =
"\n"
" writes a range of bytes, starting at the given offset\n"
"\n"
" Example:\n"
" 'write -P 0x5a 64k 4k' - writes 4 KiB of 0x5a bytes at offset 64 KiB\n"
"\n"
" Writes one buffer to the open image.  Unless told otherwise every byte\n"
" of it is 0xcd.\n"
" -b, -- write the VM state area instead of the disk contents\n"
" -c, -- write the data as compressed clusters\n"
" -C, -- print the statistics as one comma-separated line\n"
" -f, -- ask for Force Unit Access: done only once on stable storage\n"
" -n, -- with -z, fail rather than write a buffer of zeroes\n"
" -p, -- does nothing; kept so that old scripts still work\n"
" -P, -- the byte to fill the buffer with\n"
" -q, -- print no statistics\n"
" -s, -- fill the buffer from this file, repeated as needed\n"
" -u, -- with -z, let the range be deallocated\n"
" -z, -- write zeroes without a buffer (a zero-write request)\n"
"\n";

static const char help_writev[] =
"\n"
" writes a range of bytes, starting at the given offset, from several\n"
" buffers\n"
"\n"
" Example:\n"
" 'writev 0 512 1k' - writes 1.5 KiB at offset 0 from two buffers\n"
"\n"
" Each length after the offset gets its own buffer, filled with 0xcd\n"
" unless told otherwise, and the buffers go out in one vectored request.\n"
" -C, -- print the statistics as one comma-separated line\n"
" -f, -- ask for Force Unit Access: done only once on stable storage\n"
" -P, -- the byte to fill the buffers with\n"
" -q, -- print no statistics\n"
"\n";

static const char help_aio_read[] =
"\n"
" starts a read of a range of bytes into several buffers, and returns\n"
"\n"
" Example:\n"
" 'aio_read -P 0 8k 4k 4k' - starts reading 8 KiB at offset 8 KiB\n"
"\n"
" Like readv, but the command returns as soon as the request is sent;\n"
" its report comes when it completes.  Use aio_flush to wait for every\n"
" request in flight.  A request that fails, or reads the wrong pattern,\n"
" does not make the command itself fail.\n"
" -C, -- print the statistics as one comma-separated line\n"
" -P, -- complain unless the data read is this byte throughout\n"
" -q, -- print no statistics\n"
" -v, -- print the data read as a hex dump\n"
"\n";

static const char help_aio_write[] =
"\n"
" starts a write of a range of bytes from several buffers, and returns\n"
"\n"
" Example:\n"
" 'aio_write -P 7 0 64k' - starts writing 64 KiB of 0x07 bytes at offset 0\n"
"\n"
" Like writev, but the command returns as soon as the request is sent;\n"
" its report comes when it completes.  Use aio_flush to wait for every\n"
" request in flight.  A request that fails does not make the command\n"
" itself fail.\n"
" -C, -- print the statistics as one comma-separated line\n"
" -f, -- ask for Force Unit Access: done only once on stable storage\n"
" -P, -- the byte to fill the buffers with\n"
" -q, -- print no statistics\n"
"\n";

static const char help_discard[] =
"\n"
" discards a range of bytes, starting at the given offset\n"
"\n"
" Example:\n"
" 'discard 1M 64k' - tells the image that 64 KiB at 1 MiB are unused\n"
"\n"
" The node may deallocate the range; what it reads as afterwards depends\n"
" on the format and the discard mode.\n"
" -C, -- print the statistics as one comma-separated line\n"
" -q, -- print no statistics\n"
"\n";

static const char help_sigraise[] =
"\n"
" sends a signal to this process\n"
"\n"
" Example:\n"
" 'sigraise 2' - raises SIGINT\n"
"\n"
" The argument is the signal's number.  Output printed so far is flushed\n"
" first, then raise(3) is called; what happens next is up to the signal's\n"
" disposition.\n"
"\n";


static int cmd_help(IoCmdContext *ctx, int argc, char **argv);

#define PERM_WRITE          BLK_PERM_WRITE
#define PERM_WRITE_RESIZE   (BLK_PERM_WRITE | BLK_PERM_RESIZE)

/* Sorted by name, as help lists them. */
static const IoCmd io_cmds[] = {
    { "abort", cmd_abort, 0, 0, true, 0, NULL,
      "simulate a program crash using abort(3)" },
    { "aio_flush", cmd_aio_flush, 0, 0, false, 0, NULL,
      "completes all outstanding aio requests" },
    { "aio_read", cmd_aio_read, 2, -1, false, 0,
      "[-Ciqv] [-P pattern] off len [len..]",
      "asynchronously reads a number of bytes", NULL, help_aio_read },
    { "aio_write", cmd_aio_write, 2, -1, false, PERM_WRITE,
      "[-Cfiquz] [-P pattern] off len [len..]",
      "asynchronously writes a number of bytes", NULL, help_aio_write },
    { "alloc", cmd_alloc, 1, 2, false, 0, "offset [count]",
      "checks if offset is allocated in the file" },
    { "discard", cmd_discard, 2, -1, false, PERM_WRITE, "[-Cq] off len",
      "discards a number of bytes at a specified offset", NULL,
      help_discard },
    { "flush", cmd_flush, 0, 0, false, 0, NULL,
      "flush all in-core file state to disk" },
    { "help", cmd_help, 0, 1, true, 0, "[command]",
      "help for one or all commands" },
    { "info", cmd_info, 0, 0, false, 0, NULL,
      "prints information about the current file" },
    { "length", cmd_length, 0, 0, false, 0, NULL,
      "gets the length of the current file" },
    { "map", cmd_map, 0, 0, false, 0, "",
      "prints the allocated areas of a file" },
    { "read", cmd_read, 2, -1, false, 0,
      "[-abCqv] [-P pattern [-s off] [-l len]] off len",
      "reads a number of bytes at a specified offset", NULL, help_read },
    { "readv", cmd_readv, 2, -1, false, 0,
      "[-Cqv] [-P pattern] off len [len..]",
      "reads a number of bytes at a specified offset", NULL, help_readv },
    { "sigraise", cmd_sigraise, 1, 1, true, 0, "signal",
      "raises a signal", NULL, help_sigraise },
    { "sleep", cmd_sleep, 1, 1, true, 0, NULL,
      "waits for the given value in milliseconds" },
    { "truncate", cmd_truncate, 1, 3, false, PERM_WRITE_RESIZE,
      "[-m prealloc_mode] off",
      "truncates the current file at the given offset" },
    { "write", cmd_write, 2, -1, false, PERM_WRITE,
      "[-bcCfnquz] [-P pattern | -s source_file] off len",
      "writes a number of bytes at a specified offset", NULL, help_write },
    { "writev", cmd_writev, 2, -1, false, PERM_WRITE,
      "[-Cfq] [-P pattern] off len [len..]",
      "writes a number of bytes at a specified offset", NULL, help_writev },
};

static bool cmd_has_name(const IoCmd *ct, const char *name)
{
    return !strcmp(ct->name, name) ||
           (ct->altname && !strcmp(ct->altname, name));
}

static const IoCmd *find_cmd(IoCmdContext *ctx, const char *name)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(io_cmds); i++) {
        if (cmd_has_name(&io_cmds[i], name)) {
            return &io_cmds[i];
        }
    }
    for (i = 0; i < ctx->n_extra_cmds; i++) {
        if (cmd_has_name(&ctx->extra_cmds[i], name)) {
            return &ctx->extra_cmds[i];
        }
    }
    return NULL;
}

void io_cmd_print_usage(IoCmdContext *ctx, const char *name)
{
    const IoCmd *ct = find_cmd(ctx, name);

    assert(ct);
    help_oneline(ctx->out, ct->name, ct);
}

/* Both tables are sorted: list them merged, as one sorted table. */
static void help_all(IoCmdContext *ctx)
{
    size_t i = 0, j = 0;

    while (i < G_N_ELEMENTS(io_cmds) || j < ctx->n_extra_cmds) {
        const IoCmd *ct;

        if (j == ctx->n_extra_cmds ||
            (i < G_N_ELEMENTS(io_cmds) &&
             strcmp(io_cmds[i].name, ctx->extra_cmds[j].name) < 0)) {
            ct = &io_cmds[i++];
        } else {
            ct = &ctx->extra_cmds[j++];
        }
        help_oneline(ctx->out, ct->name, ct);
    }
    fprintf(ctx->out, "\nUse 'help commandname' for extended help.\n");
}

static int cmd_help(IoCmdContext *ctx, int argc, char **argv)
{
    const IoCmd *ct;

    if (argc == 1) {
        help_all(ctx);
        return 0;
    }
    ct = find_cmd(ctx, argv[1]);
    if (!ct) {
        fprintf(ctx->out, "command %s not found\n", argv[1]);
        return -EINVAL;
    }
    help_oneline(ctx->out, argv[1], ct);
    if (ct->help) {
        fputs(ct->help, ctx->out);
    }
    return 0;
}

/*
 * Take the permissions @ct needs before it runs, as qemu-io does: a
 * backend made without write permission (the monitor's, on a node that
 * others may be writing) asks for it only when a command writes, and a
 * conflict or a read-only node fails that command alone.
 */
static bool take_cmd_perm(IoCmdContext *ctx, const IoCmd *ct)
{
    uint64_t perm, shared;
    Error *err = NULL;

    if (!ct->perm || !blk_bs(ctx->blk)) {
        return true;
    }
    blk_get_perm(ctx->blk, &perm, &shared);
    if (!(ct->perm & ~perm)) {
        return true;
    }
    if (blk_set_perm(ctx->blk, perm | ct->perm, shared, &err) < 0) {
        error_report_err(err);
        return false;
    }
    return true;
}

/*
 * Split @line into words as qemu-io does: at spaces only, with no quoting
 * (a quote is an ordinary character, so "'1k'" is not a number).
 */
static char **split_words(const char *line, int *argc)
{
    g_auto(GStrv) parts = g_strsplit(line, " ", -1);
    GPtrArray *words = g_ptr_array_new();
    int i;

    for (i = 0; parts[i]; i++) {
        if (*parts[i]) {
            g_ptr_array_add(words, g_strdup(parts[i]));
        }
    }
    *argc = words->len;
    g_ptr_array_add(words, NULL);
    return (char **)g_ptr_array_free(words, false);
}

int io_cmd_run(IoCmdContext *ctx, const char *line)
{
    g_auto(GStrv) argv = NULL;
    const IoCmd *ct;
    int argc;

    argv = split_words(line, &argc);
    if (!argc) {
        /* Blank: nothing to do, as qemu-io. */
        return 0;
    }
    ct = find_cmd(ctx, argv[0]);
    if (!ct) {
        fprintf(ctx->err, "command \"%s\" not found\n", argv[0]);
        return -EINVAL;
    }
    if (argc - 1 < ct->argmin ||
        (ct->argmax != -1 && argc - 1 > ct->argmax)) {
        if (ct->argmax == -1) {
            fprintf(ctx->err, "bad argument count %d to %s, expected at "
                    "least %d arguments\n", argc - 1, ct->name, ct->argmin);
        } else if (ct->argmin == ct->argmax) {
            fprintf(ctx->err, "bad argument count %d to %s, expected %d "
                    "arguments\n", argc - 1, ct->name, ct->argmin);
        } else {
            fprintf(ctx->err, "bad argument count %d to %s, expected "
                    "between %d and %d arguments\n", argc - 1, ct->name,
                    ct->argmin, ct->argmax);
        }
        return -EINVAL;
    }
    if (!ct->global && !ctx->blk) {
        fprintf(ctx->err, "no file open, try 'help open'\n");
        return -EINVAL;
    }
    if (!take_cmd_perm(ctx, ct)) {
        return -EACCES;
    }
    return ct->func(ctx, argc, argv);
}
