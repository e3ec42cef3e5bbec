#!/usr/bin/env python3
"""Run every test suite of qblock and print one summary line.

Suites:
  unit       GLib gtest programs (TAP), in the normal build tree
  unit-san   the same programs in the ASan+UBSan tree
  iotests    tests/qemu-iotests/check against build/
  iotests-san  the same against the sanitizer tree's binaries

Counting is per test case: each TAP "ok" line is one pass, each "not ok" one
failure, "ok ... # SKIP" one skip.  A program that crashes or times out
after its last reported case adds one failure of its own, so a crash is
never hidden behind cases that passed before it.

The last line is "N passed, N failed" (with ", N skipped" when any were
skipped); the exit status is non-zero if anything failed.
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TAP_OK = re.compile(r'^ok \d+')
TAP_NOT_OK = re.compile(r'^not ok \d+')
TAP_SKIP = re.compile(r'#\s*SKIP', re.IGNORECASE)


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures += other.failures


def count_tap(text):
    t = Tally()
    for line in text.splitlines():
        if TAP_NOT_OK.match(line):
            t.failed += 1
            t.failures.append(line)
        elif TAP_OK.match(line):
            if TAP_SKIP.search(line):
                t.skipped += 1
            else:
                t.passed += 1
    return t


def run_meson_suite(build, suite, label, env_extra):
    env = dict(os.environ)
    env.update(env_extra)
    logfile = os.path.join(build, 'meson-logs', 'testlog.json')
    if os.path.exists(logfile):
        os.unlink(logfile)
    print('== %s (%s)' % (label, build), flush=True)
    subprocess.run(['meson', 'test', '-C', build, '--suite', suite,
                    '--print-errorlogs', '--no-rebuild'], env=env)
    total = Tally()
    if not os.path.exists(logfile):
        total.failed += 1
        total.failures.append('%s: meson test wrote no log' % label)
        return total
    with open(logfile, encoding='utf-8') as f:
        for line in f:
            rec = json.loads(line)
            t = count_tap(rec.get('stdout', ''))
            result = rec.get('result')
            if result == 'SKIP' and t.passed + t.failed == 0:
                t.skipped += 1
            elif result not in ('OK', 'SKIP', 'EXPECTEDFAIL') and t.failed == 0:
                # Crashed, timed out, or failed outside any test case.
                t.failed += 1
                t.failures.append('%s: %s %s' % (label, rec.get('name'),
                                                  result))
            else:
                t.failures = ['%s: %s: %s' % (label, rec.get('name'), x)
                              for x in t.failures]
            total.add(t)
    print('   %s: %d passed, %d failed, %d skipped' %
          (label, total.passed, total.failed, total.skipped), flush=True)
    return total


def run_iotests(build, label, env_extra):
    check = os.path.join(ROOT, 'tests', 'qemu-iotests', 'check')
    testdir = os.path.join(ROOT, 'tests', 'qemu-iotests', 'tests')
    t = Tally()
    if not os.path.exists(check) or not os.path.isdir(testdir) or \
            not os.listdir(testdir):
        return t
    env = dict(os.environ)
    env.update(env_extra)
    print('== %s (%s)' % (label, build), flush=True)
    proc = subprocess.run([sys.executable, check, '--build', build,
                           '-j', str(os.cpu_count() or 2), '--summary-json'],
                          stdout=subprocess.PIPE, text=True, env=env)
    summary = None
    for line in proc.stdout.splitlines():
        if line.startswith('SUMMARY-JSON '):
            summary = json.loads(line[len('SUMMARY-JSON '):])
        else:
            print(line, flush=True)
    if summary is None:
        t.failed += 1
        t.failures.append('%s: check printed no summary' % label)
        return t
    t.passed = summary['passed']
    t.failed = summary['failed']
    t.skipped = summary['skipped']
    t.failures = ['%s: %s' % (label, n) for n in summary['failures']]
    if proc.returncode != 0 and t.failed == 0:
        t.failed += 1
        t.failures.append('%s: check exited %d' % (label, proc.returncode))
    print('   %s: %d passed, %d failed, %d skipped' %
          (label, t.passed, t.failed, t.skipped), flush=True)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--san-build', default='build-san')
    ap.add_argument('--no-san', action='store_true')
    args = ap.parse_args()

    supp = os.path.join(ROOT, 'tests', 'lsan.supp')
    san_env = {
        'ASAN_OPTIONS': 'detect_leaks=1:abort_on_error=1:'
                        'detect_stack_use_after_return=0',
        'LSAN_OPTIONS': 'suppressions=%s:print_suppressions=0' % supp,
        'UBSAN_OPTIONS': 'halt_on_error=1:print_stacktrace=1',
        'G_SLICE': 'always-malloc',
    }
    total = Tally()
    total.add(run_meson_suite(args.build, 'unit', 'unit', {}))
    if not args.no_san:
        total.add(run_meson_suite(args.san_build, 'unit', 'unit-san',
                                  san_env))
    total.add(run_iotests(os.path.abspath(args.build), 'iotests', {}))
    if not args.no_san:
        # The daemon under ASan: a leak or a memory error at exit fails
        # the test through its exit status or its output.
        total.add(run_iotests(os.path.abspath(args.san_build), 'iotests-san',
                              san_env))

    for f in total.failures:
        print('FAILED: %s' % f)
    line = '%d passed, %d failed' % (total.passed, total.failed)
    if total.skipped:
        line += ', %d skipped' % total.skipped
    print(line)
    return 1 if total.failed else 0


if __name__ == '__main__':
    sys.exit(main())
