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

static IoCmdContext io_ctx;

/* Set by "quit": no further command runs. */
static bool io_quit;

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
 * Open @name into io_ctx.blk.  @fmt NULL means probe (only raw is known, so
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
        if (bdrv_format_is_protocol(fmt)) {
            /* The protocol node itself: -f file, -f nbd. */
            json_object_remove_member(top, "driver");
            if (!bdrv_filename_to_options(name, top, errp)) {
                return false;
            }
        } else {
            proto = json_object_new();
            json_object_set_object_member(top, "file", proto);
            if (!bdrv_filename_to_options(name, proto, errp)) {
                return false;
            }
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

static int cmd_open(IoCmdContext *ctx, int argc, char **argv)
{
    OpenOpts o = { 0 };
    Error *err = NULL;
    int c;

    if (ctx->blk) {
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
            io_cmd_print_usage(ctx, "open");
            return -EINVAL;
        }
    }
    if (optind != argc - 1) {
        io_cmd_print_usage(ctx, "open");
        return -EINVAL;
    }
    if (!open_image(argv[optind], NULL, false, &o, &err)) {
        error_reportf_err(err, "can't open device %s: ", argv[optind]);
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
    io_ctx.out = stdout;
    io_ctx.err = stderr;
    io_ctx.extra_cmds = tool_cmds;
    io_ctx.n_extra_cmds = G_N_ELEMENTS(tool_cmds);
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
        if (io_cmd_run(&io_ctx, g_ptr_array_index(cmds, i)) < 0) {
            status = 1;
        }
    }
    close_image();
    return status;
}
