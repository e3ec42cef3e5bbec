/*
 * chardev.c: socket and null character devices (see chardev.h).
 *
 * A socket chardev is a small state machine:
 *
 *   listening --accept--> connected --EOF/error--> listening
 *
 * While connected, the listening fd has no handler, so a second client's
 * connect() completes in the kernel backlog but gets no greeting until the
 * first client leaves and the next accept() takes it; this is how QEMU's
 * monitors behave and what QMP clients expect.
 *
 * Output is written straight to the socket; what the kernel does not take
 * is kept in @outbuf and a write handler drains it, so a slow client never
 * blocks the event loop (and never loses a reply).
 *
 * The option parser speaks QEMU's legacy QemuOpts dialect, which --chardev
 * still uses in QEMU 7.2: "backend,key=value,..." with ",," for a comma, a
 * bare "key" meaning key=on and "nokey" meaning key=off (both deprecated,
 * with QEMU's warnings).
 */
#include "qemu/osdep.h"

#include <sys/socket.h>

#include "monitor/chardev.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/id.h"
#include "qemu/queue.h"
#include "qemu/sockets.h"
#include "trace.h"

typedef enum ChardevKind {
    CHARDEV_SOCKET,
    CHARDEV_NULL,
} ChardevKind;

struct Chardev {
    char *id;
    ChardevKind kind;

    /* socket */
    bool is_server;
    bool is_unix;
    char *path;             /* unix: the socket file we created */
    char *addr_str;         /* for messages: "unix:/p" or "host:port" */
    int listen_fd;
    int fd;                 /* connected peer, or -1 */
    bool accept_input;
    GByteArray *outbuf;

    /* frontend */
    const ChardevHandlers *handlers;
    void *opaque;

    QTAILQ_ENTRY(Chardev) next;
};

static QTAILQ_HEAD(, Chardev) chardevs = QTAILQ_HEAD_INITIALIZER(chardevs);

static void chardev_update_handlers(Chardev *chr);

/* ------------------------------------------------------------- options */

typedef struct ChardevOpt {
    const char *name;
    bool is_bool;
} ChardevOpt;

/* What the socket backend accepts; anything else is an invalid parameter. */
static const ChardevOpt socket_opts[] = {
    { "path" }, { "host" }, { "port" }, { "to" },
    { "server", true }, { "wait", true }, { "nodelay", true },
    { "ipv4", true }, { "ipv6", true }, { "mux", true },
    { "abstract", true }, { "tight", true },
    { NULL },
};

static const ChardevOpt null_opts[] = {
    { "mux", true },
    { NULL },
};

static const ChardevOpt *find_opt(const ChardevOpt *opts, const char *name)
{
    for (; opts->name; opts++) {
        if (!strcmp(opts->name, name)) {
            return opts;
        }
    }
    return NULL;
}

/* QEMU's boolean spellings for option values. */
static bool parse_bool(const char *name, const char *value, bool *out,
                       Error **errp)
{
    if (!strcmp(value, "on") || !strcmp(value, "yes") ||
        !strcmp(value, "true") || !strcmp(value, "y")) {
        *out = true;
        return true;
    }
    if (!strcmp(value, "off") || !strcmp(value, "no") ||
        !strcmp(value, "false") || !strcmp(value, "n")) {
        *out = false;
        return true;
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}


/*
 * Split a QemuOpts string into a table of strings.  The first item names
 * the backend when it has no '='.  Returns NULL on a syntax error.
 */
static GHashTable *opts_split(const char *optarg, Error **errp)
{
    g_autoptr(GHashTable) opts = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, g_free);
    const char *p = optarg;
    bool first = true;

    while (*p) {
        g_autoptr(GString) item = g_string_new(NULL);
        const char *eq;
        char *key, *value;

        /* An item runs to the next single comma; ",," is a comma. */
        for (; *p; p++) {
            if (*p == ',') {
                if (p[1] != ',') {
                    break;
                }
                p++;
            }
            g_string_append_c(item, *p);
        }
        if (*p == ',') {
            p++;
        }
        eq = strchr(item->str, '=');
        if (eq) {
            key = g_strndup(item->str, eq - item->str);
            value = g_strdup(eq + 1);
        } else if (first) {
            key = g_strdup("backend");
            value = g_strdup(item->str);
        } else if (g_str_has_prefix(item->str, "no") && item->str[2]) {
            key = g_strdup(item->str + 2);
            value = g_strdup("off");
            warn_report("short-form boolean option '%s' deprecated",
                        item->str);
            error_printf("Please use %s=off instead\n", key);
        } else {
            key = g_strdup(item->str);
            value = g_strdup("on");
            warn_report("short-form boolean option '%s' deprecated",
                        item->str);
            error_printf("Please use %s=on instead\n", key);
        }
        first = false;
        if (!key[0]) {
            g_free(key);
            g_free(value);
            error_setg(errp, "Invalid parameter ''");
            return NULL;
        }
        g_hash_table_replace(opts, key, value);
    }
    return g_steal_pointer(&opts);
}

/* ------------------------------------------------------------- sockets */

static void chardev_set_peer(Chardev *chr, int fd, bool nodelay)
{
    socket_set_nonblock(fd);
    if (nodelay && !chr->is_unix) {
        socket_set_nodelay(fd);
    }
    chr->fd = fd;
    g_byte_array_set_size(chr->outbuf, 0);
    trace_chardev_connected(chr->id, fd);
}

static void chardev_drop_peer(Chardev *chr)
{
    if (chr->fd < 0) {
        return;
    }
    aio_set_fd_handler(qemu_get_aio_context(), chr->fd, NULL, NULL, NULL);
    close(chr->fd);
    trace_chardev_disconnected(chr->id, chr->fd);
    chr->fd = -1;
    g_byte_array_set_size(chr->outbuf, 0);
}

static void chardev_peer_gone(Chardev *chr)
{
    chardev_drop_peer(chr);
    if (chr->handlers && chr->handlers->disconnected) {
        chr->handlers->disconnected(chr->opaque);
    }
    chardev_update_handlers(chr);
}

static void chardev_read_ready(void *opaque)
{
    Chardev *chr = opaque;
    char buf[65536];
    ssize_t n;

    RETRY_ON_EINTR(n = read(chr->fd, buf, sizeof(buf)));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
    }
    if (n <= 0) {
        chardev_peer_gone(chr);
        return;
    }
    if (chr->handlers && chr->handlers->read) {
        chr->handlers->read(chr->opaque, buf, n);
    }
}

/* Write what the kernel takes; false if the peer is gone. */
static bool chardev_try_flush(Chardev *chr)
{
    while (chr->outbuf->len) {
        ssize_t n = send(chr->fd, chr->outbuf->data, chr->outbuf->len,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        g_byte_array_remove_range(chr->outbuf, 0, n);
    }
    return true;
}

static void chardev_write_ready(void *opaque)
{
    Chardev *chr = opaque;

    if (!chardev_try_flush(chr)) {
        chardev_peer_gone(chr);
        return;
    }
    chardev_update_handlers(chr);
}

static void chardev_accept_ready(void *opaque)
{
    Chardev *chr = opaque;
    int fd;

    RETRY_ON_EINTR(fd = accept4(chr->listen_fd, NULL, NULL, SOCK_CLOEXEC));
    if (fd < 0) {
        return;
    }
    chardev_set_peer(chr, fd, true);
    chardev_update_handlers(chr);
    if (chr->handlers && chr->handlers->connected) {
        chr->handlers->connected(chr->opaque);
    }
}

/*
 * The one place that decides which fds are watched: the listening socket
 * only while nobody is connected and a frontend is attached, the peer for
 * input while the frontend accepts it, and for output while some waits.
 */
static void chardev_update_handlers(Chardev *chr)
{
    AioContext *ctx = qemu_get_aio_context();

    if (chr->kind != CHARDEV_SOCKET) {
        return;
    }
    if (chr->listen_fd >= 0) {
        aio_set_fd_handler(ctx, chr->listen_fd,
                           chr->fd < 0 && chr->handlers
                           ? chardev_accept_ready : NULL, NULL, chr);
    }
    if (chr->fd >= 0) {
        aio_set_fd_handler(ctx, chr->fd,
                           chr->accept_input && chr->handlers
                           ? chardev_read_ready : NULL,
                           chr->outbuf->len ? chardev_write_ready : NULL,
                           chr);
    }
}

/* ------------------------------------------------------------ creation */

static bool chardev_open_socket(Chardev *chr, GHashTable *opts, Error **errp)
{
    const char *path = g_hash_table_lookup(opts, "path");
    const char *host = g_hash_table_lookup(opts, "host");
    const char *port = g_hash_table_lookup(opts, "port");
    const char *v;
    bool server = false, wait = true, nodelay = false;
    UnixSocketName unix_name = { .path = path };

    if ((v = g_hash_table_lookup(opts, "server")) &&
        !parse_bool("server", v, &server, errp)) {
        return false;
    }
    if ((v = g_hash_table_lookup(opts, "wait")) &&
        !parse_bool("wait", v, &wait, errp)) {
        return false;
    }
    if ((v = g_hash_table_lookup(opts, "nodelay")) &&
        !parse_bool("nodelay", v, &nodelay, errp)) {
        return false;
    }
    if (!path && !host && !port) {
        /* QEMU reads a missing address as an fd backend with no number. */
        error_setg(errp, "Unable to parse FD number ");
        return false;
    }
    if (!path && !port) {
        error_setg(errp, "chardev: socket: no port given");
        return false;
    }
    if (!server && g_hash_table_lookup(opts, "wait")) {
        error_setg(errp, "'wait' option is incompatible with "
                   "socket in client connect mode");
        return false;
    }

    chr->is_server = server;
    chr->is_unix = path != NULL;
    chr->addr_str = path ? g_strdup_printf("unix:%s", path)
                         : g_strdup_printf("%s:%s", host ? host : "", port);
    if (server) {
        /* Only the owner may talk to the monitor: the file is 0600. */
        chr->listen_fd = path ? unix_socket_listen(&unix_name, 1, true, errp)
                              : inet_socket_listen(host ? host : "", port,
                                                   NULL, 1, NULL, errp);
        if (chr->listen_fd < 0) {
            return false;
        }
        if (path) {
            chr->path = g_strdup(path);
        }
        if (wait) {
            /* Start-up waits for the first peer, as QEMU's wait=on. */
            int fd;

            info_report("QEMU waiting for connection on: disconnected:%s,"
                        "server=on", chr->addr_str);
            RETRY_ON_EINTR(fd = accept4(chr->listen_fd, NULL, NULL,
                                        SOCK_CLOEXEC));
            if (fd < 0) {
                error_setg_errno(errp, errno, "Failed to accept connection");
                return false;
            }
            chardev_set_peer(chr, fd, nodelay);
        }
    } else {
        int fd = path ? unix_socket_connect(&unix_name, errp)
                      : inet_socket_connect(host ? host : "", port, NULL,
                                            errp);
        if (fd < 0) {
            return false;
        }
        chardev_set_peer(chr, fd, nodelay);
    }
    return true;
}

static void chardev_free(Chardev *chr)
{
    chardev_drop_peer(chr);
    if (chr->listen_fd >= 0) {
        aio_set_fd_handler(qemu_get_aio_context(), chr->listen_fd, NULL,
                           NULL, NULL);
        close(chr->listen_fd);
    }
    if (chr->path) {
        unlink(chr->path);
    }
    g_byte_array_free(chr->outbuf, true);
    g_free(chr->path);
    g_free(chr->addr_str);
    g_free(chr->id);
    g_free(chr);
}

Chardev *chardev_new_from_opts(const char *optarg, Error **errp)
{
    g_autoptr(GHashTable) opts = opts_split(optarg, errp);
    const ChardevOpt *known;
    const char *backend, *id;
    GHashTableIter iter;
    gpointer key;
    Chardev *chr;

    if (!opts) {
        return NULL;
    }
    id = g_hash_table_lookup(opts, "id");
    if (!id) {
        error_setg(errp, "chardev: no id specified");
        return NULL;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        error_append_hint(errp, "Identifiers consist of letters, digits, "
                          "'-', '.', '_', starting with a letter.\n");
        return NULL;
    }
    backend = g_hash_table_lookup(opts, "backend");
    if (!backend) {
        error_setg(errp, "chardev: \"%s\" missing backend", id);
        return NULL;
    }
    if (!strcmp(backend, "socket")) {
        known = socket_opts;
    } else if (!strcmp(backend, "null")) {
        known = null_opts;
    } else {
        error_setg(errp, "'%s' is not a valid char driver name", backend);
        return NULL;
    }
    g_hash_table_iter_init(&iter, opts);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        const char *name = key;
        const ChardevOpt *o;

        if (!strcmp(name, "id") || !strcmp(name, "backend")) {
            continue;
        }
        o = find_opt(known, name);
        if (!o) {
            error_setg(errp, "Invalid parameter '%s'", name);
            return NULL;
        }
        if (o->is_bool) {
            bool dummy;
            if (!parse_bool(name, g_hash_table_lookup(opts, name), &dummy,
                            errp)) {
                return NULL;
            }
        }
    }
    if (chardev_find(id)) {
        /* QEMU 7.2 words it after the yank instance a socket registers. */
        error_setg(errp, "duplicate yank instance");
        return NULL;
    }

    chr = g_new0(Chardev, 1);
    chr->id = g_strdup(id);
    chr->listen_fd = -1;
    chr->fd = -1;
    chr->accept_input = true;
    chr->outbuf = g_byte_array_new();
    if (!strcmp(backend, "socket")) {
        chr->kind = CHARDEV_SOCKET;
        if (!chardev_open_socket(chr, opts, errp)) {
            chardev_free(chr);
            return NULL;
        }
    } else {
        chr->kind = CHARDEV_NULL;
    }
    QTAILQ_INSERT_TAIL(&chardevs, chr, next);
    trace_chardev_new(chr->id, backend);
    return chr;
}

Chardev *chardev_find(const char *id)
{
    Chardev *chr;

    QTAILQ_FOREACH(chr, &chardevs, next) {
        if (!strcmp(chr->id, id)) {
            return chr;
        }
    }
    return NULL;
}

const char *chardev_id(const Chardev *chr)
{
    return chr->id;
}

bool chardev_attach(Chardev *chr, const ChardevHandlers *handlers,
                    void *opaque, Error **errp)
{
    if (chr->handlers) {
        error_setg(errp, "Device '%s' is in use", chr->id);
        return false;
    }
    chr->handlers = handlers;
    chr->opaque = opaque;
    chardev_update_handlers(chr);
    /* A peer that connected during start-up (wait=on, client mode). */
    if (chr->fd >= 0 && handlers->connected) {
        handlers->connected(opaque);
    }
    return true;
}

void chardev_write(Chardev *chr, const void *buf, size_t len)
{
    if (chr->kind != CHARDEV_SOCKET || chr->fd < 0) {
        return;
    }
    g_byte_array_append(chr->outbuf, buf, len);
    if (!chardev_try_flush(chr)) {
        /* The peer is gone: the read handler will see EOF and clean up. */
        g_byte_array_set_size(chr->outbuf, 0);
        return;
    }
    chardev_update_handlers(chr);
}

void chardev_set_accept_input(Chardev *chr, bool accept)
{
    chr->accept_input = accept;
    chardev_update_handlers(chr);
}

void chardev_disconnect(Chardev *chr)
{
    chardev_drop_peer(chr);
    chardev_update_handlers(chr);
}

void chardev_flush(Chardev *chr)
{
    int64_t deadline = g_get_monotonic_time() + G_USEC_PER_SEC;

    while (chr->fd >= 0 && chr->outbuf->len &&
           g_get_monotonic_time() < deadline) {
        if (!chardev_try_flush(chr)) {
            break;
        }
        if (chr->outbuf->len) {
            g_usleep(1000);
        }
    }
}

void chardev_close_all(void)
{
    Chardev *chr, *next;

    QTAILQ_FOREACH_SAFE(chr, &chardevs, next, next) {
        QTAILQ_REMOVE(&chardevs, chr, next);
        chardev_flush(chr);
        chardev_free(chr);
    }
}
