#!/usr/bin/env python3
"""io-bench.py: qblock's block layer beside fio, on one file, in one run.

    bench/io-bench.py [--build DIR] [--dir DIR] [--size BYTES]
                      [--runtime SECONDS] [--repeat N] [--fio-batch]
                      [--only RW...]

Makes a fully written test file (1 GiB by default) in --dir (default
$TMPDIR, else /tmp), then for each workload runs build/bench/io-bench
(BlockBackend -> block/io.c -> file node with cache.direct=on,
aio=io_uring) and fio --ioengine=io_uring --direct=1 on the same file at
the same depth, one right after the other, and prints a table: IOPS,
MB/s and CPU time per I/O of each, and qblock / fio.  With --repeat N
each pair runs N times, alternating which goes first, and each figure is
the median of its N runs (a virtual disk's speed drifts by tens of
percent from one second to the next; pairs close in time and medians
keep that out of the ratio).  The file is removed at the end.  Without
fio the fio columns say SKIP.

CPU per I/O is user + system time over requests done: getrusage() of the
io-bench process, fio's usr_cpu + sys_cpu (percent of its run time).

--fio-batch runs fio a second time with iodepth_batch_submit and
iodepth_batch_complete_max at the depth (one io_uring_enter for many
requests, as qblock's engine does) and compares with the better fio.

Speed is measured here and never asserted.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# (label, fio/io-bench rw, block size, depth, aio)
WORKLOADS = [
    ("seq read 1M", "read", 1 * MiB, 1, "io_uring"),
    ("seq read 1M", "read", 1 * MiB, 16, "io_uring"),
    ("seq read 1M", "read", 1 * MiB, 64, "io_uring"),
    ("seq write 1M", "write", 1 * MiB, 1, "io_uring"),
    ("seq write 1M", "write", 1 * MiB, 16, "io_uring"),
    ("seq write 1M", "write", 1 * MiB, 64, "io_uring"),
    ("rand read 4K", "randread", 4 * KiB, 1, "io_uring"),
    ("rand read 4K", "randread", 4 * KiB, 16, "io_uring"),
    ("rand read 4K", "randread", 4 * KiB, 64, "io_uring"),
    ("rand write 4K", "randwrite", 4 * KiB, 1, "io_uring"),
    ("rand write 4K", "randwrite", 4 * KiB, 16, "io_uring"),
    ("rand write 4K", "randwrite", 4 * KiB, 64, "io_uring"),
    # For reference: the thread pool instead of io_uring, beside fio's
    # io_uring figure of the same workload.
    ("rand read 4K", "randread", 4 * KiB, 16, "threads"),
]


def make_file(path, size):
    """Write every block of @path once, so that reads hit the disk."""
    subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=1M",
                    "count=%d" % (size // MiB), "oflag=direct",
                    "conv=fsync"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_qblock(exe, path, size, rw, bs, depth, aio, runtime):
    out = subprocess.run([exe, "--rw=" + rw, "--bs=%d" % bs,
                          "--depth=%d" % depth, "--runtime=%g" % runtime,
                          "--aio=" + aio, "--size=%d" % size, path],
                         check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    for line in out.splitlines():
        if line.startswith("io-bench: "):
            kv = dict(f.split("=", 1) for f in line.split()[1:])
            return {"iops": float(kv["iops"]), "mbps": float(kv["mbps"]),
                    "cpu_us": float(kv["cpu_us_per_io"])}
    raise RuntimeError("io-bench printed no result line")


def run_fio(path, size, rw, bs, depth, runtime, batch):
    argv = ["fio", "--name=io-bench", "--ioengine=io_uring", "--direct=1",
            "--rw=" + rw, "--bs=%d" % bs, "--iodepth=%d" % depth,
            "--runtime=%g" % runtime, "--time_based", "--filename=" + path,
            "--size=%d" % size, "--norandommap", "--randrepeat=0",
            "--output-format=json"]
    if batch:
        argv += ["--iodepth_batch_submit=%d" % depth,
                 "--iodepth_batch_complete_max=%d" % depth]
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL,
                         universal_newlines=True).stdout
    # fio may print notes before the JSON document.
    job = json.loads(out[out.index("{"):])["jobs"][0]
    io = job["write" if "write" in rw else "read"]
    ios = io["total_ios"]
    cpu_s = (job["usr_cpu"] + job["sys_cpu"]) / 100 * job["job_runtime"] / 1e3
    return {"iops": io["iops"], "mbps": io["bw_bytes"] / 1e6,
            "cpu_us": cpu_s * 1e6 / ios if ios else 0.0}


def median_run(runs):
    """The median of each figure of @runs (dicts with the same keys)."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(here, "..", "build"),
                   help="meson build directory holding bench/io-bench")
    p.add_argument("--dir", default=os.environ.get("TMPDIR") or "/tmp",
                   help="where the test file is made")
    p.add_argument("--size", type=int, default=1 * GiB)
    p.add_argument("--runtime", type=float, default=3)
    p.add_argument("--repeat", type=int, default=1,
                   help="runs of each pair; figures are medians")
    p.add_argument("--fio-batch", action="store_true",
                   help="also run fio with whole-depth batches")
    p.add_argument("--only", nargs="*", default=None,
                   help="run only workloads whose rw is listed")
    args = p.parse_args()

    exe = os.path.join(args.build, "bench", "io-bench")
    if not os.access(exe, os.X_OK):
        sys.exit("io-bench.py: %s is missing: ninja -C %s bench/io-bench"
                 % (exe, args.build))
    have_fio = shutil.which("fio") is not None
    size = args.size // MiB * MiB

    fd, path = tempfile.mkstemp(prefix="io-bench.", suffix=".img",
                                dir=args.dir)
    os.close(fd)
    try:
        make_file(path, size)
        print("%s, %d MiB, O_DIRECT, %g s a run, median of %d, fio%s"
              % (path, size // MiB, args.runtime, args.repeat,
                 "" if have_fio else ": SKIP (not installed)"))
        hdr = ("%-14s %5s %-8s | %10s %9s %7s | %10s %9s %7s | %6s"
               % ("workload", "depth", "aio", "qblock IOPS", "MB/s",
                  "us/IO", "fio IOPS", "MB/s", "us/IO", "ratio"))
        print(hdr)
        print("-" * len(hdr))
        fio_by_row = {}
        rows = []
        for label, rw, bs, depth, aio in WORKLOADS:
            if args.only and rw not in args.only:
                continue
            key = (rw, bs, depth)
            run_fio_too = have_fio and key not in fio_by_row
            qs, fs, fbs = [], [], []
            for i in range(args.repeat):
                # Alternate the order, so neither always runs second.
                if run_fio_too and i % 2:
                    fs.append(run_fio(path, size, rw, bs, depth,
                                      args.runtime, False))
                qs.append(run_qblock(exe, path, size, rw, bs, depth, aio,
                                     args.runtime))
                if run_fio_too and not i % 2:
                    fs.append(run_fio(path, size, rw, bs, depth,
                                      args.runtime, False))
                if run_fio_too and args.fio_batch and depth > 1:
                    fbs.append(run_fio(path, size, rw, bs, depth,
                                       args.runtime, True))
            q = median_run(qs)
            f = fio_by_row.get(key)
            if run_fio_too:
                f = median_run(fs)
                if fbs:
                    fb = median_run(fbs)
                    if fb["iops"] > f["iops"]:
                        f = dict(fb, batched=True)
                fio_by_row[key] = f
            if f:
                fio_cols = "%10.0f %9.1f %7.2f | %5.0f%%" % (
                    f["iops"], f["mbps"], f["cpu_us"],
                    100 * q["iops"] / f["iops"])
                if f.get("batched"):
                    fio_cols += " (fio batched)"
            else:
                fio_cols = "%10s %9s %7s | %6s" % ("SKIP", "SKIP", "SKIP",
                                                    "SKIP")
            print("%-14s %5d %-8s | %10.0f %9.1f %7.2f | %s"
                  % (label, depth, aio, q["iops"], q["mbps"], q["cpu_us"],
                     fio_cols), flush=True)
            rows.append({"workload": label, "rw": rw, "bs": bs,
                         "depth": depth, "aio": aio, "qblock": q,
                         "fio": f})
        print("io-bench-json: " + json.dumps(rows))
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
