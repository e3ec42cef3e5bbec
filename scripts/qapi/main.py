"""The command line of the QAPI generator (scripts/qapi-gen.py)."""

import argparse
import sys

from .commands import gen_commands
from .doc import gen_doc
from .error import QAPIError
from .events import gen_events
from .introspect import gen_introspect
from .schema import QAPISchema
from .types import gen_types
from .visit import gen_visit


def generate(schema_file, output_dir, prefix='', unmask=False):
    """Parse and check @schema_file, then write every generated file
    into @output_dir.  Raises QAPIError for a bad schema."""
    schema = QAPISchema(schema_file)
    files = []
    files += gen_types(schema, prefix)
    files += gen_visit(schema, prefix)
    files += gen_commands(schema, prefix)
    files += gen_events(schema, prefix)
    files += gen_introspect(schema, prefix, unmask)
    files += gen_doc(schema, prefix)
    for gen_file in files:
        gen_file.write(output_dir)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate C code (and a QMP reference) from a QAPI '
                    'schema.')
    parser.add_argument('-o', '--output-dir', default='.',
                        help='write the generated files here')
    parser.add_argument('-p', '--prefix', default='',
                        help='prefix for the file names and for the global '
                             'C names (qmp_init_marshal, QAPIEvent, '
                             'qapi_introspect)')
    parser.add_argument('-u', '--unmask-non-abi-names', action='store_true',
                        help='show real type names in query-qmp-schema '
                             'data (for debugging)')
    parser.add_argument('schema', help='the main schema file')
    args = parser.parse_args(argv)
    if args.prefix and not all(ch.isalnum() or ch in '_-'
                               for ch in args.prefix):
        print("%s: funny character in prefix '%s'"
              % (sys.argv[0], args.prefix), file=sys.stderr)
        return 1
    try:
        generate(args.schema, args.output_dir, args.prefix,
                 args.unmask_non_abi_names)
    except QAPIError as err:
        print(err, file=sys.stderr)
        return 1
    return 0
