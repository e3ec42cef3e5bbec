/*
 * chardev.h: character devices, the byte pipes a monitor talks through.
 *
 * A chardev is created from a --chardev option (QEMU's legacy QemuOpts
 * syntax: "socket,id=mon0,path=/run/q.sock,server=on,wait=off") and looked
 * up by its id.  One frontend (a monitor) attaches to it and receives
 * connect, data and disconnect callbacks; it writes back with
 * chardev_write(), which never blocks: what the peer does not take now is
 * buffered and flushed when the socket is writable.
 *
 * Backends:
 *   socket  unix (path=) or TCP (host=, port=); server=on listens, and while
 *           one peer is connected a second one waits unanswered in the
 *           listen backlog until the first goes, as QEMU's does; server=off
 *           connects out at creation.  wait=on (the default for a server)
 *           blocks start-up until the first peer connects.
 *   null    discards output, never has input.
 *
 * A unix socket file is created with mode 0600 and removed when the
 * chardev is closed.
 *
 * Threads: main thread only.
 */
#ifndef QBLOCK_MONITOR_CHARDEV_H
#define QBLOCK_MONITOR_CHARDEV_H

typedef struct Chardev Chardev;

typedef struct ChardevHandlers {
    /* A peer connected (for a client socket: right after attaching). */
    void (*connected)(void *opaque);
    /* Bytes arrived from the peer. */
    void (*read)(void *opaque, const char *buf, size_t len);
    /* The peer went away; unsent output is dropped. */
    void (*disconnected)(void *opaque);
} ChardevHandlers;

/*
 * Create a chardev from a --chardev option string.  Returns NULL and sets
 * @errp (QEMU's messages) on bad options or a socket error.
 */
Chardev *chardev_new_from_opts(const char *optarg, Error **errp);

/* The chardev with this id, or NULL. */
Chardev *chardev_find(const char *id);

const char *chardev_id(const Chardev *chr);

/*
 * Attach the one frontend.  Fails with QEMU's "Device '%s' is in use" if a
 * frontend is already attached.
 */
bool chardev_attach(Chardev *chr, const ChardevHandlers *handlers,
                    void *opaque, Error **errp);

/* Queue @len bytes for the connected peer (dropped if none is). */
void chardev_write(Chardev *chr, const void *buf, size_t len);

/*
 * Flow control: while @accept is false no read callbacks are made, and
 * the peer's data waits in the kernel.
 */
void chardev_set_accept_input(Chardev *chr, bool accept);

/* Drop the connected peer, if any (the frontend gets no callback). */
void chardev_disconnect(Chardev *chr);

/* Write out whatever is buffered, blocking briefly; used at shutdown. */
void chardev_flush(Chardev *chr);

/* Close every chardev and remove the socket files they created. */
void chardev_close_all(void);

#endif /* QBLOCK_MONITOR_CHARDEV_H */
