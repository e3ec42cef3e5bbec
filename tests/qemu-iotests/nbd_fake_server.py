#!/usr/bin/env python3
"""A deliberately broken NBD server, for testing clients.

    python3 nbd_fake_server.py MODE SOCKET

Listens on the unix socket SOCKET and serves each connection in turn as
MODE says: a correct fixed-newstyle handshake (structured replies,
base:allocation, NBD_OPT_GO with block sizes) over a 1 MiB export of
zeroes, with one fault injected either in the handshake or in the reply
to the first request.  The modes are listed in MODES.  Written from the
NBD protocol (doc/proto.md); nothing here is another project's code.
"""

import os
import socket
import struct
import sys

NBDMAGIC = 0x4e42444d41474943
IHAVEOPT = 0x49484156454F5054
REPMAGIC = 0x0003e889045565a9
OLDSTYLE_MAGIC = 0x0000420281861253
REQ_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
STRUCT_MAGIC = 0x668e33ef

OPT_EXPORT_NAME, OPT_ABORT, OPT_GO = 1, 2, 7
OPT_STRUCTURED_REPLY, OPT_SET_META_CONTEXT = 8, 10
REP_ACK, REP_INFO, REP_META_CONTEXT = 1, 3, 4
REP_ERR_UNSUP = (1 << 31) | 1
REP_ERR_POLICY = (1 << 31) | 2
INFO_EXPORT, INFO_BLOCK_SIZE = 0, 3
CMD_READ, CMD_WRITE, CMD_DISC = 0, 1, 2
TYPE_NONE, TYPE_OFFSET_DATA, TYPE_BLOCK_STATUS = 0, 1, 5
TYPE_ERROR = (1 << 15) | 1
FLAG_DONE = 1
FLAGS = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 6)  # flush fua trim zeroes
SIZE = 1024 * 1024

MODES = {
    # Handshake faults.
    'bad-init-magic': 'the greeting starts with the wrong magic',
    'bad-opts-magic': 'IHAVEOPT is wrong',
    'hangup-greeting': 'the server hangs up in the middle of its greeting',
    'go-policy': 'NBD_OPT_GO is refused with ERR_POLICY and a message',
    'go-no-info': 'NBD_OPT_GO is acked without NBD_INFO_EXPORT',
    'go-bad-block-size': 'the minimum block size is not a power of two',
    'go-bad-reply-magic': 'an option reply with the wrong magic',
    # Transmission faults, in the reply to the first request.
    'reply-bad-magic': 'a reply with a wrong magic',
    'reply-bad-cookie': 'a reply to a cookie never sent',
    'reply-data-outside': 'an OFFSET_DATA chunk outside the request',
    'reply-huge-chunk': 'a chunk claiming a 4 GiB payload',
    'reply-error-eperm': 'an ERROR chunk with EPERM and a message',
    'reply-error-nomsg': 'an ERROR chunk whose message overruns it',
    'reply-hangup': 'half a reply, then the connection closes',
    'reply-simple-enospc': 'a simple reply with ENOSPC',
    'oldstyle': 'no fault: an oldstyle server, simple replies',
    'ok': 'no fault: a correct server',
}


def recv_exact(c, n):
    buf = b''
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def send_rep(c, opt, rtype, payload=b'', magic=REPMAGIC):
    c.sendall(struct.pack('>QIII', magic, opt, rtype, len(payload)) +
              payload)


def handshake(c, mode):
    if mode == 'bad-init-magic':
        c.sendall(struct.pack('>QQH', 0x1122334455667788, IHAVEOPT, 3))
        return None
    if mode == 'bad-opts-magic':
        c.sendall(struct.pack('>QQH', NBDMAGIC, 0x99, 3))
        return None
    if mode == 'oldstyle':
        c.sendall(struct.pack('>QQQI', NBDMAGIC, OLDSTYLE_MAGIC, SIZE,
                              FLAGS | 1) + bytes(124))
        return False
    if mode == 'hangup-greeting':
        c.sendall(struct.pack('>Q', NBDMAGIC))
        return None
    c.sendall(struct.pack('>QQH', NBDMAGIC, IHAVEOPT, 3))
    recv_exact(c, 4)
    structured = False
    while True:
        magic, opt, length = struct.unpack('>QII', recv_exact(c, 16))
        data = recv_exact(c, length)
        if opt == OPT_ABORT:
            send_rep(c, opt, REP_ACK)
            return None
        if opt == OPT_STRUCTURED_REPLY:
            structured = True
            send_rep(c, opt, REP_ACK)
        elif opt == OPT_SET_META_CONTEXT:
            nlen = struct.unpack('>I', data[:4])[0]
            q = data[4 + nlen + 8:]
            send_rep(c, opt, REP_META_CONTEXT, struct.pack('>I', 1) + q)
            send_rep(c, opt, REP_ACK)
        elif opt == OPT_GO:
            if mode == 'go-policy':
                send_rep(c, opt, REP_ERR_POLICY, b'go away')
                continue
            if mode == 'go-bad-reply-magic':
                send_rep(c, opt, REP_ACK, magic=0x1234)
                return None
            if mode != 'go-no-info':
                send_rep(c, opt, REP_INFO,
                         struct.pack('>HQH', INFO_EXPORT, SIZE, FLAGS | 1))
            minimum = 3 if mode == 'go-bad-block-size' else 1
            send_rep(c, opt, REP_INFO,
                     struct.pack('>HIII', INFO_BLOCK_SIZE, minimum, 4096,
                                 32 * 1024 * 1024))
            send_rep(c, opt, REP_ACK)
            return structured
        else:
            send_rep(c, opt, REP_ERR_UNSUP)


def chunk(c, cookie, ctype, payload, flags=FLAG_DONE, length=None):
    c.sendall(struct.pack('>IHHQI', STRUCT_MAGIC, flags, ctype, cookie,
                          len(payload) if length is None else length) +
              payload)


def simple_transmission(c):
    while True:
        magic, flags, ctype, cookie, offset, length = \
            struct.unpack('>IHHQQI', recv_exact(c, 28))
        if magic != REQ_MAGIC or ctype == CMD_DISC:
            return
        if ctype == CMD_WRITE:
            recv_exact(c, length)
        c.sendall(struct.pack('>IIQ', SIMPLE_MAGIC, 0, cookie) +
                  (bytes(length) if ctype == CMD_READ else b''))


def transmission(c, mode):
    if mode == 'oldstyle':
        simple_transmission(c)
        return
    first = True
    while True:
        magic, flags, ctype, cookie, offset, length = \
            struct.unpack('>IHHQQI', recv_exact(c, 28))
        if magic != REQ_MAGIC or ctype == CMD_DISC:
            return
        if ctype == CMD_WRITE:
            recv_exact(c, length)
        fault = mode if first else 'ok'
        first = False
        if fault == 'reply-bad-magic':
            c.sendall(struct.pack('>IIQ', 0xdeadbeef, 0, cookie))
        elif fault == 'reply-bad-cookie':
            chunk(c, cookie + 12345, TYPE_NONE, b'')
        elif fault == 'reply-data-outside' and ctype == CMD_READ:
            chunk(c, cookie, TYPE_OFFSET_DATA,
                  struct.pack('>Q', offset + length) + bytes(length))
        elif fault == 'reply-huge-chunk':
            chunk(c, cookie, TYPE_OFFSET_DATA, b'', length=0xffffffff)
        elif fault == 'reply-error-eperm':
            msg = b'not for you'
            chunk(c, cookie, TYPE_ERROR,
                  struct.pack('>IH', 1, len(msg)) + msg)
        elif fault == 'reply-error-nomsg':
            chunk(c, cookie, TYPE_ERROR, struct.pack('>IH', 5, 100))
        elif fault == 'reply-hangup':
            c.sendall(struct.pack('>IHH', STRUCT_MAGIC, FLAG_DONE,
                                  TYPE_OFFSET_DATA))
            return
        elif fault == 'reply-simple-enospc':
            c.sendall(struct.pack('>IIQ', SIMPLE_MAGIC, 28, cookie))
        elif ctype == CMD_READ:
            chunk(c, cookie, TYPE_OFFSET_DATA,
                  struct.pack('>Q', offset) + bytes(length))
        elif ctype == 7:
            chunk(c, cookie, TYPE_BLOCK_STATUS,
                  struct.pack('>III', 1, length, 0))
        else:
            chunk(c, cookie, TYPE_NONE, b'')


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode not in MODES:
        sys.exit('unknown mode %r' % mode)
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path + '.tmp')
    s.listen(4)
    # Appear only once listening, so that whoever waits for it can connect.
    os.rename(path + '.tmp', path)
    while True:
        c, _ = s.accept()
        try:
            if handshake(c, mode) is not None:
                transmission(c, mode)
        except (EOFError, ConnectionError):
            pass
        finally:
            c.close()


if __name__ == '__main__':
    main()
