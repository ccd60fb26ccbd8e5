"""A tiny but valid SoundFont 2 written from scratch, so the FluidSynth tests need no big file
(and can choose which programs exist)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def _chunk(cid: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return cid + struct.pack("<I", len(data)) + data + pad


def _list(kind: bytes, chunks: list[bytes]) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _name(text: str) -> bytes:
    return text.encode("ascii")[:19].ljust(20, b"\0")


def make_sf2(path: str | Path, programs=(0,), rate: int = 44000) -> Path:
    """Write a SoundFont whose bank 0 holds ``programs`` (each a looped 440 Hz tone with a few
    partials); returns the path."""
    path = Path(path)
    period = rate // 440  # 100 samples per period at 44 kHz: the loop is seamless
    n = period * 40
    t = np.arange(n)
    wave = sum(np.sin(2 * np.pi * k * t / period) / k for k in (1, 2, 3, 5, 7))
    pcm = (wave / np.abs(wave).max() * 20000).astype("<i2").tobytes() + b"\0\0" * 46
    info = _list(
        b"INFO",
        [_chunk(b"ifil", struct.pack("<HH", 2, 1)), _chunk(b"isng", b"EMU8000\0"), _chunk(b"INAM", b"gdl test\0\0")],
    )
    sdta = _list(b"sdta", [_chunk(b"smpl", pcm)])
    phdr = b"".join(struct.pack("<20sHHHIII", _name(f"Test {p}"), p, 0, i, 0, 0, 0) for i, p in enumerate(programs))
    phdr += struct.pack("<20sHHHIII", _name("EOP"), 0, 0, len(programs), 0, 0, 0)
    pbag = b"".join(struct.pack("<HH", i, 0) for i in range(len(programs) + 1))
    pmod = b"\0" * 10
    pgen = b"".join(struct.pack("<HH", 41, 0) for _ in programs) + b"\0" * 4  # instrument 0
    inst = struct.pack("<20sH", _name("Tone"), 0) + struct.pack("<20sH", _name("EOI"), 1)
    ibag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 3, 0)
    imod = b"\0" * 10
    # releaseVolEnv (38) = -1200 timecents (0.5 s), sampleModes (54) = loop, sampleID (53) = 0 (last)
    igen = struct.pack("<Hh", 38, -1200) + struct.pack("<HH", 54, 1) + struct.pack("<HH", 53, 0) + b"\0" * 4
    shdr = struct.pack("<20sIIIIIBbHH", _name("tone"), 0, n, period * 10, period * 30, rate, 69, 0, 0, 1)
    shdr += struct.pack("<20sIIIIIBbHH", _name("EOS"), 0, 0, 0, 0, 0, 0, 0, 0, 0)
    pdta = _list(
        b"pdta",
        [
            _chunk(b"phdr", phdr),
            _chunk(b"pbag", pbag),
            _chunk(b"pmod", pmod),
            _chunk(b"pgen", pgen),
            _chunk(b"inst", inst),
            _chunk(b"ibag", ibag),
            _chunk(b"imod", imod),
            _chunk(b"igen", igen),
            _chunk(b"shdr", shdr),
        ],
    )
    body = b"sfbk" + info + sdta + pdta
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
