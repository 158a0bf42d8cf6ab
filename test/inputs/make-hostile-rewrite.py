#!/usr/bin/env python3
"""Hostile variants of a real program linked with --emit-relocs, for rewrite.

    make-hostile-rewrite.py OUTDIR PROGRAM [PROGRAM_WITH_DEBUG_INFO]

Each case breaks one table that `elfopt rewrite` reads (static relocations,
.eh_frame, symbols, compressed debug info). Writes OUTDIR/NAME per case and
OUTDIR/expected.txt, one line a case: NAME<TAB>EXIT<TAB>LINE, LINE being the
one line expected on stderr with {file} for the case's path.
"""
import os
import struct
import sys


class Elf:
    def __init__(self, data):
        self.data = bytearray(data)
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shnum, shstrndx = struct.unpack_from("<HH", data, 0x3C)
        self.shoff = shoff
        self.headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i) for i in range(shnum)]
        names_off = self.headers[shstrndx][4]
        self.names = []
        for h in self.headers:
            end = data.index(b"\0", names_off + h[0])
            self.names.append(data[names_off + h[0]:end].decode())

    def index(self, name):
        return self.names.index(name)

    def offset(self, name):
        return self.headers[self.index(name)][4]

    def size(self, name):
        return self.headers[self.index(name)][5]

    def addr(self, name):
        return self.headers[self.index(name)][3]

    def patch(self, at, fmt, *values):
        out = bytearray(self.data)
        struct.pack_into(fmt, out, at, *values)
        return bytes(out)

    def function_symbol(self):
        """(file offset of the first sized STT_FUNC in .text, its name)."""
        symtab, strtab = self.offset(".symtab"), self.offset(".strtab")
        text = self.index(".text")
        for k in range(self.size(".symtab") // 24):
            at = symtab + 24 * k
            name, info, other, shndx, value, size = struct.unpack_from("<IBBHQQ", self.data, at)
            if info & 0xF == 2 and shndx == text and size:
                end = self.data.index(b"\0", strtab + name)
                return at, self.data[strtab + name:end].decode()
        raise SystemExit("no function symbol in .text")


def cases(program, debug):
    e = Elf(program)
    rela = e.offset(".rela.text")
    text_size = e.size(".text")
    r_offset, r_info, r_addend = struct.unpack_from("<QQq", e.data, rela)
    nsyms = e.size(".symtab") // 24
    text_end = e.addr(".text") + text_size
    out = {
        # A relocation of .text beyond the end of .text.
        "rela-offset-past-section": (
            e.patch(rela, "<Q", text_end + 0x1000), 2,
            f"error: {{file}}:(.rela.text+0x0): r_offset {hex(text_end + 0x1000)} is outside .text"),
        # A relocation against a symbol index past .symtab.
        "rela-symbol-out-of-range": (
            e.patch(rela + 8, "<Q", (nsyms + 100) << 32 | (r_info & 0xFFFFFFFF)), 2,
            f"error: {{file}}:(.rela.text+0x0): relocation names symbol {nsyms + 100} of {nsyms}"),
    }
    # .eh_frame: the first record (a CIE) claims more bytes than the section has.
    eh = e.offset(".eh_frame")
    eh_addr = e.addr(".eh_frame")
    out["eh-frame-length-past-section"] = (
        e.patch(eh, "<I", 0x7FFFFFF0), 2,
        f"error: {{file}}:(.eh_frame): truncated record at {hex(eh_addr + 4)}")
    # .eh_frame: a CIE augmentation string that no unwinder knows.
    cie_aug = eh + 4 + 4 + 1  # length, CIE id, version
    aug = e.data[cie_aug:e.data.index(b"\0", cie_aug)].decode()
    out["eh-frame-unknown-augmentation"] = (
        e.patch(cie_aug, "<B", ord("Q")), 2,
        f"error: {{file}}:(.eh_frame): unknown CIE augmentation 'Q{aug[1:]}' at {hex(eh_addr + 10 + len(aug))}")
    # A function symbol whose size runs far past .text: cut at its end, said.
    at, name = e.function_symbol()
    out["symbol-size-past-text"] = (
        e.patch(at + 16, "<Q", 1 << 40), 0,
        "warning: {file}: 1 function symbols run past the end of their section; cut at its end")
    if debug:
        d = Elf(debug)
        info = d.index(".debug_info")
        # SHF_COMPRESSED, and a header that claims 2^40 bytes once inflated.
        flags_at = d.shoff + 64 * info + 8
        body = d.offset(".debug_info")
        data = d.patch(flags_at, "<Q", d.headers[info][2] | 0x800)
        data = Elf(data).patch(body, "<IIQQ", 1, 0, 1 << 40, 1)
        out["debug-info-claims-a-terabyte"] = (
            data, 2,
            "error: {file}: its debug info cannot be read: compressed section .debug_info claims "
            f"1099511627776 bytes from {d.size('.debug_info')}, so the debug info cannot follow the new "
            "layout; pass --strip-debug to drop it, or rebuild with -ffunction-sections")
    return out


def main():
    outdir = sys.argv[1]
    program = open(sys.argv[2], "rb").read()
    debug = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else None
    os.makedirs(outdir, exist_ok=True)
    lines = []
    for name, (data, code, message) in cases(program, debug).items():
        open(os.path.join(outdir, name), "wb").write(data)
        lines.append(f"{name}\t{code}\t{message}")
    open(os.path.join(outdir, "expected.txt"), "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
