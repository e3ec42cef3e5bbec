#!/usr/bin/env python3
"""Tests of the QAPI generator's error checking, as TAP.

Every bad-*.json in this directory is a schema the generator must reject;
its bad-*.err holds the exact message (file names relative to this
directory).  qapi-schema-test.json and the real schema must be accepted.

Usage: test-qapi-schema.py SCRIPTS_DIR TEST_DIR [--update]

--update rewrites the .err files from what the generator says now (review
the diff before committing it).
"""

import glob
import os
import sys
import traceback


def check_bad(fname, update):
    """Return None if @fname fails with the expected message, else a
    description of the difference."""
    from qapi.error import QAPIError
    from qapi.schema import QAPISchema

    errfile = fname[:-len('.json')] + '.err'
    try:
        QAPISchema(fname)
    except QAPIError as err:
        got = str(err) + '\n'
    else:
        return 'the schema was accepted'
    if update:
        with open(errfile, 'w', encoding='utf-8') as f:
            f.write(got)
    try:
        with open(errfile, 'r', encoding='utf-8') as f:
            want = f.read()
    except OSError as err:
        return 'cannot read %s: %s' % (errfile, err.strerror)
    if got != want:
        return 'expected:\n%sgot:\n%s' % (want, got)
    return None


def check_good(fname):
    from qapi.schema import QAPISchema

    QAPISchema(fname)


def diag(text):
    for line in text.splitlines():
        print('# ' + line)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    scripts_dir = os.path.abspath(argv[1])
    test_dir = os.path.abspath(argv[2])
    update = '--update' in argv[3:]
    sys.path.insert(0, scripts_dir)
    os.chdir(test_dir)

    bad = sorted(glob.glob('bad-*.json'))
    good = ['qapi-schema-test.json',
            os.path.relpath(os.path.join(scripts_dir, '..', 'qapi',
                                         'qapi-schema.json'))]
    print('1..%d' % (len(bad) + len(good)))
    failed = 0
    num = 0
    for fname in good:
        num += 1
        try:
            check_good(fname)
        except Exception:  # pylint: disable=broad-except
            failed += 1
            print('not ok %d %s' % (num, fname))
            diag(traceback.format_exc())
            continue
        print('ok %d %s' % (num, fname))
    for fname in bad:
        num += 1
        try:
            problem = check_bad(fname, update)
        except Exception:  # pylint: disable=broad-except
            problem = traceback.format_exc()
        if problem:
            failed += 1
            print('not ok %d %s' % (num, fname))
            diag(problem)
        else:
            print('ok %d %s' % (num, fname))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
