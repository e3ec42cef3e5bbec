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
 * following commands still run, as qemu-io does.  Without -c, the
 * commands come from stdin, one a line after a prompt, until "quit" or
 * the end of the input (see command_loop()).
 *
 * Output keeps qemu-io's buffering: results go to stdout, which the C
 * library buffers when it is a pipe, and complaints about the command line
 * go to stderr unbuffered, so `2>&1` interleaves both programs alike.
 */
#include "qemu/osdep.h"

#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <sys/epoll.h>

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
    const char *altname;        /* a second name, or NULL */
    const char *help;           /* the text of "help NAME", or NULL */
} IoCmd;

static BlockBackend *io_blk;

/* Set by "quit": no further command runs. */
static bool io_quit;

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
static void print_report(const char *op, int64_t ns, int64_t offset,
                         int64_t count, int64_t total, int ops, bool cflag)
{
    double secs = ns / 1e9;
    double rate = secs > 0 ? total / secs : INFINITY;
    double op_rate = secs > 0 ? ops / secs : INFINITY;
    g_autofree char *s_total = NULL;
    g_autofree char *s_rate = NULL;
    g_autofree char *s_time = time_str(ns, cflag);

    if (cflag) {
        printf("%" PRId64 ",%d,%s,%.3f,%.3f\n", total, ops, s_time, rate,
               op_rate);
        return;
    }
    printf("%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n",
           op, total, count, offset);
    s_total = size_str(total);
    s_rate = size_str(rate);
    printf("%s, %d ops; %s (%s/sec and %.4f ops/sec)\n", s_total, ops,
           s_time, s_rate, op_rate);
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

/* The summary line of @ct, which the user called @name. */
static void help_oneline(const char *name, const IoCmd *ct)
{
    printf("%s ", name);
    if (ct->args) {
        printf("%s ", ct->args);
    }
    printf("-- %s\n", ct->oneline);
}

/* A command's options or arguments were wrong: show its synopsis. */
static void print_cmd_usage(const IoCmd *ct)
{
    help_oneline(ct->name, ct);
}

/*
 * Offset and length arguments, with qemu-io's checks; false on error.
 * A length above BDRV_REQUEST_MAX_BYTES is refused, and the message then
 * carries @limit_note, unless @limit_note is NULL (no limit).
 */
static bool parse_off_len(const char *soff, const char *slen,
                          int64_t *offset, int64_t *count,
                          const char *limit_note)
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
    if (limit_note && *count > BDRV_REQUEST_MAX_BYTES) {
        printf("length cannot exceed %" PRId64 "%s, given %s\n",
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
static bool parse_vec_flags(int argc, char **argv, const char *cmd,
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
            f->pattern = parse_pattern(optarg);
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
            print_cmd_usage(find_cmd(cmd));
            return false;
        }
    }
    return true;
}

/*
 * -b (the VM state area) and -c (compressed clusters) take whole sectors,
 * as in qemu-io; false after printing which argument is not aligned.
 */
static bool check_sector_aligned(const char *soff, int64_t offset,
                                 const char *scount, int64_t count)
{
    if (!QEMU_IS_ALIGNED(offset, BDRV_SECTOR_SIZE)) {
        printf("%s is not a sector-aligned value for 'offset'\n", soff);
        return false;
    }
    if (!QEMU_IS_ALIGNED(count, BDRV_SECTOR_SIZE)) {
        printf("%s is not a sector-aligned value for 'count'\n", scount);
        return false;
    }
    return true;
}

/*
 * Synchronous requests
 */

static int cmd_read(int argc, char **argv)
{
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
                print_cvtnum_err(p_len, optarg);
                return -EINVAL;
            }
            break;
        case 'p':
            /* Accepted and ignored, as by qemu-io. */
            break;
        case 'P':
            pattern = parse_pattern(optarg);
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
                print_cvtnum_err(p_off, optarg);
                return -EINVAL;
            }
            break;
        case 'v':
            vflag = true;
            break;
        default:
            print_cmd_usage(find_cmd("read"));
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        print_cmd_usage(find_cmd("read"));
        return -EINVAL;
    }
    if (!parse_off_len(argv[optind], argv[optind + 1], &offset, &count,
                       "")) {
        return -EINVAL;
    }
    /* -s and -l narrow the verification, so they need -P. */
    if (pattern < 0 && (sflag || lflag)) {
        print_cmd_usage(find_cmd("read"));
        return -EINVAL;
    }
    if (!lflag) {
        p_len = count - p_off;
    }
    if (p_off > count || p_len < 0 || p_len > count - p_off) {
        printf("pattern verification range exceeds end of read data\n");
        return -EINVAL;
    }
    if (bflag) {
        if (!check_sector_aligned(argv[optind], offset, argv[optind + 1],
                                  count)) {
            return -EINVAL;
        }
        /* The block layer keeps no VM state: no node can read it. */
        printf("read failed: %s\n", strerror(ENOTSUP));
        return -ENOTSUP;
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
    if (pattern >= 0) {
        bad = pattern_mismatch(buf + p_off, p_len, pattern);
        if (bad >= 0) {
            printf("Pattern verification failed at offset %" PRId64 ", %"
                   PRId64 " bytes\n", offset + p_off, p_len);
            ret = -EINVAL;
        }
    }
    if (qflag) {
        return ret;
    }
    if (vflag) {
        dump_buffer(buf, offset, count);
    }
    print_report("read", ns, offset, count, count, 1, cflag);
    return ret;
}

/*
 * A buffer of @len bytes filled from the file @name, its contents
 * repeated as often as needed; NULL after printing why.
 */
static uint8_t *buffer_from_file(const char *name, int64_t len)
{
    g_autofree uint8_t *buf = g_malloc(MAX(len, 1));
    FILE *f = fopen(name, "r");
    size_t got;
    int64_t done;

    if (!f) {
        fprintf(stderr, "%s: %s\n", name, strerror(errno));
        return NULL;
    }
    got = fread(buf, 1, len, f);
    if (ferror(f)) {
        fprintf(stderr, "%s: %s\n", name, strerror(errno));
        fclose(f);
        return NULL;
    }
    fclose(f);
    if (got == 0 && len > 0) {
        fprintf(stderr, "%s: file is empty\n", name);
        return NULL;
    }
    for (done = got; done < len; done += MIN((int64_t)got, len - done)) {
        memcpy(buf + done, buf, MIN((int64_t)got, len - done));
    }
    return g_steal_pointer(&buf);
}

static int cmd_write(int argc, char **argv)
{
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
            pattern = parse_pattern(optarg);
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
            print_cmd_usage(find_cmd("write"));
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        print_cmd_usage(find_cmd("write"));
        return -EINVAL;
    }
    if (bflag && zflag) {
        printf("-b and -z cannot be specified at the same time\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_FUA) && (bflag || compress)) {
        printf("-f and -b or -c cannot be specified at the same time\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_NO_FALLBACK) && !zflag) {
        printf("-n requires -z to be specified\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_MAY_UNMAP) && !zflag) {
        printf("-u requires -z to be specified\n");
        return -EINVAL;
    }
    if (zflag + pflag + !!source > 1) {
        printf("Only one of -z, -P, and -s can be specified at the same "
               "time\n");
        return -EINVAL;
    }
    if (!parse_off_len(argv[optind], argv[optind + 1], &offset, &count,
                       (flags & BDRV_REQ_NO_FALLBACK) ? NULL
                                                      : " without -n")) {
        return -EINVAL;
    }
    if ((bflag || compress) &&
        !check_sector_aligned(argv[optind], offset, argv[optind + 1],
                              count)) {
        return -EINVAL;
    }
    if (!zflag) {
        if (source) {
            buf = buffer_from_file(source, count);
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
            printf("write failed: %s\n", strerror(ENOTSUP));
            return -ENOTSUP;
        }
    }
    ns = -g_get_monotonic_time() * 1000;
    if (zflag) {
        /* As qemu-io, -c with -z writes plain zeroes. */
        ret = blk_pwrite_zeroes(io_blk, offset, count, flags);
    } else {
        ret = blk_pwrite(io_blk, offset, count, buf, flags);
    }
    ns += g_get_monotonic_time() * 1000;
    if (ret < 0) {
        printf("write failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        print_report("wrote", ns, offset, count, count, 1, cflag);
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
                 r->qiov.size, 1, r->cflag);
    return ret;
}

static void coroutine_fn iovec_co(void *opaque)
{
    IoVecReq *r = opaque;

    if (r->write) {
        r->ret = blk_co_pwritev(io_blk, r->offset, r->qiov.size, &r->qiov,
                                r->flags);
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
    VecFlags f = { .pattern = -1 };
    IoVecReq *r;
    int64_t offset;
    int ret;

    if (!parse_vec_flags(argc, argv, name, write ? "CfP:q" : "CP:qv",
                         &f)) {
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
            print_cmd_usage(find_cmd("discard"));
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        print_cmd_usage(find_cmd("discard"));
        return -EINVAL;
    }
    if (!parse_off_len(argv[optind], argv[optind + 1], &offset, &count,
                       "")) {
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
        print_report("discard", ns, offset, count, count, 1, cflag);
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

/*
 * Resizing, timing and leaving
 */

static int cmd_truncate(int argc, char **argv)
{
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
            print_cmd_usage(find_cmd("truncate"));
            return -EINVAL;
        }
    }
    /*
     * Operands after the first are ignored, as by qemu-io; none at all
     * (qemu-io 7.2 crashes on "truncate -m off") shows the usage.
     */
    if (optind >= argc) {
        print_cmd_usage(find_cmd("truncate"));
        return -EINVAL;
    }
    offset = cvtnum(argv[optind]);
    if (offset < 0) {
        print_cvtnum_err(offset, argv[optind]);
        return offset;
    }
    ret = blk_truncate(io_blk, offset, false, prealloc, 0, &err);
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
static int cmd_sleep(int argc, char **argv)
{
    AioContext *ctx = qemu_get_aio_context();
    QEMUTimer *timer;
    bool expired = false;
    int64_t deadline;
    char *end;
    long ms;

    ms = strtol(argv[1], &end, 0);
    if (ms < 0 || *end) {
        printf("%s is not a valid number\n", argv[1]);
        return -EINVAL;
    }
    deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    if (ms > (INT64_MAX - deadline) / SCALE_MS) {
        deadline = INT64_MAX;
    } else {
        deadline += ms * SCALE_MS;
    }
    timer = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, sleep_expired,
                          &expired);
    timer_mod_ns(timer, deadline);
    while (!expired) {
        aio_poll(ctx, true);
    }
    timer_free(timer);
    return 0;
}

static int cmd_quit(int argc, char **argv)
{
    io_quit = true;
    return 0;
}

static int cmd_abort(int argc, char **argv)
{
    /* Buffered output is lost, as a crash would lose it. */
    abort();
}

static int cmd_sigraise(int argc, char **argv)
{
    int64_t sig = cvtnum(argv[1]);

    if (sig < 0) {
        print_cvtnum_err(sig, argv[1]);
        return -EINVAL;
    }
    if (sig > NSIG) {
        printf("signal argument '%s' is too large to be a valid signal\n",
               argv[1]);
        return -EINVAL;
    }
    /* Unlike abort, the output so far gets out before the signal. */
    fflush(stdout);
    fflush(stderr);
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

/* qemu-io's open help has no closing blank line; neither has this. */
static const char help_open[] =
"\n"
" opens an image, when none is open\n"
"\n"
" Example:\n"
" 'open -r -t none disk.img' - opens disk.img read-only, bypassing the host cache\n"
"\n"
" The image is probed as the command line's file argument is, and all\n"
" other commands then act on it.\n"
" -d, -- the discard mode: ignore (off) or unmap (on)\n"
" -n, -- bypass the host page cache, the same as -t none\n"
" -r, -- open read-only\n"
" -t, -- the cache mode (none, writeback, writethrough, directsync, unsafe)\n"
" -U, -- share every permission with other users of the image\n";

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

static int cmd_help(int argc, char **argv);

/* Sorted by name, as help lists them. */
static const IoCmd io_cmds[] = {
    { "abort", cmd_abort, 0, 0, true, false, NULL,
      "simulate a program crash using abort(3)" },
    { "aio_flush", cmd_aio_flush, 0, 0, false, false, NULL,
      "completes all outstanding aio requests" },
    { "aio_read", cmd_aio_read, 2, -1, false, false,
      "[-Ciqv] [-P pattern] off len [len..]",
      "asynchronously reads a number of bytes", NULL, help_aio_read },
    { "aio_write", cmd_aio_write, 2, -1, false, true,
      "[-Cfiquz] [-P pattern] off len [len..]",
      "asynchronously writes a number of bytes", NULL, help_aio_write },
    { "alloc", cmd_alloc, 1, 2, false, false, "offset [count]",
      "checks if offset is allocated in the file" },
    { "close", cmd_close, 0, 0, false, false, NULL,
      "close the current open file" },
    { "discard", cmd_discard, 2, -1, false, true, "[-Cq] off len",
      "discards a number of bytes at a specified offset", NULL,
      help_discard },
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
      "open the file specified by path", NULL, help_open },
    { "quit", cmd_quit, 0, -1, true, false, NULL,
      "exit the program", "q" },
    { "read", cmd_read, 2, -1, false, false,
      "[-abCqv] [-P pattern [-s off] [-l len]] off len",
      "reads a number of bytes at a specified offset", NULL, help_read },
    { "readv", cmd_readv, 2, -1, false, false,
      "[-Cqv] [-P pattern] off len [len..]",
      "reads a number of bytes at a specified offset", NULL, help_readv },
    { "sigraise", cmd_sigraise, 1, 1, true, false, "signal",
      "raises a signal", NULL, help_sigraise },
    { "sleep", cmd_sleep, 1, 1, true, false, NULL,
      "waits for the given value in milliseconds" },
    { "truncate", cmd_truncate, 1, 3, false, true,
      "[-m prealloc_mode] off",
      "truncates the current file at the given offset" },
    { "write", cmd_write, 2, -1, false, true,
      "[-bcCfnquz] [-P pattern | -s source_file] off len",
      "writes a number of bytes at a specified offset", NULL, help_write },
    { "writev", cmd_writev, 2, -1, false, true,
      "[-Cfq] [-P pattern] off len [len..]",
      "writes a number of bytes at a specified offset", NULL, help_writev },
};

static const IoCmd *find_cmd(const char *name)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(io_cmds); i++) {
        if (!strcmp(io_cmds[i].name, name) ||
            (io_cmds[i].altname && !strcmp(io_cmds[i].altname, name))) {
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
            help_oneline(io_cmds[i].name, &io_cmds[i]);
        }
        printf("\nUse 'help commandname' for extended help.\n");
        return 0;
    }
    ct = find_cmd(argv[1]);
    if (!ct) {
        printf("command %s not found\n", argv[1]);
        return -EINVAL;
    }
    help_oneline(argv[1], ct);
    if (ct->help) {
        fputs(ct->help, stdout);
    }
    return 0;
}

/*
 * Run one command line (a -c string or a line of stdin); a negative
 * return makes the exit status 1.
 */
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

/*
 * Interactive mode: commands from stdin, one a line
 *
 * Lines are cut out of our own buffer rather than read with stdio, so
 * that a FIFO or a pipe is only waited on when no whole line is left;
 * the wait is an aio_poll() of the main context, in which aio requests
 * in flight go on completing.  A regular file or /dev/null cannot be
 * watched (epoll refuses them) and never blocks, so it is read directly.
 */
typedef struct StdinReader {
    GString *buf;               /* read, not yet returned */
    bool pollable;
    bool readable;              /* set by the fd handler */
    bool eof;
} StdinReader;

static bool fd_is_pollable(int fd)
{
    struct epoll_event ev = { .events = EPOLLIN };
    int ep = epoll_create1(EPOLL_CLOEXEC);
    bool ok;

    if (ep < 0) {
        return false;
    }
    ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0;
    close(ep);
    return ok;
}

static void stdin_readable(void *opaque)
{
    StdinReader *r = opaque;

    r->readable = true;
}

/* Read once more from stdin, waiting in the main loop if needed. */
static void stdin_fill(StdinReader *r)
{
    AioContext *ctx = qemu_get_aio_context();
    char chunk[4096];
    ssize_t n;

    if (r->pollable) {
        r->readable = false;
        aio_set_fd_handler(ctx, STDIN_FILENO, stdin_readable, NULL, r);
        while (!r->readable) {
            aio_poll(ctx, true);
        }
        aio_set_fd_handler(ctx, STDIN_FILENO, NULL, NULL, NULL);
    }
    do {
        n = read(STDIN_FILENO, chunk, sizeof(chunk));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        r->eof = true;
        return;
    }
    g_string_append_len(r->buf, chunk, n);
}

/*
 * The next line, without its newline (the caller frees it); the last
 * line counts even without one.  NULL at the end of the input.
 */
static char *stdin_next_line(StdinReader *r)
{
    char *nl;
    char *line;

    while (!(nl = memchr(r->buf->str, '\n', r->buf->len))) {
        if (r->eof) {
            if (!r->buf->len) {
                return NULL;
            }
            line = g_strndup(r->buf->str, r->buf->len);
            g_string_truncate(r->buf, 0);
            return line;
        }
        stdin_fill(r);
    }
    line = g_strndup(r->buf->str, nl - r->buf->str);
    g_string_erase(r->buf, 0, nl - r->buf->str + 1);
    return line;
}

/*
 * Prompt, read, run, until "quit" or the end of stdin.  As qemu-io, the
 * prompt is the program's name and "> ", also when stdin is not a
 * terminal, and the one after the last line is left without a newline.
 */
static int command_loop(void)
{
    StdinReader r = {
        .buf = g_string_new(NULL),
        .pollable = fd_is_pollable(STDIN_FILENO),
    };
    int status = 0;

    while (!io_quit) {
        g_autofree char *line = NULL;

        printf("%s> ", g_get_prgname());
        fflush(stdout);
        line = stdin_next_line(&r);
        if (!line) {
            break;
        }
        if (run_command(line) < 0) {
            status = 1;
        }
    }
    g_string_free(r.buf, true);
    return status;
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

    /* As qemu-io: a reader that goes away is an error on write. */
    signal(SIGPIPE, SIG_IGN);
    qemu_init_main_loop(&error_fatal);
    bdrv_init();

    if (optind < argc) {
        if (!open_image(argv[optind], fmt, image_opts, &o, &err)) {
            error_reportf_err(err, "can't open device %s: ", argv[optind]);
            return 1;
        }
    }
    if (!cmds->len) {
        status = command_loop();
    }
    for (i = 0; i < cmds->len && !io_quit; i++) {
        if (run_command(g_ptr_array_index(cmds, i)) < 0) {
            status = 1;
        }
    }
    close_image();
    return status;
}
