"""SVG in and out: stroke polylines from any SVG, and SVG / point files from strokes.

Coordinates are KanjiVG units: a 109 × 109 box, x to the right, y down. A stroke is an
``(N, 2)`` float array of absolute points; a drawing is a list of strokes in drawing order.

Reading uses :mod:`xml.etree.ElementTree` for the document and :mod:`svg.path` for path data;
curves are sampled densely here (then simplified by :mod:`gdl_studio.ink.rdp` where needed).
Every failure on user input raises :class:`~gdl_studio.core.errors.UserError` with one line.
"""

from __future__ import annotations

import functools
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from gdl_studio.core.errors import UserError

BOX = 109.0
"""Side of the KanjiVG box; all ink coordinates live in ``[0, BOX]²`` (more or less)."""

SAMPLE_STEP = 1.0
"""Target distance (units) between samples on a curve, measured on its control polygon."""

MAX_SAMPLES_PER_SEGMENT = 256
MAX_SVG_BYTES = 20 << 20
MAX_POINTS = 2_000_000

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


# --------------------------------------------------------------------------- path sampling


@functools.lru_cache(maxsize=1024)
def _bernstein(order: int, n: int) -> np.ndarray:
    """``(n, order + 1)`` Bernstein basis at ``n`` evenly spaced parameters in [0, 1]."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    k = np.arange(order + 1)[None, :]
    binom = np.array([math.comb(order, int(i)) for i in range(order + 1)], dtype=np.float64)[None, :]
    return binom * t**k * (1.0 - t) ** (order - k)


def _bezier(ctrl: np.ndarray, n: int) -> np.ndarray:
    """``n`` points (including both ends) of a Bézier curve with complex control points."""
    return _bernstein(len(ctrl) - 1, n) @ ctrl


def _samples_for(ctrl: np.ndarray, step: float) -> int:
    polygon = float(np.abs(ctrl[1:] - ctrl[:-1]).sum())
    if not math.isfinite(polygon):
        return 2
    return int(min(MAX_SAMPLES_PER_SEGMENT, max(4, math.ceil(polygon / step)))) + 1


def sample_path_data(d: str, step: float = SAMPLE_STEP) -> list[np.ndarray]:
    """Parse SVG path data with :mod:`svg.path` and sample it into polylines (one per subpath).

    Cubic and quadratic Béziers are evaluated with numpy at about one point per ``step`` units of
    control-polygon length; arcs through :mod:`svg.path`'s own ``point``; lines and closes give
    their end points. Returns complex-free ``(N, 2)`` float arrays.
    """
    from svg.path import Arc, Close, CubicBezier, Line, Move, QuadraticBezier, parse_path

    try:
        path = parse_path(d)
    except Exception as exc:  # svg.path raises several types on bad data
        raise UserError(f"bad SVG path data ({type(exc).__name__}: {str(exc)[:80]})") from None
    strokes: list[list[np.ndarray]] = []
    current: list[np.ndarray] | None = None
    for seg in path:
        if isinstance(seg, Move):
            current = [np.array([seg.end])]
            strokes.append(current)
            continue
        if current is None:
            current = [np.array([seg.start])]
            strokes.append(current)
        if isinstance(seg, CubicBezier):
            ctrl = np.array([seg.start, seg.control1, seg.control2, seg.end])
            pts = _bezier(ctrl, _samples_for(ctrl, step))[1:]
        elif isinstance(seg, QuadraticBezier):
            ctrl = np.array([seg.start, seg.control, seg.end])
            pts = _bezier(ctrl, _samples_for(ctrl, step))[1:]
        elif isinstance(seg, Arc):
            n = _samples_for(np.array([seg.start, seg.end]), step) * 2
            pts = np.array([seg.point(t) for t in np.linspace(0.0, 1.0, n)[1:]])
        elif isinstance(seg, (Line, Close)):
            pts = np.array([seg.end])
        else:  # an unknown segment type: keep its end point
            pts = np.array([seg.end])
        current.append(pts)
    out = []
    for parts in strokes:
        z = np.concatenate(parts)
        out.append(np.stack([z.real, z.imag], axis=1).astype(np.float64))
    return out


# --------------------------------------------------------------------------- transforms

_TRANSFORM = re.compile(r"(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)")


def _parse_transform(text: str | None) -> np.ndarray | None:
    """The 3×3 matrix of an SVG ``transform`` attribute (unknown parts are ignored); ``None``
    when there is none."""
    if not text or not text.strip():
        return None
    m = np.eye(3)
    for name, args in _TRANSFORM.findall(text):
        v = [float(x) for x in re.findall(_NUM, args)]
        t = np.eye(3)
        if name == "matrix" and len(v) == 6:
            t[:2] = [[v[0], v[2], v[4]], [v[1], v[3], v[5]]]
        elif name == "translate" and v:
            t[0, 2], t[1, 2] = v[0], (v[1] if len(v) > 1 else 0.0)
        elif name == "scale" and v:
            t[0, 0], t[1, 1] = v[0], (v[1] if len(v) > 1 else v[0])
        elif name == "rotate" and v:
            a = math.radians(v[0])
            r = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
            if len(v) == 3:
                c1, c2 = np.eye(3), np.eye(3)
                c1[:2, 2] = v[1], v[2]
                c2[:2, 2] = -v[1], -v[2]
                r = c1 @ r @ c2
            t = r
        elif name == "skewX" and v:
            t[0, 1] = math.tan(math.radians(v[0]))
        elif name == "skewY" and v:
            t[1, 0] = math.tan(math.radians(v[0]))
        m = m @ t
    return m


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:2, :2].T + m[:2, 2]


# --------------------------------------------------------------------------- reading


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _floats(text: str | None) -> list[float]:
    return [float(x) for x in re.findall(_NUM, text or "")]


def _length(text: str | None) -> float | None:
    if not text:
        return None
    v = re.match(r"\s*(" + _NUM + r")", text)
    return float(v.group(1)) if v else None


def _element_strokes(el: ET.Element, step: float) -> list[np.ndarray]:
    tag = _local(el.tag)
    if tag == "path":
        d = el.get("d") or ""
        return sample_path_data(d, step) if d.strip() else []
    if tag == "line":
        v = [float(el.get(k, "0") or 0) for k in ("x1", "y1", "x2", "y2")]
        return [np.array([[v[0], v[1]], [v[2], v[3]]])]
    if tag in ("polyline", "polygon"):
        v = _floats(el.get("points"))
        if len(v) < 2:
            return []
        pts = np.array(v[: len(v) // 2 * 2]).reshape(-1, 2)
        if tag == "polygon":
            pts = np.vstack([pts, pts[:1]])
        return [pts]
    return []


def parse_svg_strokes(text: str | bytes, step: float = SAMPLE_STEP, fit_box: bool = True) -> list[np.ndarray]:
    """Strokes of an SVG document (``<path>``, ``<line>``, ``<polyline>``, ``<polygon>``).

    Each subpath becomes one stroke, in document order; element and group ``transform``
    attributes are applied. With ``fit_box`` the document's ``viewBox`` (else its
    ``width``/``height``, else nothing) is mapped uniformly and centred onto the 109-unit box, so
    that a KanjiVG file is read unchanged. Raises :class:`UserError` on malformed XML, a document
    without strokes, or non-finite coordinates.
    """
    if isinstance(text, str):
        text = text.encode("utf-8")
    if len(text) > MAX_SVG_BYTES:
        raise UserError(f"SVG too large ({len(text) >> 20} MiB; the limit is {MAX_SVG_BYTES >> 20} MiB)")
    if not text.strip():
        raise UserError("the SVG file is empty")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise UserError(f"malformed SVG ({exc})") from None
    if _local(root.tag) != "svg":
        raise UserError(f"not an SVG document (root element is <{_local(root.tag)}>)")

    strokes: list[np.ndarray] = []
    total = 0

    def walk(el: ET.Element, m: np.ndarray | None) -> None:
        nonlocal total
        t = _parse_transform(el.get("transform"))
        if t is not None:
            m = t if m is None else m @ t
        tag = _local(el.tag)
        if tag in ("defs", "clipPath", "mask", "symbol", "style", "script", "text", "metadata"):
            return
        for s in _element_strokes(el, step):
            if len(s):
                total += len(s)
                if total > MAX_POINTS:
                    raise UserError(f"SVG has too many points (more than {MAX_POINTS:,})")
                strokes.append(s if m is None else _apply(m, s))
        for child in el:
            walk(child, m)

    walk(root, None)
    if not strokes:
        raise UserError("the SVG has no strokes (no path, line or polyline elements)")
    if not all(np.isfinite(s).all() for s in strokes):
        raise UserError("the SVG has non-finite coordinates")
    if fit_box:
        vb = _floats(root.get("viewBox"))
        box: tuple[float, float, float, float] | None = None  # x0, y0, w, h
        if len(vb) == 4 and vb[2] > 0 and vb[3] > 0:
            box = (vb[0], vb[1], vb[2], vb[3])
        else:
            width, height = _length(root.get("width")), _length(root.get("height"))
            if width and height and width > 0 and height > 0:
                box = (0.0, 0.0, width, height)
        if box is not None:
            x0, y0, w, h = box
            k = BOX / max(w, h)
            ox = (BOX - w * k) / 2 - x0 * k
            oy = (BOX - h * k) / 2 - y0 * k
            strokes = [s * k + (ox, oy) for s in strokes]
    return strokes


def read_svg_strokes(path: str | Path, step: float = SAMPLE_STEP, fit_box: bool = True) -> list[np.ndarray]:
    """Read the strokes of the SVG file ``path`` (see :func:`parse_svg_strokes`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SVG_BYTES:
            raise UserError(f"SVG too large: {path} ({size >> 20} MiB)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UserError(f"not a file: {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return parse_svg_strokes(data, step=step, fit_box=fit_box)
    except UserError as exc:
        raise UserError(f"{path.name}: {exc}") from None


# --------------------------------------------------------------------------- writing


def _polyline_d(stroke: np.ndarray) -> str:
    pts = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return ""
    parts = [f"M{pts[0, 0]:.2f},{pts[0, 1]:.2f}"]
    if len(pts) == 1:  # a dot: a zero-length line so that round caps draw it
        parts.append("l0,0")
    parts.extend(f"L{x:.2f},{y:.2f}" for x, y in pts[1:])
    return "".join(parts)


def strokes_to_svg(
    strokes: list[np.ndarray],
    generated: list[np.ndarray] | None = None,
    stroke_width: float = 3.0,
    colour: str = "#000000",
    generated_colour: str = "#d0402b",
    guide: bool = False,
) -> str:
    """An SVG document (109 × 109 viewBox) drawing ``strokes`` and, in another colour and group
    ``id="generated"``, ``generated`` strokes. Strokes are polylines with round caps and joins."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{BOX:g}" height="{BOX:g}" viewBox="0 0 {BOX:g} {BOX:g}">',
    ]
    if guide:
        lines.append(
            f'<rect x="0" y="0" width="{BOX:g}" height="{BOX:g}" fill="none" stroke="#dddddd" stroke-width="0.5"/>'
        )
    style = 'fill="none" stroke-width="{w:g}" stroke-linecap="round" stroke-linejoin="round" stroke="{c}"'
    for group, items, c in (("strokes", strokes, colour), ("generated", generated or [], generated_colour)):
        if not items and group == "generated":
            continue
        lines.append(f'<g id="{group}" {style.format(w=stroke_width, c=c)}>')
        lines.extend(f'  <path d="{_polyline_d(s)}"/>' for s in items if len(s))
        lines.append("</g>")
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def strokes_to_points(strokes: list[np.ndarray]) -> np.ndarray:
    """Stack strokes into ``(N, 3)`` rows ``x, y, pen_up`` (1 on each stroke's last point)."""
    rows = []
    for s in strokes:
        s = np.asarray(s, dtype=np.float64).reshape(-1, 2)
        if len(s):
            pen = np.zeros((len(s), 1))
            pen[-1] = 1.0
            rows.append(np.hstack([s, pen]))
    return np.vstack(rows) if rows else np.zeros((0, 3))


def points_to_strokes(points: np.ndarray) -> list[np.ndarray]:
    """Inverse of :func:`strokes_to_points`: split ``(N, 3)`` rows after each pen-up."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    ends = np.flatnonzero(pts[:, 2] > 0.5) + 1
    return [s[:, :2] for s in np.split(pts, ends) if len(s)]


def write_svg(path: str | Path, strokes: list[np.ndarray], generated: list[np.ndarray] | None = None, **kw) -> None:
    """Write :func:`strokes_to_svg` to ``path`` atomically."""
    from gdl_studio.core.atomic import write_text_atomic

    write_text_atomic(path, strokes_to_svg(strokes, generated, **kw))


def write_points_json(path: str | Path, strokes: list[np.ndarray], generated: list[np.ndarray] | None = None) -> None:
    """Write points as JSON ``{"units": ..., "strokes": [[[x, y], ...], ...], "generated": [...]}``
    atomically."""
    from gdl_studio.core.atomic import write_text_atomic

    def conv(items):
        return [[[round(float(x), 3), round(float(y), 3)] for x, y in np.asarray(s).reshape(-1, 2)] for s in items]

    doc = {
        "units": f"KanjiVG units, {BOX:g}x{BOX:g} box, y down",
        "strokes": conv(strokes),
        "generated": conv(generated or []),
    }
    write_text_atomic(path, json.dumps(doc) + "\n")
