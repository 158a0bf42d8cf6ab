#!/usr/bin/env python3
"""Hostile variants of the minimal ELF of make-elf.py and of a real file.

    make-hostile.py OUTDIR [REAL_ELF]

Writes OUTDIR/NAME for each case and OUTDIR/expected.txt, one line a case:
NAME<TAB>EXIT<TAB>MESSAGE, where MESSAGE is the exact stderr line without
the "elfopt: error: OUTDIR/NAME: " prefix, or "*" where only the prefix and
the exit code are fixed (truncations of a real file at each header
boundary, whose messages depend on its layout).
"""
import importlib.util
import os
import struct
import sys

spec = importlib.util.spec_from_file_location("make_elf", os.path.join(os.path.dirname(__file__), "make-elf.py"))
make_elf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_elf)
base = make_elf.base()


def patch(data, offset, fmt, *values):
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


SH = make_elf.SHOFF
cases = {
    # Header counts far beyond the file.
    "huge-phnum": (patch(base, 0x38, "<H", 0xFFFF), 2,
                   "program header table (offset 0x40, 3669960 bytes) runs past the end of the file (360 bytes)"),
    "huge-shnum": (patch(base, 0x3C, "<H", 0xFFFF), 2,
                   "section header table (offset 0xa8, 4194240 bytes) runs past the end of the file (360 bytes)"),
    "huge-section-size": (patch(base, SH + 64 + 0x20, "<Q", 1 << 62), 2,
                          "section header 1 (offset 0x80, size 0x4000000000000000) points past the end of the file (360 bytes)"),
    "offset-plus-size-wraps": (patch(base, SH + 64 + 0x18, "<Q", (1 << 64) - 8), 2,
                               "section header 1 (offset 0xfffffffffffffff8, size 0x9) points past the end of the file (360 bytes)"),
    # Two sections on the same bytes.
    "overlapping-sections": (patch(base, SH + 2 * 64 + 0x18, "<Q", 0x80), 2,
                             "sections 1 and 2 overlap in the file (offsets 0x80 and 0x80)"),
    # A segment that wraps around the address space.
    "segment-wraps": (patch(base, 0x40 + 0x28, "<Q", (1 << 64) - 0x1000), 2,
                      "a PT_LOAD segment at 0x400000 of size 0xfffffffffffff000 reaches beyond the x86-64 address space"),
    "segment-memsz-below-filesz": (patch(base, 0x40 + 0x28, "<Q", 1), 2,
                                   "a PT_LOAD segment at 0x400000 is smaller in memory than in the file"),
    "phentsize-wrong": (patch(base, 0x36, "<H", 32), 2, "e_phentsize is 32, expected 56"),
    "shentsize-wrong": (patch(base, 0x3A, "<H", 40), 2, "e_shentsize is 40, expected 64"),
    "section-name-past-table": (patch(base, SH + 64, "<I", 500), 2, "*"),
    "misaligned-shoff": (patch(base, 0x28, "<Q", SH + 4), 2,
                         "misaligned header table (e_phoff 0x40, e_shoff 0xac)"),
}


def header_boundaries(data):
    """Offsets at which a truncation cuts a header or table of data."""
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phnum, shnum = struct.unpack_from("<H", data, 0x38)[0], struct.unpack_from("<H", data, 0x3C)[0]
    cuts = {0, 1, 4, 15, 16, 17, 52, 63, 64}
    for k in range(phnum + 1):
        cuts.update({phoff + 56 * k - 1, phoff + 56 * k + 8})
    for k in range(shnum + 1):
        cuts.update({shoff + 64 * k - 1, shoff + 64 * k + 24})
    return sorted(c for c in cuts if 0 <= c < len(data))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = []
    for name, (data, code, message) in cases.items():
        open(os.path.join(out, name), "wb").write(data)
        lines.append(f"{name}\t{code}\t{message}")
    if len(sys.argv) > 2:
        real = open(sys.argv[2], "rb").read()
        for cut in header_boundaries(real):
            name = f"real-cut-at-{cut}"
            open(os.path.join(out, name), "wb").write(real[:cut])
            lines.append(f"{name}\t2\t*")
    open(os.path.join(out, "expected.txt"), "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
