"""A faster CarRacing-v3 whose observations are pixel-identical to gymnasium's.

About 96 % of a stock ``CarRacing-v3`` step is spent producing the 96×96 observation: a Python
loop that rotates and clip-tests ~740 grass and road polygons per frame, a font loaded from disk
every frame, a full-size vertical flip and a 1000×800 → 96×96 smooth-scale.
:class:`FastCarRacing` keeps the physics, the rewards and every drawing call of the stock
environment, and changes only how the ``state_pixels`` frame is put together:

* all polygons are transformed at once with numpy, with exactly the floating-point operations of
  ``pygame.math.Vector2.rotate_rad`` (cos/sin taken from pygame itself), and only the polygons that
  can touch a visible pixel are handed to the identical ``gfxdraw`` calls, in the stock order;
* the background quad, when it covers the whole view, becomes a ``fill`` with the very colour
  ``gfxdraw`` would have written;
* the rows hidden under the black HUD bar are neither filled nor drawn;
* the HUD (bar, indicators, score text from a cached font) is drawn on its own full-size surface
  with the stock code and coordinates;
* pygame's smooth-scale is separable (a row-wise x pass, then a column-wise y pass), so the x pass
  runs on the un-flipped road rows and on the HUD rows separately, the small 96-wide result is
  flipped and stacked, and the y pass finishes the frame: the same arithmetic on the same numbers,
  without the full-size flip.

With the native rasteriser built (``_fastraster.c``, see :mod:`gdl_studio.racing.native_raster`),
the same polygons, coordinates and colours go to C code that repeats pygame's arithmetic on rows
kept as one-colour smooth-scale tiles, and the frame never exists at full size; without it, the
pygame calls above draw it. Both give the stock bytes.

Whenever an assumption does not hold (a render mode other than ``state_pixels``, the reset frame
before the episode clock exists, an indicator bar or the score reaching above the HUD), the frame
is rendered by the stock code. ``tests/racing/test_racing_fast_env.py`` checks frame-by-frame identity
against the stock environment; ``gdl-studio bench racing --speed`` measures the speed-up.
"""

from __future__ import annotations

import math

import numpy as np

from gdl_studio.core.memory import release_free_memory
from gdl_studio.racing import native_raster
from gdl_studio.racing.deps import require_simulator
from gdl_studio.racing.native_raster import NativeRaster

require_simulator()

import pygame  # noqa: E402
from gymnasium.envs.box2d import car_dynamics as _cd  # noqa: E402
from gymnasium.envs.box2d import car_racing as _cr  # noqa: E402
from pygame import gfxdraw  # noqa: E402

CarRacing = _cr.CarRacing
W, H = _cr.WINDOW_W, _cr.WINDOW_H
HUD_TOP = H - int(round(5 * H / 40.0))  # first row (after the flip) covered by the black bar: 700
HIDDEN_ROWS = H - HUD_TOP  # rows before the flip that the bar hides: 0..99
MARGIN = 4.0  # pixels: a polygon farther than this from the visible area changes no pixel
# screen distance from the car's spot (W/2, H/4 before the flip) to the farthest corner of the
# visible area grown by MARGIN: polygons farther than this (plus their own radius) are not drawn
VIEW_REACH = math.hypot(max(W / 2, W - 1 - W / 2) + MARGIN, max(H / 4 - HIDDEN_ROWS, H - 1 - H / 4) + MARGIN)
MAX_EPISODE_STEPS = 1000  # gymnasium registers CarRacing-v3 with this time limit


def _grass_polys() -> np.ndarray:
    """The stock grass patches (400 quads) as a float64 array, vertex values exactly as stock."""
    d = _cr.GRASS_DIM
    grass = []
    for x in range(-20, 20, 2):
        for y in range(-20, 20, 2):
            grass.append(
                [
                    (d * x + d, d * y + 0),
                    (d * x + 0, d * y + 0),
                    (d * x + 0, d * y + d),
                    (d * x + d, d * y + d),
                ]
            )
    return np.asarray(grass, dtype=np.float64)


_GRASS = _grass_polys()
_FONT: pygame.font.Font | None = None


def _hud_font() -> pygame.font.Font:
    global _FONT
    if _FONT is None:
        pygame.font.init()
        _FONT = pygame.font.Font(pygame.font.get_default_font(), 42)
    return _FONT


class FastCarRacing(CarRacing):
    """``CarRacing`` with a fast, pixel-identical ``state_pixels`` renderer (same constructor)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._road_surf: pygame.Surface | None = None
        self._hud_surf: pygame.Surface | None = None
        self._road_key = None
        self._poly_xy = None
        self._car_key = None
        self._car_geom = None
        self._text_cache: dict[str, pygame.Surface] = {}
        self._fill_cache: dict[tuple, int] = {}
        self.fast_frames = 0
        self.stock_frames = 0
        #: draw with the native sparse rasteriser when it is built and applies (else with pygame)
        self.use_native = True
        self._native: NativeRaster | None | bool = None  # False: not available here

    def close(self) -> None:
        """Release what the environment holds, then close as the stock env does.

        * The Box2D bodies: the stock ``close`` only shuts pygame down, and each road tile and
          wheel is its own Box2D user data (``tile.userData = tile``), a reference held on the
          C++ side that Python's garbage collector cannot see, so a closed environment kept
          ~300 bodies, their attributes and the wheels' tile sets alive for good (about
          0.2 MB per episode in the app, which opens one environment per episode).
          ``_destroy`` (what ``reset`` calls) hands them back to Box2D, which drops those
          references.
        * The ~17 MB of frame buffers (the 1000×800 surfaces, the rasteriser's tiles, the
          stock renderer's last surface), and then the allocator's free pages: freed in the
          middle of glibc's heap, these buffers otherwise stay resident as holes (about 12 MB
          more RSS from the second episode on).

        The environment can be reset and used again after ``close``; it rebuilds them.
        """
        try:
            self._destroy()
        finally:
            native, self._native = self._native, None
            if isinstance(native, NativeRaster):
                native.close()
            self._road_surf = self._hud_surf = None
            self._road_x = self._hud_x = self._stack = self._state = self._probe = None
            self._road_key = self._poly_xy = self._car_key = self._car_geom = None
            self._text_cache.clear()
            self.surf = None
            super().close()
            release_free_memory()

    # ------------------------------------------------------------------ helpers
    def _surfaces(self) -> None:
        if self._road_surf is not None:
            return
        self._road_surf = pygame.Surface((W, H))
        self._hud_surf = pygame.Surface((W, H))
        fmt = self._road_surf
        self._road_x = pygame.Surface((_cr.STATE_W, H - HIDDEN_ROWS), 0, fmt)
        self._hud_x = pygame.Surface((_cr.STATE_W, HIDDEN_ROWS), 0, fmt)
        self._stack = pygame.Surface((_cr.STATE_W, H), 0, fmt)
        self._state = pygame.Surface((_cr.STATE_W, _cr.STATE_H), 0, fmt)
        self._probe = pygame.Surface((4, 4), 0, fmt)

    def _native_raster(self) -> NativeRaster | None:
        """The native rasteriser when it is built and matches this pygame (format, backend)."""
        if not self.use_native:
            return None
        if self._native is None:
            self._native = False
            lib = native_raster.load()
            surf = self._road_surf
            fmt_ok = surf.get_bytesize() == 4 and surf.get_masks()[:3] == (0xFF0000, 0xFF00, 0xFF)
            backend = pygame.transform.get_smoothscale_backend()
            mode = {"SSE": native_raster.MODE_SSE, "GENERIC": native_raster.MODE_GENERIC}.get(backend)
            pitch_ok = self._hud_x.get_pitch() == 4 * _cr.STATE_W
            if lib is not None and fmt_ok and mode is not None and pitch_ok and pygame.version.vernum[:2] == (2, 6):
                self._native = NativeRaster(lib, mode)
        return self._native or None

    @property
    def render_backend(self) -> str:
        """``"native"`` or ``"pygame"``: what draws the fast frames (decided at the first frame)."""
        return "native" if isinstance(self._native, NativeRaster) else "pygame"

    def _poly_arrays(self):
        """x and y vertex arrays (N, 4) of the grass patches followed by the road polygons."""
        key = (id(self.road_poly), len(self.road_poly))
        if key != self._road_key:
            road = np.asarray([[(p[0], p[1]) for p in poly] for poly, _ in self.road_poly], dtype=np.float64)
            xy = np.concatenate([_GRASS, road.reshape(-1, 4, 2)])
            centers = xy.mean(axis=1)
            radius = float(np.sqrt(np.square(xy - centers[:, None, :]).sum(-1)).max())
            self._poly_xy = (
                np.ascontiguousarray(xy[..., 0]),
                np.ascontiguousarray(xy[..., 1]),
                len(_GRASS),
                (np.ascontiguousarray(centers[:, 0]), np.ascontiguousarray(centers[:, 1])),
                radius,
            )
            self._road_key = key
        return self._poly_xy

    def _mapped_fill(self, color) -> int:
        """The pixel value ``gfxdraw.filled_polygon`` writes for ``color`` (found by drawing it)."""
        key = tuple(np.asarray(color).tolist())
        value = self._fill_cache.get(key)
        if value is None:
            self._probe.fill(0)
            gfxdraw.filled_polygon(self._probe, [(-8, -8), (8, -8), (8, 8), (-8, 8)], color)
            value = self._probe.get_at_mapped((1, 1))
            self._fill_cache[key] = value
        return value

    def _text(self) -> pygame.Surface:
        label = f"{self.reward:04.0f}"
        surf = self._text_cache.get(label)
        if surf is None:
            if len(self._text_cache) > 512:
                self._text_cache.clear()
            surf = _hud_font().render(label, True, (255, 255, 255), (0, 0, 0))
            self._text_cache[label] = surf
        return surf

    def _hud_fits(self) -> bool:
        """True when every indicator stays inside the black bar (else render the stock way)."""
        car = self.car
        limit = 3.9  # bar height 5h; vertical bars start at h and grow by h*value
        vx, vy = car.hull.linearVelocity
        speed = math.hypot(vx, vy)
        if 0.02 * speed > limit:
            return False
        return all(0.01 * w.omega <= limit for w in car.wheels)

    def _car_geometry(self):
        """Per drawn body: (body, float32 vertices of its fixtures stacked, vertex counts); cached per car."""
        car = self.car
        if self._car_key is not car:
            geom = []
            for obj in car.drawlist:
                verts = [np.asarray(f.shape.vertices, dtype=np.float32) for f in obj.fixtures]
                geom.append((obj, verts, [int(c * 255) for c in obj.color], "phase" in obj.__dict__))
            self._car_geom = geom
            self._car_key = car
        return self._car_geom

    def _car_polygons(self, zoom: float, tx: float, ty: float, cos: float, sin: float):
        """Screen polygons of ``Car.draw(..., draw_particles=False)``: same polygons, same order.

        Box2D's ``transform * vertex`` is float32 (``(c·x − s·y) + p``), reproduced with numpy
        float32 for all bodies at once; the screen transform is the float64 one of
        ``Vector2.rotate_rad``. Returns float64 screen x and y of all vertices and, per polygon,
        (vertex count, colour as an int list).
        """
        verts, params, polys = [], [], []  # polys: (vertex count, colour)
        ww, wr, size = _cd.WHEEL_W, _cd.WHEEL_R, _cd.SIZE
        for obj, fixtures, color, has_phase in self._car_geometry():
            xf = obj.transform
            q, p = xf.q, xf.position
            body = (q.c, q.s, p[0], p[1])
            for fv in fixtures:
                verts.append(fv)
                params.extend([body] * len(fv))
                polys.append((len(fv), color))
                if not has_phase:
                    continue
                a1 = obj.phase
                a2 = obj.phase + 1.2
                s1, s2 = math.sin(a1), math.sin(a2)
                c1, c2 = math.cos(a1), math.cos(a2)
                if s1 > 0 and s2 > 0:
                    continue
                if s1 > 0:
                    c1 = np.sign(c1)
                if s2 > 0:
                    c2 = np.sign(c2)
                white = [
                    (-ww * size, +wr * c1 * size),
                    (+ww * size, +wr * c1 * size),
                    (+ww * size, +wr * c2 * size),
                    (-ww * size, +wr * c2 * size),
                ]
                verts.append(np.array(white, dtype=np.float64).astype(np.float32))
                params.extend([body] * 4)
                polys.append((4, list(_cd.WHEEL_WHITE)))
        v = np.concatenate(verts)
        c32, s32, px, py = np.array(params, dtype=np.float32).T
        vx, vy = v[:, 0], v[:, 1]
        wx = ((c32 * vx - s32 * vy) + px).astype(np.float64)
        wy = ((s32 * vx + c32 * vy) + py).astype(np.float64)
        sx = (cos * wx - sin * wy) * zoom + tx
        sy = (sin * wx + cos * wy) * zoom + ty
        return sx, sy, polys

    @staticmethod
    def _draw_car(surf, sx: np.ndarray, sy: np.ndarray, polys) -> None:
        """Draw the car polygons of :meth:`_car_polygons` with ``pygame.draw.polygon`` as stock does."""
        xs, ys = sx.tolist(), sy.tolist()
        start = 0
        for count, color in polys:
            end = start + count
            pygame.draw.polygon(surf, color=color, points=list(zip(xs[start:end], ys[start:end])))
            start = end

    # ------------------------------------------------------------------ rendering
    def _render(self, mode: str):
        if mode != "state_pixels" or "t" not in self.__dict__ or self.car is None:
            self.stock_frames += 1
            return super()._render(mode)
        frame = self._fast_state_pixels()
        if frame is None:
            self.stock_frames += 1
            return super()._render(mode)
        self.fast_frames += 1
        return frame

    def _fast_state_pixels(self):
        if not self._hud_fits():
            return None
        self._surfaces()
        car = self.car
        angle = -car.hull.angle
        zoom = 0.1 * _cr.SCALE * max(1 - self.t, 0) + _cr.ZOOM * _cr.SCALE * min(self.t, 1)
        scroll_x = -(car.hull.position[0]) * zoom
        scroll_y = -(car.hull.position[1]) * zoom
        trans = pygame.math.Vector2((scroll_x, scroll_y)).rotate_rad(angle)
        trans = (W / 2 + trans[0], H / 4 + trans[1])
        unit = pygame.math.Vector2(1.0, 0.0).rotate_rad(angle)  # (cos, sin) exactly as pygame uses them
        cos, sin = unit[0], unit[1]
        tx, ty = trans

        native = self._native_raster()
        surf = self._road_surf
        visible_rect = pygame.Rect(0, HIDDEN_ROWS, W, H - HIDDEN_ROWS)

        # background: a fill when the quad covers the visible rows with a margin, else stock calls
        b = _cr.PLAYFIELD
        field = [
            ((cos * x - sin * y) * zoom + tx, (sin * x + cos * y) * zoom + ty)
            for x, y in ((b, b), (b, -b), (-b, -b), (-b, b))
        ]
        bg_fill = _covers(field, -8.0, HIDDEN_ROWS - 8.0, W + 8.0, H + 8.0)

        # grass, then road, in stock order; only polygons stock would draw and that reach the view
        xs, ys, n_grass, centers, radius = self._poly_arrays()
        # coarse, conservative pre-selection: polygons within reach of the view around the car
        reach = VIEW_REACH / zoom + radius + 1.0
        cx, cy = car.hull.position
        d2 = np.square(centers[0] - cx) + np.square(centers[1] - cy)
        cand = np.flatnonzero(d2 <= reach * reach)
        xs, ys = xs[cand], ys[cand]
        px = (cos * xs - sin * ys) * zoom + tx
        py = (sin * xs + cos * ys) * zoom + ty
        m = _cr.MAX_SHAPE_DIM
        inside = (px >= -m) & (px <= W + m) & (py >= -m) & (py <= H + m)
        x_lo, x_hi = px.min(axis=1), px.max(axis=1)
        y_lo, y_hi = py.min(axis=1), py.max(axis=1)
        keep = inside.any(axis=1)
        keep &= x_hi >= -MARGIN
        keep &= x_lo <= W - 1 + MARGIN
        keep &= y_hi >= HIDDEN_ROWS - MARGIN
        keep &= y_lo <= H - 1 + MARGIN
        idx = cand[keep]
        keep = np.flatnonzero(keep)
        px, py = px[keep], py[keep]
        car_x, car_y, car_polys = self._car_polygons(zoom, tx, ty, cos, sin)

        hud_x = self._render_hud()
        if hud_x is None:
            return None
        if native is not None:
            return self._native_frame(native, bg_fill, field, idx, n_grass, px, py, car_x, car_y, car_polys)

        if bg_fill:
            surf.fill(self._mapped_fill(self.bg_color), visible_rect)
        else:
            surf.fill(0, visible_rect)
            gfxdraw.aapolygon(surf, field, self.bg_color)
            gfxdraw.filled_polygon(surf, field, self.bg_color)
        if idx.size:
            pts = np.stack([px, py], axis=-1).tolist()
            grass_color = self.grass_color
            road_poly = self.road_poly
            for i, poly in zip(idx.tolist(), pts):
                if i < n_grass:
                    color = grass_color
                else:
                    color = [int(c) for c in road_poly[i - n_grass][1]]
                gfxdraw.aapolygon(surf, poly, color)
                gfxdraw.filled_polygon(surf, poly, color)
        self._draw_car(surf, car_x, car_y, car_polys)

        # separable smooth-scale: x pass on the road rows (the HUD rows are done), flip the thin result, y pass
        pygame.transform.smoothscale(surf.subsurface(visible_rect), self._road_x.get_size(), self._road_x)
        self._stack.blit(pygame.transform.flip(self._road_x, False, True), (0, 0))
        self._stack.blit(hud_x, (0, HUD_TOP))
        pygame.transform.smoothscale(self._stack, self._state.get_size(), self._state)
        rgb = pygame.image.tobytes(self._state, "RGB")
        return np.frombuffer(rgb, dtype=np.uint8).reshape(_cr.STATE_H, _cr.STATE_W, 3).copy()

    def _render_hud(self):
        """The HUD (bar, indicators, score) drawn with the stock code on its own full-size surface,
        then its rows' horizontal smooth-scale pass (96×100); ``None`` if the text leaves the bar."""
        surf = self.surf
        hud = self._hud_surf
        self.surf = hud
        try:
            self._render_indicators(W, H)
        finally:
            self.surf = surf
        text = self._text()
        text_rect = text.get_rect()
        text_rect.center = (60, H - H * 2.5 / 40.0)
        if text_rect.top < HUD_TOP or text_rect.bottom > H:
            return None
        hud.blit(text, text_rect)
        pygame.transform.smoothscale(hud.subsurface((0, HUD_TOP, W, HIDDEN_ROWS)), self._hud_x.get_size(), self._hud_x)
        return self._hud_x

    def _native_frame(self, native, bg_fill, field, idx, n_grass, px, py, car_x, car_y, car_polys) -> np.ndarray:
        """The frame from the native rasteriser: the same polygons, coordinates and colours as the
        pygame calls would get (gfxdraw truncates to Sint16, pygame.draw to int)."""
        counts, xs, ys, colors, kinds = [], [], [], [], []
        if bg_fill:
            bg = self._mapped_fill(self.bg_color)
        else:
            bg = 0
            counts.append(4)
            fx, fy = zip(*field)
            xs.append(_gfx_ints(np.asarray(fx)))
            ys.append(_gfx_ints(np.asarray(fy)))
            colors.append(self._mapped_fill(self.bg_color))
            kinds.append(native_raster.KIND_GFX)
        if idx.size:
            # road colours change as tiles are visited: looked up every frame, as stock does
            grass = self._mapped_fill(self.grass_color)
            road_poly = self.road_poly
            mapped = self._mapped_fill
            counts.extend([4] * idx.size)
            xs.append(_gfx_ints(px.ravel()))
            ys.append(_gfx_ints(py.ravel()))
            colors.extend(
                grass if i < n_grass else mapped([int(c) for c in road_poly[i - n_grass][1]]) for i in idx.tolist()
            )
            kinds.extend([native_raster.KIND_GFX] * idx.size)
        counts.extend(c for c, _ in car_polys)
        xs.append(np.trunc(car_x).astype(np.int32))
        ys.append(np.trunc(car_y).astype(np.int32))
        colors.extend((r << 16) | (g << 8) | b for _, (r, g, b) in car_polys)
        kinds.extend([native_raster.KIND_DRAW] * len(car_polys))
        hud = np.frombuffer(self._hud_x.get_buffer().raw, dtype=np.uint32)
        return native.frame(
            bg & 0xFFFFFF,
            np.asarray(counts, dtype=np.int32),
            np.concatenate(xs).astype(np.int32, copy=False),
            np.concatenate(ys).astype(np.int32, copy=False),
            np.asarray(colors, dtype=np.uint32) & 0xFFFFFF,
            np.asarray(kinds, dtype=np.uint8),
            hud,
        )


def _gfx_ints(values: np.ndarray) -> np.ndarray:
    """Coordinates as ``pygame.gfxdraw`` converts them: truncated toward zero, then to Sint16."""
    return np.trunc(values).astype(np.int64).astype(np.int16).astype(np.int32)


def _covers(quad, x0: float, y0: float, x1: float, y1: float) -> bool:
    """True when the convex quad (four (x, y) points) contains the rectangle [x0, x1] × [y0, y1]."""
    signs = set()
    for k in range(4):
        ax, ay = quad[k]
        bx, by = quad[(k + 1) % 4]
        for cx, cy in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
            cross = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
            if cross == 0:
                return False
            signs.add(cross > 0)
    return len(signs) == 1


def make_env(fast: bool = True, **kwargs) -> CarRacing:
    """A continuous-action CarRacing-v3 without the gym wrappers (episodes capped by the caller).

    ``fast=True`` gives :class:`FastCarRacing`; ``fast=False`` the stock class. Both need the
    caller to stop an episode after :data:`MAX_EPISODE_STEPS` steps as ``gym.make`` would.
    """
    cls = FastCarRacing if fast else CarRacing
    return cls(**kwargs)
