#!/usr/bin/env python3
"""Generate the C code of a QAPI schema; see docs/qapi.md.

Usage: qapi-gen.py [-o OUTPUT_DIR] [-p PREFIX] SCHEMA.json
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qapi.main import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
