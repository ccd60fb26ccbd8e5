"""Read the DT_NEEDED entries (the shared libraries a binary links to) of an ELF file, in pure Python.

    python packaging/elf.py FILE...        # prints "FILE: libA.so.1 libB.so.2 ..."

Used by ``tests/packaging`` to check the spec's Qt plugin choices against the installed PySide6
without binutils (``readelf -d`` prints the same list), and by ``packaging/build``.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
SHT_DYNAMIC = 6
DT_NULL, DT_NEEDED = 0, 1


def is_elf(path: str | Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == ELF_MAGIC
    except OSError:
        return False


def needed(path: str | Path) -> list[str]:
    """The sonames in ``path``'s dynamic section (DT_NEEDED), in link order; [] for a static file.

    Reads only the headers, the dynamic section and its string table. Raises ValueError when
    ``path`` is not an ELF file.
    """
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != ELF_MAGIC:
            raise ValueError(f"{path} is not an ELF file")
        is64 = head[4] == 2
        end = "<" if head[5] == 1 else ">"
        if is64:
            (shoff,) = struct.unpack_from(end + "Q", head, 0x28)
            shentsize, shnum = struct.unpack_from(end + "HH", head, 0x3A)
            sh_fmt, dyn_fmt = end + "IIQQQQIIQQ", end + "qQ"
        else:
            (shoff,) = struct.unpack_from(end + "I", head, 0x20)
            shentsize, shnum = struct.unpack_from(end + "HH", head, 0x2E)
            sh_fmt, dyn_fmt = end + "IIIIIIIIII", end + "iI"
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        sections = [struct.unpack_from(sh_fmt, table, i * shentsize) for i in range(shnum)]
        out: list[str] = []
        for _name, sh_type, _flags, _addr, offset, size, link, _info, _align, _entsize in sections:
            if sh_type != SHT_DYNAMIC:
                continue
            f.seek(offset)
            dynamic = f.read(size)
            _n, _t, _fl, _a, str_offset, str_size, *_rest = sections[link]  # sh_link: its string table
            f.seek(str_offset)
            strings = f.read(str_size)
            step = struct.calcsize(dyn_fmt)
            for pos in range(0, len(dynamic) - step + 1, step):
                tag, value = struct.unpack_from(dyn_fmt, dynamic, pos)
                if tag == DT_NULL:
                    break
                if tag == DT_NEEDED:
                    out.append(strings[value : strings.index(b"\0", value)].decode())
        return out


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: {' '.join(needed(arg))}")
