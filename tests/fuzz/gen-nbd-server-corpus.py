#!/usr/bin/env python3
#
# Write the seed corpus of fuzz-nbd-server: each seed is the byte stream
# of one client of the exports that tests/fuzz/fuzz-nbd-server.c serves
# ("fuzz": 1 MiB, writable, bitmap b0, allocation-depth; "ro": the same
# node read-only).  The seeds are valid conversations, so that the fuzzer
# starts from inputs that reach deep into the transmission phase and
# mutates from there; a few end in the hostile cases the server must
# survive.  Written as Python rather than committed as binary files, so a
# reader sees what each one says.
#
# Usage: gen-nbd-server-corpus.py DIR   (make fuzz runs it)

import os
import struct
import sys

OPTS_MAGIC = 0x49484156454F5054
REQ_MAGIC = 0x25609513

OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_INFO, OPT_GO, OPT_STRUCTURED_REPLY = 6, 7, 8
OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT = 9, 10

INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE = 1, 2, 3

CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM = 0, 1, 2, 3, 4
CMD_CACHE, CMD_WRITE_ZEROES, CMD_BLOCK_STATUS = 5, 6, 7

FLAG_FUA, FLAG_NO_HOLE, FLAG_DF, FLAG_REQ_ONE, FLAG_FAST_ZERO = 1, 2, 4, 8, 16

SIZE = 1 << 20


def client_flags(flags=3):
    """Fixed newstyle and no zeroes: what every modern client sends."""
    return struct.pack('>I', flags)


def opt(o, data=b''):
    return struct.pack('>QII', OPTS_MAGIC, o, len(data)) + data


def name_and_infos(name, infos=()):
    return (struct.pack('>I', len(name)) + name +
            struct.pack('>H', len(infos)) +
            b''.join(struct.pack('>H', i) for i in infos))


def meta(name, queries):
    return (struct.pack('>I', len(name)) + name +
            struct.pack('>I', len(queries)) +
            b''.join(struct.pack('>I', len(q)) + q for q in queries))


def req(typ, off, ln, flags=0, cookie=1, data=b''):
    return struct.pack('>IHHQQI', REQ_MAGIC, flags, typ, cookie, off,
                       ln) + data


CONTEXTS = [b'base:allocation', b'qemu:allocation-depth',
            b'qemu:dirty-bitmap:b0']


def handshake(name=b'fuzz', structured=True, contexts=CONTEXTS,
              infos=(INFO_BLOCK_SIZE,)):
    s = client_flags()
    if structured:
        s += opt(OPT_STRUCTURED_REPLY)
        if contexts:
            s += opt(OPT_SET_META_CONTEXT, meta(name, contexts))
    s += opt(OPT_GO, name_and_infos(name, infos))
    return s


def transmission():
    """One of each command the writable export takes, then DISC."""
    s = req(CMD_READ, 0, 4096, cookie=1)
    s += req(CMD_WRITE, 65536, 512, flags=FLAG_FUA, cookie=2,
             data=b'\xa5' * 512)
    s += req(CMD_BLOCK_STATUS, 0, SIZE, cookie=3)
    s += req(CMD_TRIM, 131072, 8192, cookie=4)
    s += req(CMD_TRIM, 262144, 4096, flags=FLAG_FUA, cookie=11)
    s += req(CMD_WRITE_ZEROES, 4096, 4096, flags=FLAG_NO_HOLE, cookie=5)
    s += req(CMD_FLUSH, 0, 0, cookie=6)
    s += req(CMD_CACHE, 0, 65536, cookie=7)
    s += req(CMD_READ, SIZE - 512, 512, flags=FLAG_DF, cookie=8)
    s += req(CMD_BLOCK_STATUS, 4096, 65536, flags=FLAG_REQ_ONE, cookie=9)
    s += req(CMD_DISC, 0, 0, cookie=10)
    return s


SEEDS = {
    # The brief's seed: GO, structured reply, SET_META_CONTEXT with all
    # three contexts, then READ, WRITE, BLOCK_STATUS, TRIM ... DISC.
    'go-structured-meta-all-cmds': handshake() + transmission(),
    # Simple replies: no structured reply, so no contexts either.
    'go-simple-all-cmds': handshake(structured=False) +
        req(CMD_READ, 0, 4096) +
        req(CMD_WRITE, 512, 1024, cookie=2, data=b'\x5a' * 1024) +
        req(CMD_TRIM, 0, 65536, cookie=3) +
        req(CMD_WRITE_ZEROES, 0, 4096, flags=FLAG_FAST_ZERO, cookie=4) +
        req(CMD_FLUSH, 0, 0, cookie=5) + req(CMD_DISC, 0, 0, cookie=6),
    # The old way to pick an export, without an info reply.
    'export-name': client_flags() + opt(OPT_EXPORT_NAME, b'fuzz') +
        req(CMD_READ, 0, 512) + req(CMD_DISC, 0, 0),
    'export-name-zeroes': client_flags(1) + opt(OPT_EXPORT_NAME, b'ro') +
        req(CMD_READ, 4096, 512) + req(CMD_DISC, 0, 0),
    # Negotiation only: list, info with every info type, list contexts
    # (all and by namespace), abort.
    'list-info-abort': client_flags() + opt(OPT_LIST) +
        opt(OPT_INFO, name_and_infos(b'fuzz', (INFO_NAME, INFO_DESCRIPTION,
                                               INFO_BLOCK_SIZE))) +
        opt(OPT_STRUCTURED_REPLY) +
        opt(OPT_LIST_META_CONTEXT, meta(b'fuzz', [])) +
        opt(OPT_LIST_META_CONTEXT, meta(b'fuzz', [b'qemu:', b'base:',
                                                  b'qemu:dirty-bitmap:'])) +
        opt(OPT_STARTTLS) + opt(99) + opt(OPT_ABORT),
    # The read-only export refuses writes, trims and zero writes.
    'ro-refusals': handshake(name=b'ro', contexts=[b'base:allocation']) +
        req(CMD_WRITE, 0, 512, data=b'\x01' * 512) +
        req(CMD_TRIM, 0, 512, cookie=2) +
        req(CMD_WRITE_ZEROES, 0, 512, cookie=3) +
        req(CMD_BLOCK_STATUS, 0, SIZE, cookie=4) +
        req(CMD_READ, 0, 512, cookie=5) + req(CMD_DISC, 0, 0, cookie=6),
    # Errors the client survives: past the end, unknown command and flag,
    # block status without contexts, a second SET_META_CONTEXT.
    'errors-then-disc': handshake(contexts=[b'qemu:dirty-bitmap:b0']) +
        req(CMD_READ, SIZE - 512, 1024) +
        req(CMD_READ, (1 << 64) - 512, 1024, cookie=2) +
        req(42, 0, 0, cookie=3) +
        req(CMD_READ, 0, 512, flags=0x8000, cookie=4) +
        req(CMD_BLOCK_STATUS, 0, 0, cookie=5) +
        req(CMD_WRITE, SIZE, 512, cookie=6, data=b'\0' * 512) +
        req(CMD_DISC, 0, 0, cookie=7),
    'block-status-no-contexts': handshake(contexts=[]) +
        req(CMD_BLOCK_STATUS, 0, 4096) + req(CMD_DISC, 0, 0, cookie=2),
    # Sixteen reads in flight (the server's limit), then more, then a
    # close without DISC.
    'many-in-flight': handshake() +
        b''.join(req(CMD_READ, i * 65536, 65536, cookie=i)
                 for i in range(20)),
    # The connection ends in the middle of a write's payload.
    'cut-mid-write': handshake() + req(CMD_WRITE, 0, 4096) + b'\x33' * 100,
}


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: gen-nbd-server-corpus.py DIR')
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(sys.argv[1], name + '.bin'), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
