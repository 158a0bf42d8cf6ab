#!/usr/bin/env python3
"""Writes a minimal, valid x86-64 ELF executable and malformed variants of it.

    make-elf.py OUTDIR

The base file is built here from scratch, byte by byte, so every offset in
the expected error messages is fixed and the corpus is reproducible without
any checked-in binary:

    0x000  ELF header (64 bytes)
    0x040  one PT_LOAD program header (56 bytes), covering the whole file
    0x080  .text: exit(0) through the exit syscall (9 bytes)
    0x090  .shstrtab (17 bytes)
    0x0a8  section header table: null, .text, .shstrtab (3 x 64 bytes)
    0x168  end of file (360 bytes)
"""
import os
import struct
import sys

BASE_ADDR = 0x400000
TEXT_OFF = 0x80
CODE = bytes([0xB8, 0x3C, 0, 0, 0, 0x31, 0xFF, 0x0F, 0x05])  # mov $60,%eax; xor %edi,%edi; syscall
SHSTRTAB = b"\0.text\0.shstrtab\0"
SHSTRTAB_OFF = 0x90
SHOFF = 0xA8


def ehdr(machine=62, elf_class=2, data=1, shoff=SHOFF, shnum=3, shstrndx=2, phnum=1):
    ident = b"\x7fELF" + bytes([elf_class, data, 1, 0]) + bytes(8)
    return ident + struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, BASE_ADDR + TEXT_OFF, 64, shoff,
                               0, 64, 56, phnum, 64, shnum, shstrndx)


def phdr(filesz):
    return struct.pack("<IIQQQQQQ", 1, 5, 0, BASE_ADDR, BASE_ADDR, filesz, filesz, 0x1000)


def shdr(name, stype, flags, addr, off, size, align):
    return struct.pack("<IIQQQQIIQQ", name, stype, flags, addr, off, size, 0, 0, align, 0)


def base(text_off=TEXT_OFF, **kw):
    out = bytearray(ehdr(**kw))
    out += phdr(SHSTRTAB_OFF + len(SHSTRTAB))
    out += bytes(TEXT_OFF - len(out))
    out += CODE
    out += bytes(SHSTRTAB_OFF - len(out))
    out += SHSTRTAB
    out += bytes(SHOFF - len(out))
    out += shdr(0, 0, 0, 0, 0, 0, 0)
    out += shdr(1, 1, 6, BASE_ADDR + TEXT_OFF, text_off, len(CODE), 16)
    out += shdr(7, 3, 0, 0, SHSTRTAB_OFF, len(SHSTRTAB), 1)
    return bytes(out)


CASES = {
    "valid": base(),
    "empty": b"",
    "text": b"#!/bin/sh\necho this is not an ELF file\n",
    "truncated-ident": base()[:10],
    "truncated-header": base()[:40],
    "truncated-phdrs": base()[:100],
    "class32": base(elf_class=1),
    "big-endian": base(data=2),
    "aarch64": base(machine=183),
    "shoff-past-end": base(shoff=0x10000),
    "section-past-end": base(text_off=0x5000),
    "shstrndx-out-of-range": base(shstrndx=7),
}


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    os.chmod(os.path.join(outdir, "valid"), 0o755)


if __name__ == "__main__":
    main()
