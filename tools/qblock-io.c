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

#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>

#include "qemu/keyval.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qapi-visit.h"
#include "block/block.h"
#include "block/block-backend.h"
#include "block/io-cmds.h"
#include "qemu/trace-control.h"

static IoCmdContext io_ctx;

/* Set by "quit": no further command runs. */
static bool io_quit;

/*
 * Opening and closing
 */

typedef struct OpenOpts {
    bool read_only;
    bool force_share;
    const char *cache;          /* NULL: writethrough, qemu-io's default */
    const char *aio;            /* NULL: the driver's default */
    const char *discard;        /* NULL: unmap, qemu-io's default */
    const char *extra;          /* open -o: more options, or NULL */
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

/* The command line's node options on @obj, where the user left them out. */
static bool apply_open_opts(JsonObject *obj, const OpenOpts *o, Error **errp)
{
    set_default(obj, "read-only", o->read_only ? "on" : "off");
    set_default(obj, "discard", o->discard ? o->discard : "unmap");
    if (o->force_share) {
        /* A writable open then fails, as qemu-io's -U without -r. */
        set_default(obj, "force-share", "on");
    }
    return !o->cache || apply_cache_mode(obj, o->cache, errp);
}

/* The object member @key of @obj, or NULL. */
static JsonObject *object_member(JsonObject *obj, const char *key)
{
    JsonNode *m = json_object_get_member(obj, key);

    return m && JSON_NODE_HOLDS_OBJECT(m) ? json_node_get_object(m) : NULL;
}

/* Open the node @tree describes (keyval strings), probed or not. */
static BlockDriverState *open_tree(JsonNode *tree, bool probed, Error **errp)
{
    g_autoptr(BlockdevOptions) options = NULL;
    QapiInput in;

    qapi_input_init(&in, true);
    if (!qapi_input_BlockdevOptions(&in, NULL, tree, &options, errp)) {
        return NULL;
    }
    return probed ? bdrv_open_blockdev_probed(options, errp)
                  : bdrv_open_blockdev(options, errp);
}

/*
 * Open the protocol node of @top (its "file" object) on its own, read
 * its first bytes to tell the format as qemu-io does without -f, and
 * leave @top naming the format and referring to that node.  Returns the
 * node (the caller's reference) or NULL.
 */
static BlockDriverState *probe_format(JsonObject *top, const OpenOpts *o,
                                      Error **errp)
{
    g_autoptr(JsonNode) file_tree = NULL;
    JsonObject *file = object_member(top, "file");
    BlockDriverState *bs;
    const char *fmt;

    if (!file) {
        error_setg(errp, "Must specify either driver or file");
        return NULL;
    }
    /* A node opened on its own inherits nothing: give it the options. */
    if (!apply_open_opts(file, o, errp)) {
        return NULL;
    }
    if (o->aio) {
        set_default(file, "aio", o->aio);
    }
    file_tree = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(file_tree, file);
    bs = open_tree(file_tree, false, errp);
    if (!bs) {
        return NULL;
    }
    fmt = bdrv_probe_image_format(bs, errp);
    if (!fmt) {
        bdrv_unref(bs);
        return NULL;
    }
    json_object_set_string_member(top, "driver", fmt);
    json_object_set_string_member(top, "file", bdrv_get_node_name(bs));
    return bs;
}

/*
 * Open @name into io_ctx.blk as qemu-io opens its file argument: as
 * format @fmt over a file node, or, with @fmt NULL and no driver among
 * the open -o options, as the format its first bytes probe as (qcow2 by
 * its magic, else raw, which then warns when writable and guards block
 * 0; see block/raw-format.c).  With @image_opts, @name is a keyval
 * string of BlockdevOptions, used as it is.  @name may be NULL when the
 * options name the file.
 */
static bool open_image(const char *name, const char *fmt, bool image_opts,
                       const OpenOpts *o, Error **errp)
{
    g_autoptr(JsonNode) tree = NULL;
    BlockDriverState *bs, *probed_file = NULL;
    BlockBackend *blk;
    JsonObject *top;
    g_autofree char *driver = NULL;
    uint64_t perm;

    if (image_opts) {
        tree = keyval_parse(name, NULL, NULL, errp);
        if (!tree) {
            return false;
        }
    } else if (o->extra) {
        tree = keyval_parse(o->extra, NULL, NULL, errp);
        if (!tree) {
            return false;
        }
    } else {
        tree = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(tree, json_object_new());
    }
    top = json_node_get_object(tree);
    if (fmt) {
        json_object_set_string_member(top, "driver", fmt);
    }
    driver = g_strdup(json_object_get_string_member_with_default(top,
                                                                 "driver",
                                                                 NULL));
    if (driver && !bdrv_find_format(driver)) {
        error_setg(errp, "Unknown driver '%s'", driver);
        return false;
    }
    if (!image_opts && name) {
        if (driver && bdrv_format_is_protocol(driver)) {
            /* The protocol node itself: -f file, -f nbd. */
            json_object_remove_member(top, "driver");
            if (!bdrv_filename_to_options(name, top, errp)) {
                return false;
            }
        } else if (object_member(top, "file")) {
            JsonObject *file = object_member(top, "file");

            if (json_object_has_member(file, "filename")) {
                error_setg(errp, "Can't specify 'file' and 'filename' "
                           "options at the same time");
                return false;
            }
            /* -o file.driver=... names the protocol; else the name does. */
            if (json_object_has_member(file, "driver")) {
                json_object_set_string_member(file, "filename", name);
            } else if (!bdrv_filename_to_options(name, file, errp)) {
                return false;
            }
        } else if (!json_object_has_member(top, "file")) {
            JsonObject *proto = json_object_new();

            json_object_set_object_member(top, "file", proto);
            if (!bdrv_filename_to_options(name, proto, errp)) {
                return false;
            }
        }
    }
    /* A child given by filename alone is a "file" node. */
    bdrv_default_child_drivers(top);
    if (!apply_open_opts(top, o, errp)) {
        return false;
    }
    if (o->aio) {
        JsonObject *leaf = object_member(top, "file");

        set_default(leaf ? leaf : top, "aio", o->aio);
    }
    if (!image_opts && !driver) {
        probed_file = probe_format(top, o, errp);
        if (!probed_file) {
            return false;
        }
    }
    bs = open_tree(tree, probed_file != NULL, errp);
    if (probed_file) {
        /* The format node's edge holds it now, if it opened. */
        bdrv_unref(probed_file);
    }
    if (!bs) {
        return false;
    }
    /*
     * What qemu-io's BlockBackend takes: read, and write when writable,
     * but never resize (truncate asks for it, see io-cmds.c); and it
     * shares everything, so that it may write to a node that a mirror
     * or an export is using, as qemu-io may.
     */
    perm = BLK_PERM_CONSISTENT_READ;
    if (!bdrv_is_read_only(bs)) {
        perm |= BLK_PERM_WRITE;
    }
    blk = blk_new_with_bs(bs, perm, BLK_PERM_ALL, errp);
    bdrv_unref(bs);
    if (!blk) {
        return false;
    }
    /*
     * qemu-io's default is writethrough: every write is flushed before
     * it completes (so metadata errors show on the write itself).  Only
     * writeback, none and unsafe turn the write cache on.
     */
    blk_set_enable_write_cache(blk, o->cache &&
                               (!strcmp(o->cache, "writeback") ||
                                !strcmp(o->cache, "none") ||
                                !strcmp(o->cache, "off") ||
                                !strcmp(o->cache, "unsafe")));
    io_ctx.blk = blk;
    return true;
}

static void close_image(void)
{
    if (io_ctx.blk) {
        blk_drain(io_ctx.blk);
        blk_unref(io_ctx.blk);
        io_ctx.blk = NULL;
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

/* -s and -C, which need drivers qblock does not have. */
static bool refuse_unsupported(int c)
{
    if (c == 's') {
        error_report("snapshot mode (-s) needs a temporary overlay, which "
                     "qblock-io does not support");
        return true;
    }
    if (c == 'C') {
        error_report("copy-on-read (-C) needs the copy-on-read filter, "
                     "which qblock-io does not support");
        return true;
    }
    return false;
}

static int cmd_open(IoCmdContext *ctx, int argc, char **argv)
{
    g_autoptr(GString) extra = NULL;
    OpenOpts o = { 0 };
    const char *name;
    Error *err = NULL;
    int c;

    if (ctx->blk) {
        error_report("file open already, try 'help close'");
        return -EBUSY;
    }
    optind = 0;
    while ((c = getopt(argc, argv, "snCrkUi:t:d:o:")) != -1) {
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
        case 'k':
            o.aio = "native";
            break;
        case 'i':
            if (!check_aio_mode(optarg, &err)) {
                error_report_err(err);
                return -EINVAL;
            }
            o.aio = optarg;
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
        case 'o':
            /* Repeated -o options add up. */
            if (!extra) {
                extra = g_string_new(optarg);
            } else {
                g_string_append_printf(extra, ",%s", optarg);
            }
            break;
        case 's':
        case 'C':
            refuse_unsupported(c);
            return -ENOTSUP;
        default:
            io_cmd_print_usage(ctx, "open");
            return -EINVAL;
        }
    }
    /* As qemu-io: the path may be left out when -o names the file. */
    if (optind == argc - 1) {
        name = argv[optind];
    } else if (optind == argc && extra) {
        name = NULL;
    } else {
        io_cmd_print_usage(ctx, "open");
        return -EINVAL;
    }
    o.extra = extra ? extra->str : NULL;
    if (!open_image(name, NULL, false, &o, &err)) {
        if (name) {
            error_reportf_err(err, "can't open device %s: ", name);
        } else {
            error_reportf_err(err, "can't open: ");
        }
        return -EINVAL;
    }
    return 0;
}

static int cmd_close(IoCmdContext *ctx, int argc, char **argv)
{
    close_image();
    return 0;
}

static int cmd_quit(IoCmdContext *ctx, int argc, char **argv)
{
    io_quit = true;
    return 0;
}

/* qemu-io's open help has no closing blank line; neither has this. */
static const char help_open[] =
"\n"
" opens a new file in the requested mode\n"
"\n"
" Example:\n"
" 'open -n -o driver=raw /tmp/data' - opens raw data file read-write, uncached\n"
"\n"
" Opens a file for subsequent use by all of the other qemu-io commands.\n"
" -r, -- open file read-only\n"
" -s, -- use snapshot file\n"
" -C, -- use copy-on-read\n"
" -n, -- disable host cache, short for -t none\n"
" -U, -- force shared permissions\n"
" -k, -- use kernel AIO implementation (Linux only, prefer use of -i)\n"
" -i, -- use AIO mode (threads, native or io_uring)\n"
" -t, -- use the given cache mode for the image\n"
" -d, -- use the given discard mode for the image\n"
" -o, -- options to be given to the block driver\n";

/* The commands qemu-io adds to the shared table; sorted by name. */
static const IoCmd tool_cmds[] = {
    { "close", cmd_close, 0, 0, false, 0, NULL,
      "close the current open file" },
    { "open", cmd_open, 1, -1, true, 0,
      "[-rsCnkU] [-t cache] [-d discard] [-o options] [path]",
      "open the file specified by path", NULL, help_open },
    { "quit", cmd_quit, 0, -1, true, 0, NULL,
      "exit the program", "q" },
};

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
        if (io_cmd_run(&io_ctx, line) < 0) {
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
           "  -k, --native-aio     use kernel AIO implementation\n"
           "                       (Linux only, prefer use of -i)\n"
           "  -i, --aio=MODE       use AIO mode (threads, native or "
           "io_uring)\n"
           "  -t, --cache=MODE     use the given cache mode for the image\n"
           "  -d, --discard=MODE   use the given discard mode for the image\n"
           "  -T, --trace [[enable=]<pattern>][,events=<file>][,file=<file>]\n"
           "                       specify tracing options\n"
           "  -U, --force-share    force shared permissions\n"
           "  -h, --help           display this help and exit\n"
           "  -V, --version        output version information and exit\n"
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
        { "native-aio", no_argument, NULL, 'k' },
        { "snapshot", no_argument, NULL, 's' },
        { "copy-on-read", no_argument, NULL, 'C' },
        { "trace", required_argument, NULL, 'T' },
        { "version", no_argument, NULL, 'V' },
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
    io_ctx.out = stdout;
    io_ctx.err = stderr;
    io_ctx.extra_cmds = tool_cmds;
    io_ctx.n_extra_cmds = G_N_ELEMENTS(tool_cmds);
    while ((c = getopt_long(argc, argv, "hVc:f:rsnCki:t:d:T:U", long_opts,
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
        case 'k':
            o.aio = "native";
            break;
        case 's':
        case 'C':
            refuse_unsupported(c);
            return 1;
        case 'T':
            if (!trace_opt_parse(optarg, &err)) {
                error_report_err(err);
                return 1;
            }
            break;
        case 'V':
            printf("qblock-io version " QBLOCK_VERSION
                   " (the commands of qemu-io %d.%d)\n",
                   QBLOCK_QEMU_MAJOR, QBLOCK_QEMU_MINOR);
            return 0;
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
    trace_init_from_env();
    qemu_init_main_loop(&error_fatal);
    bdrv_init();

    if (optind < argc) {
        if (!open_image(argv[optind], fmt, image_opts, &o, &err)) {
            /* qemu-io names no device when given options. */
            if (image_opts) {
                error_reportf_err(err, "can't open: ");
            } else {
                error_reportf_err(err, "can't open device %s: ",
                                  argv[optind]);
            }
            return 1;
        }
    }
    if (!cmds->len) {
        status = command_loop();
    }
    for (i = 0; i < cmds->len && !io_quit; i++) {
        if (io_cmd_run(&io_ctx, g_ptr_array_index(cmds, i)) < 0) {
            status = 1;
        }
    }
    close_image();
    return status;
}
