#!/usr/bin/env python3
"""pdf-nodates.py PDF: the PDF on stdout without its dates, IDs and the
checksum over them, so that two conversions of one document compare equal."""
import re
import sys

d = open(sys.argv[1], "rb").read()
d = re.sub(rb"/(CreationDate|ModDate)\(D:[^)]*\)", b"", d)
d = re.sub(rb"/ID \[ <[0-9A-F]+>\s*<[0-9A-F]+> \]", b"", d)
sys.stdout.buffer.write(re.sub(rb"/DocChecksum /[0-9A-F]+", b"", d))
