"""Render the app icon (resources/icons/gdl-studio.svg) to PNGs at the usual sizes, with QtSvg.

    python packaging/icons.py OUT_DIR          # writes OUT_DIR/gdl-studio-<N>.png for each size

Used by ``packaging/build`` (and the spec, when the PNGs are missing) at build time; the PNGs are
not committed. Runs Qt offscreen, so it needs no display.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SVG = ROOT / "resources" / "icons" / "gdl-studio.svg"
sys.path.insert(0, str(HERE))

from bundle_config import DESKTOP_ID, ICON_SIZES  # noqa: E402


def icon_name(size: int) -> str:
    return f"{DESKTOP_ID}-{size}.png"


def render(out_dir: str | Path, svg: str | Path = SVG, sizes=ICON_SIZES) -> list[Path]:
    """Render ``svg`` to ``out_dir/gdl-studio-<size>.png`` for each size; returns the paths."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["gdl-studio-icons"])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise RuntimeError(f"cannot read {svg} as SVG")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = out / icon_name(size)
        if not image.save(str(path), "PNG"):
            raise RuntimeError(f"cannot write {path}")
        written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python packaging/icons.py OUT_DIR", file=sys.stderr)
        raise SystemExit(64)
    for p in render(sys.argv[1]):
        print(p)
