#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_go_binary: tiny synthetic Go executables (ELF64, one executable
segment, a Go 1.18+ pclntab naming crypto/tls.(*Conn).Write and .Read, Go build info), one with its
section table and one without, and one with a Go 1.16 pclntab. A real Go binary is megabytes; these
reach the same code in a kilobyte. The files are committed; rerun only to change them."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "fuzz_go_binary")
BASE = 0x400000
NAMES = ["main.main", "crypto/tls.(*Conn).Write", "crypto/tls.(*Conn).Read"]


def pad(b, align, fill=b"\0"):
    return b + fill * ((-len(b)) % align)


def pclntab(text_start, magic):
    names = b""
    name_offs = []
    for n in NAMES:
        name_offs.append(len(names))
        names += n.encode() + b"\0"
    header_len = 8 + 8 * 8
    funcname_off = header_len
    functab_off = funcname_off + len(pad(names, 8))
    functab_len = (2 * len(NAMES) + 1) * 4
    funcs_at = len(pad(b"\0" * functab_len, 8))  # _func records after the functab, offsets from it
    functab = b""
    funcs = b""
    for i, _ in enumerate(NAMES):
        functab += struct.pack("<II", 0x10 * i, funcs_at + len(funcs))
        funcs += struct.pack("<Ii", 0x10 * i, name_offs[i]) + b"\0" * 8
    functab += struct.pack("<I", 0x10 * len(NAMES))
    hdr = struct.pack("<IBBBB", magic, 0, 0, 1, 8)
    hdr += struct.pack("<8Q", len(NAMES), 0, text_start, funcname_off, 0, 0, 0, functab_off)
    return hdr + pad(names, 8) + pad(functab, 8) + funcs


def buildinfo(version):
    v = version.encode()
    return b"\xff Go buildinf:" + bytes([8, 2]) + b"\0" * 16 + bytes([len(v)]) + v + b"\0"


def elf(magic=0xFFFFFFF0, version="go1.21.5", sections=True, write=b"\x90\xc3\x90\xc3"):
    text_off = 0x100
    # main.main: nop; ret | Write: nop; ret; nop; ret | Read: mov eax, 0xc3c3c3c3; ret (int3 padding)
    text = pad(b"\x90\xc3", 16, b"\xcc") + pad(write, 16, b"\xcc") + \
        pad(b"\xb8\xc3\xc3\xc3\xc3\xc3", 16, b"\xcc")
    tab_off = 0x200
    tab = pclntab(BASE + text_off, magic)
    bi_off = pad(b"\0" * (tab_off + len(tab)), 16).__len__()
    bi = buildinfo(version)
    shstr = b"\0.text\0.gopclntab\0.go.buildinfo\0.shstrtab\0"
    shstr_off = bi_off + len(bi)
    body = bytearray(shstr_off + len(shstr))
    body[text_off:text_off + len(text)] = text
    body[tab_off:tab_off + len(tab)] = tab
    body[bi_off:bi_off + len(bi)] = bi
    body[shstr_off:] = shstr
    shoff = len(pad(bytes(body), 8))
    body = bytearray(pad(bytes(body), 8))

    def sh(name, typ, addr, off, size):
        return struct.pack("<IIQQQQIIQQ", name, typ, 6, addr, off, size, 0, 0, 1, 0)
    shdrs = b"\0" * 64 + sh(1, 1, BASE + text_off, text_off, len(text)) + \
        sh(7, 1, BASE + tab_off, tab_off, len(tab)) + sh(18, 1, BASE + bi_off, bi_off, len(bi)) + \
        sh(32, 3, 0, shstr_off, len(shstr))
    body += shdrs
    total = len(body)
    ehdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    ehdr += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, BASE + text_off, 64, shoff if sections else 0, 0, 64, 56, 1,
                        64, 5 if sections else 0, 4 if sections else 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, BASE, BASE, total, total, 0x1000)
    body[0:64] = ehdr
    body[64:120] = phdr
    return bytes(body)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "go118_sections": elf(),
        "go120_no_sections": elf(magic=0xFFFFFFF1, sections=False),
        "go116_pclntab": elf(magic=0xFFFFFFFA, version="go1.17.3"),
        # Found by the fuzzer: a function whose first instruction is its RET (entry == RET site).
        "ret_at_entry": elf(write=b"\xc3\x90"),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
