#!/usr/bin/env python3
"""The live-mirror demo: move a disk that is being written to new storage.

    python3 scripts/demo.py [--build DIR] [--size MiB] [--dir DIR]
                            [--daemon PATH] [--writer qemu-io|qblock-io]

What a user of QEMU does to move a running VM's disk, with qblockd in
QEMU's place and a real NBD client as the guest:

 1. a source disk (raw, --size MiB, a third of it random data, the rest
    sparse) is opened by qblockd and exported over NBD, writable;
 2. a guest-like writer (the real qemu-io when installed, else qblock-io)
    connects to the export and keeps writing patterns at random offsets;
 3. drive-mirror copies the disk to a new qcow2 file while the writer
    goes on; the progress bar shows what is copied, the speed and what
    the writer has dirtied again;
 4. at BLOCK_JOB_READY, block-job-complete pivots: the export now writes
    to the copy, without the writer noticing;
 5. the writer stops; qblockd quits; the copy is checked against the
    source as it was plus every write the writer was told had completed
    (qblock-img compare, and the real qemu-img compare and check when
    installed).

It prints a summary and exits 0 only if the copy holds every byte.
Scratch files live in a temporary directory under --dir (default
$TMPDIR), removed at the end; every process started is killed by PID.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'qemu-iotests'))
from iotests import QMPClient  # noqa: E402

MiB = 1024 * 1024
# Guest writes: this size, at offsets aligned to it.
WRITE_SIZE = 64 * 1024


def say(msg):
    print(msg, flush=True)


class Writer(threading.Thread):
    """A guest: an NBD client writing patterns until told to stop.

    The writes go out in batches, one client process per batch (a real
    client connecting to the export each time, as a guest reconnecting
    would); a batch counts as done only when its client exits 0, so @done
    holds (offset, pattern) of writes the server has acknowledged, in
    order, and the expected disk can be rebuilt from them afterwards.
    """

    BATCH = 16

    def __init__(self, binary, uri, size):
        super().__init__(daemon=True)
        self.binary = binary
        self.uri = uri
        self.size = size
        self.done = []
        self.stop = threading.Event()
        self.error = None
        self.proc = None
        self.rng = random.Random(1234)

    def run(self):
        try:
            while not self.stop.is_set():
                batch = []
                argv = [self.binary, '-f', 'raw']
                for _ in range(self.BATCH):
                    off = self.rng.randrange(self.size // WRITE_SIZE) * \
                        WRITE_SIZE
                    pattern = self.rng.randrange(1, 256)
                    batch.append((off, pattern))
                    argv += ['-c', 'write -q -P 0x%x %d %d' %
                             (pattern, off, WRITE_SIZE)]
                self.proc = subprocess.Popen(argv + [self.uri],
                                             stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT,
                                             text=True)
                out, _ = self.proc.communicate(timeout=60)
                if self.proc.returncode != 0 or out.strip():
                    raise RuntimeError('the writer says: ' + out.strip())
                self.done += batch
        except Exception as e:  # noqa: BLE001 - reported by main()
            self.error = e

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def finish(self):
        self.stop.set()
        self.join(60)


def make_source(path, size):
    """Random data over the first third, then every other MiB sparse."""
    rng = random.Random(42)
    with open(path, 'wb') as f:
        f.truncate(size)
        for off in range(0, size, MiB):
            if off >= size // 3 and (off // MiB) % 2:
                continue
            f.seek(off)
            f.write(rng.randbytes(MiB))


def expected_image(src_copy, writes):
    with open(src_copy, 'r+b') as f:
        for off, pattern in writes:
            f.seek(off)
            f.write(bytes([pattern]) * WRITE_SIZE)


def bar(frac, width=30):
    n = int(frac * width)
    return '[' + '#' * n + '.' * (width - n) + ']'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default='build')
    ap.add_argument('--daemon', help='the daemon (default BUILD/'
                    'storage-daemon/qblockd)')
    ap.add_argument('--size', type=int, default=1024, help='MiB')
    ap.add_argument('--dir', default=os.environ.get('TMPDIR', '/tmp'))
    ap.add_argument('--writer', choices=['qemu-io', 'qblock-io'])
    ap.add_argument('--speed', type=int, default=200,
                    help='copy speed limit before READY, MiB/s (0: none); '
                    'the default keeps the copy long enough to watch')
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    daemon = args.daemon or os.path.join(build, 'storage-daemon', 'qblockd')
    qblock_img = os.path.join(build, 'tools', 'qblock-img')
    qblock_io = os.path.join(build, 'tools', 'qblock-io')
    qemu_io = shutil.which('qemu-io')
    qemu_img = shutil.which('qemu-img')
    writer_name = args.writer or ('qemu-io' if qemu_io else 'qblock-io')
    writer_bin = qemu_io if writer_name == 'qemu-io' else qblock_io
    if not writer_bin:
        sys.exit('demo: qemu-io is not installed; use --writer qblock-io')
    size = args.size * MiB

    tmp = tempfile.mkdtemp(prefix='qblock-demo.', dir=args.dir)
    procs = []
    w = None
    ok = False
    try:
        src = os.path.join(tmp, 'disk.raw')
        tgt = os.path.join(tmp, 'disk-moved.qcow2')
        qmp_sock = os.path.join(tmp, 'qmp.sock')
        nbd_sock = os.path.join(tmp, 'nbd.sock')

        say('== qblock live-mirror demo ==')
        say('1. source disk: %d MiB raw (a third random data, the rest '
            'half sparse)' % args.size)
        make_source(src, size)
        shutil.copyfile(src, src + '.orig')

        say('2. qblockd exports it over NBD (%s)' %
            os.path.basename(daemon))
        d = subprocess.Popen([
            daemon,
            '--blockdev', 'driver=file,node-name=disk-file,filename=' + src,
            '--blockdev', 'driver=raw,node-name=disk,file=disk-file',
            '--nbd-server', 'addr.type=unix,addr.path=' + nbd_sock,
            '--export', 'type=nbd,id=exp0,node-name=disk,name=disk,'
                        'writable=on',
            '--chardev', 'socket,id=mon,path=%s,server=on,wait=off' %
                         qmp_sock,
            '--monitor', 'chardev=mon'],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(d)
        deadline = time.monotonic() + 10
        while not (os.path.exists(qmp_sock) and os.path.exists(nbd_sock)):
            if d.poll() is not None or time.monotonic() > deadline:
                sys.exit('demo: qblockd did not start: ' + d.stderr.read())
            time.sleep(0.02)
        qmp = QMPClient(qmp_sock)
        qmp.connect()
        qmp.cmd('qmp_capabilities')

        uri = 'nbd+unix:///disk?socket=' + nbd_sock
        say('3. the guest (%s) writes 64 KiB patterns at random offsets '
            'through %s' % (writer_name, 'nbd+unix:///disk'))
        w = Writer(writer_bin, uri, size)
        w.start()
        time.sleep(0.3)

        say('4. drive-mirror to a new qcow2 file while the guest writes%s' %
            (' (speed limit %d MiB/s)' % args.speed if args.speed else ''))
        t0 = time.monotonic()
        r = qmp.cmd('drive-mirror', {'job-id': 'move0', 'device': 'disk',
                                     'target': tgt, 'format': 'qcow2',
                                     'sync': 'full',
                                     'speed': args.speed * MiB})
        if 'error' in r:
            sys.exit('demo: drive-mirror: ' + r['error']['desc'])
        ready_t = None
        writes_at_start = len(w.done)
        while ready_t is None:
            for ev in qmp.get_events(wait=0.1):
                if ev['event'] == 'BLOCK_JOB_READY':
                    ready_t = time.monotonic()
                elif ev['event'] in ('BLOCK_JOB_COMPLETED',
                                     'BLOCK_JOB_CANCELLED'):
                    sys.exit('demo: the job ended early: %r' % ev)
            jobs = qmp.cmd('query-block-jobs')['return']
            if jobs:
                j = jobs[0]
                el = time.monotonic() - t0
                frac = j['offset'] / j['len'] if j['len'] else 1.0
                sys.stdout.write('\r   %s %5.1f%%  %7.1f MB/s  dirty %6.1f '
                                 'MiB  guest writes %d   ' % (
                                     bar(frac), 100 * frac,
                                     j['offset'] / MiB / el if el else 0,
                                     (j['len'] - j['offset']) / MiB,
                                     len(w.done) - writes_at_start))
                sys.stdout.flush()
            if w.error:
                sys.exit('\ndemo: writer failed: %s' % w.error)
        sys.stdout.write('\n')
        job = qmp.cmd('query-block-jobs')['return'][0]
        say('   BLOCK_JOB_READY after %.2f s: in sync, %d MiB copied' %
            (ready_t - t0, job['offset'] // MiB))

        say('5. block-job-complete: the export pivots to the copy')
        qmp.cmd('block-job-complete', {'device': 'move0'})
        ev = qmp.event_wait('BLOCK_JOB_COMPLETED', timeout=60)
        done_t = time.monotonic()
        if 'error' in ev['data']:
            sys.exit('demo: the job failed: ' + ev['data']['error'])
        writes_at_pivot = len(w.done)
        time.sleep(1.0)
        w.finish()
        if w.error:
            sys.exit('demo: writer failed after the pivot: %s' % w.error)
        qmp.cmd('quit')
        d.wait(30)
        qmp.close()

        say('6. verify: the copy = the original disk + every completed '
            'guest write')
        expect = src + '.orig'
        expected_image(expect, w.done)
        r = subprocess.run([qblock_img, 'compare', '-f', 'raw', '-F',
                            'qcow2', expect, tgt], capture_output=True,
                           text=True)
        say('   qblock-img compare: ' + r.stdout.strip())
        ok = r.returncode == 0
        if qemu_img:
            r2 = subprocess.run([qemu_img, 'compare', '-f', 'raw', '-F',
                                 'qcow2', expect, tgt],
                                capture_output=True, text=True)
            say('   qemu-img compare:   ' + r2.stdout.strip())
            r3 = subprocess.run([qemu_img, 'check', tgt],
                                capture_output=True, text=True)
            say('   qemu-img check:     ' +
                r3.stdout.strip().splitlines()[0])
            ok = ok and r2.returncode == 0 and r3.returncode == 0

        copy_s = ready_t - t0
        say('')
        say('summary: %d MiB disk moved in %.2f s to READY (%.0f MB/s), '
            'pivot in %.2f s;' % (args.size, copy_s,
                                  size / MiB / copy_s if copy_s else 0,
                                  done_t - ready_t))
        say('         guest writes: %d during the copy, %d after the pivot '
            '(went to the copy)' % (writes_at_pivot - writes_at_start,
                                     len(w.done) - writes_at_pivot))
        say('result: %s' % ('IDENTICAL: the copy holds every write' if ok
                            else 'MISMATCH'))
    finally:
        if w:
            w.stop.set()
            w.kill()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
