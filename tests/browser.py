"""Headless Chromium for the browser tests: find (or install with `make browser`) Debian's
Chromium, and read a PNG screenshot's pixels to tell a rendered page from a blank one.

Shared by tests/orchestration/test_ui_browser.py (the Dagster UI) and
tests/reports/test_term_report_browser.py (the term report)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [  # no network but localhost: nothing in the background may reach out
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def find_or_install_chromium() -> str:
    """Chromium's path; `make browser` (apt-get, as root) when absent; else the test skips."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        subprocess.run(["make", "-s", "browser"], cwd=REPO, timeout=900, check=False)
        found = shutil.which("chromium")
    if not found:
        pytest.skip("no Chromium and it could not be installed (needs apt-get as root)")
    return found


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the raw RGB(A) rows of an 8-bit PNG (filters undone)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6)
    step = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * step, [], bytearray(width * step)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            a = line[x - step] if x >= step else 0
            b, c = prev[x], prev[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, b"".join(rows)


def colours(width: int, height: int, pixels: bytes, every: int = 97) -> set[bytes]:
    """The RGB colours of every `every`-th pixel."""
    step = len(pixels) // (width * height)
    return {pixels[i : i + 3] for i in range(0, len(pixels), step * every)}
