"""``gdl-studio selftest``: the smoke test a built bundle runs on itself (a hidden command).

It checks, in this order, and prints one line per check (``ok`` / ``FAIL`` / ``skip``)::

    version       the package version
    paths         models/ and resources/ are found (inside the bundle when frozen)
    exclusions    (frozen only) data-only packages such as music21 and kanjivg are not bundled
    audio-midi    PortAudio loads through sounddevice; python-rtmidi has its compiled APIs
    instrument    the General MIDI synth (FluidSynth + SoundFont; the bundle's own copies when
                  frozen) renders a note: not silent, and its spectrum is not the additive synth's
    models        every shipped model loads (sha256 checked by the registry)
    music         each music model continues resources/examples/chorale.mid by a few notes
    ink           each ink model draws a few points
    dream         the world model dreams a few frames; the controller drives the real game a few
    train         (in a spawn child process, as fine-tuning runs) one optimiser step
    window        the main window opens (offscreen when QT_QPA_PLATFORM=offscreen), paints,
                  shows every panel, and closes

``--only NAME[,NAME…]`` runs just those checks (e.g. ``selftest --only instrument``).
``--startup-time`` does only the window step, as the plain app starts, and prints the seconds
from process start to the main window's first paint event; ``packaging/build`` uses it for the
cold/warm start figures. The user directory and Qt settings point at a temporary folder during
the test, so a self-test never touches the person's settings or personal models.

Nothing here imports torch or Qt at module level (``gdl-studio --help`` stays instant).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_T_IMPORT = time.time()

# Packages that must not be in a bundle (they are only for ``gdl-studio data`` and the tests).
MUST_NOT_BE_BUNDLED = (
    "music21",
    "kanji",
    "matplotlib",
    "networkx",
    "pytest",
    "pytestqt",
    "aalink",
)  # aalink: GPL-3.0 (packaging/bundle_config.GPL_ONLY_OPTIONAL)
CHECK_NAMES = (
    "version",
    "paths",
    "exclusions",
    "audio-midi",
    "instrument",
    "models",
    "music",
    "ink",
    "dream",
    "train",
    "window",
)


def register(commands) -> None:
    # No help= : the command is left out of ``gdl-studio --help``.
    p = commands.root.add_parser("selftest", description="Smoke-test this installation or bundle.")
    p.add_argument(
        "--startup-time",
        action="store_true",
        help="only open the main window; print seconds from process start to its first paint",
    )
    p.add_argument("--notes", type=int, default=8, help="notes per music model (default 8)")
    p.add_argument("--points", type=int, default=32, help="points per ink model (default 32)")
    p.add_argument("--frames", type=int, default=5, help="dream frames and real-game frames (default 5)")
    p.add_argument("--no-window", action="store_true", help="skip the window check")
    p.add_argument("--no-spawn", action="store_true", help="run the training step in this process")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds allowed for the window to paint")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    p.add_argument(
        "--only",
        metavar="NAME[,NAME...]",
        action="append",
        default=None,
        help=f"run only these checks (repeatable or comma-separated): {', '.join(CHECK_NAMES)}",
    )
    p.set_defaults(func=_cli)


def parse_only(values: list[str] | None) -> tuple[str, ...] | None:
    """The check names of ``--only`` (None: all); raises ValueError naming an unknown one."""
    if not values:
        return None
    names = tuple(n.strip() for v in values for n in v.split(",") if n.strip())
    unknown = [n for n in names if n not in CHECK_NAMES]
    if unknown:
        raise ValueError(f"unknown check {', '.join(unknown)}; the checks: {', '.join(CHECK_NAMES)}")
    return names


def _cli(args) -> int:
    if args.startup_time:
        with isolated_user_state():
            info = measure_startup(timeout_s=args.timeout)
        if args.json:
            print(json.dumps(info))
        else:
            if info["ok"]:
                print(f"startup: first paint of the main window {info['seconds']:.3f} s after {info['since']}")
            else:
                print(f"startup: FAIL {info.get('error', '')}")
        return 0 if info["ok"] else 1
    try:
        only = parse_only(args.only)
    except ValueError as exc:
        print(f"selftest: {exc}", file=sys.stderr)
        return 2
    report = run_selftest(
        notes=args.notes,
        points=args.points,
        frames=args.frames,
        window=not args.no_window,
        spawn=not args.no_spawn,
        timeout_s=args.timeout,
        echo=None if args.json else print,
        only=only,
    )
    if args.json:
        print(json.dumps(report.as_dict()))
    return 0 if report.ok else 1


# ---------------------------------------------------------------------------------------------- report
@dataclass
class Check:
    name: str
    status: str  # "ok", "FAIL", "skip"
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.status != "FAIL" for c in self.checks)

    def by_name(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "frozen": bool(getattr(sys, "frozen", False)),
            "checks": [c.__dict__ for c in self.checks],
        }


class _Failed(Exception):
    pass


class _Skipped(Exception):
    """A check that does not apply here (the message says why)."""


def _require(condition, message: str) -> None:
    if not condition:
        raise _Failed(message)


# ---------------------------------------------------------------------------------------------- isolation
@contextlib.contextmanager
def isolated_user_state():
    """User data and Qt settings in a temporary folder for the duration (restored afterwards)."""
    keys = ("GDL_STUDIO_USER_DIR", "XDG_CONFIG_HOME")
    saved = {k: os.environ.get(k) for k in keys}
    with tempfile.TemporaryDirectory(prefix="gdl-selftest-") as tmp:
        os.environ["GDL_STUDIO_USER_DIR"] = str(Path(tmp) / "data")
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        try:
            from PySide6.QtCore import QSettings

            QSettings.setDefaultFormat(QSettings.Format.IniFormat)
            for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
                QSettings.setPath(fmt, QSettings.Scope.UserScope, str(Path(tmp) / "config"))
        except ImportError:
            pass
        try:
            yield Path(tmp)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


# ---------------------------------------------------------------------------------------------- checks
def _check_version() -> str:
    from gdl_studio import __version__

    _require(__version__ and __version__[0].isdigit(), f"odd version {__version__!r}")
    return __version__


def _check_paths() -> str:
    from gdl_studio.core.paths import models_dir, resources_dir

    models, resources = models_dir(), resources_dir()
    _require(models.is_dir(), f"models directory missing: {models}")
    _require(resources.is_dir(), f"resources directory missing: {resources}")
    for rel in ("style.qss", "icons/gdl-studio.svg", "examples/chorale.mid"):
        _require((resources / rel).is_file(), f"resource missing: {resources / rel}")
    if getattr(sys, "frozen", False):
        base = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)).resolve()
        for d in (models, resources):
            _require(base in d.resolve().parents, f"{d} is not inside the bundle ({base})")
    return f"models {models}, resources {resources}"


def _check_exclusions() -> str:
    import importlib.util

    found = []
    for name in MUST_NOT_BE_BUNDLED:
        try:
            if importlib.util.find_spec(name) is not None:
                found.append(name)
        except (ImportError, ValueError):
            pass
    _require(not found, f"bundled although only data building or tests need them: {', '.join(found)}")
    return "not bundled: " + ", ".join(MUST_NOT_BE_BUNDLED)


def _check_audio_midi() -> str:
    import rtmidi
    import sounddevice

    version = sounddevice.get_portaudio_version()[1]
    apis = [rtmidi.get_api_name(a) for a in rtmidi.get_compiled_api()]
    _require(apis, "python-rtmidi has no compiled MIDI API")
    lib = getattr(sounddevice, "_libname", "")
    if getattr(sys, "frozen", False) and sys.platform.startswith("linux"):
        base = str(Path(getattr(sys, "_MEIPASS", "")).resolve())
        _require(str(Path(lib).resolve()).startswith(base), f"PortAudio loaded from outside the bundle: {lib}")
    return f"{version}; rtmidi APIs {', '.join(apis)}"


INSTRUMENT_NOTE = 60  # middle C, 0.6 s, on the default program (Acoustic Grand Piano)


def _overtone_share(x, samplerate: float, pitch: int = INSTRUMENT_NOTE) -> float:
    """Share of the note's energy above 3.5 × its fundamental. The additive synth has three
    partials (1, 2, 3 × f0), so its share is ~0; a sampled piano has many more overtones."""
    import numpy as np

    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / samplerate)
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    return float(power[freqs > 3.5 * f0].sum() / max(power.sum(), 1e-30))


def _render_note(synth, samplerate: float, seconds: float = 0.6, blocksize: int = 256):
    import numpy as np

    blocks = int(seconds * samplerate) // blocksize
    out = np.zeros((blocks * blocksize, 2), dtype=np.float32)
    buf = np.zeros((blocksize, 2), dtype=np.float32)
    synth.note_on(INSTRUMENT_NOTE, 100, 0)
    for i in range(blocks):
        if i == blocks * 2 // 3:
            synth.note_off(INSTRUMENT_NOTE, 0)
        synth.render(buf)
        out[i * blocksize : (i + 1) * blocksize] = buf
    return out.mean(axis=1)


def _loaded_files(fragment: str) -> list[str]:
    """Files mapped into this process whose path contains ``fragment`` (Linux; [] elsewhere)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            return sorted(
                {line.split(None, 5)[5].strip() for line in fh if fragment in line and len(line.split(None, 5)) == 6}
            )
    except OSError:
        return []


def _check_instrument() -> str:
    import numpy as np

    from gdl_studio.live.instrument import FluidInstrument, InstrumentUnavailable
    from gdl_studio.live.synth import PolySynth

    sr = 48000.0
    frozen = bool(getattr(sys, "frozen", False))
    saved = os.environ.pop("GDL_STUDIO_SOUNDFONT", None) if frozen else None  # check the bundle's own
    try:
        gm = FluidInstrument(samplerate=sr, blocksize=256, reverb=False, chorus=False)
    except InstrumentUnavailable as exc:
        if not frozen:  # a source install may lack FluidSynth (the app then plays the additive synth)
            raise _Skipped(f"FluidSynth not usable here ({exc})") from None
        raise _Failed(f"the GM instrument is unavailable: {exc}") from None
    finally:
        if saved is not None:
            os.environ["GDL_STUDIO_SOUNDFONT"] = saved
    try:
        soundfont = Path(gm.info.soundfont)
        gm_note = _render_note(gm, sr)
    finally:
        gm.close()
    libs = _loaded_files("libfluidsynth")
    if frozen:
        base = Path(getattr(sys, "_MEIPASS", "")).resolve()
        _require(base in soundfont.resolve().parents, f"SoundFont from outside the bundle: {soundfont}")
        if sys.platform.startswith("linux"):
            _require(
                libs and all(base in Path(p).resolve().parents for p in libs),
                f"libfluidsynth loaded from outside the bundle: {', '.join(libs) or 'not mapped'}",
            )
    rms = float(np.sqrt(np.mean(gm_note**2)))
    _require(rms > 1e-3, f"the GM note is silent (RMS {rms:.2e})")
    additive = _render_note(PolySynth(samplerate=sr, blocksize=256), sr)
    gm_share, additive_share = _overtone_share(gm_note, sr), _overtone_share(additive, sr)
    _require(
        gm_share > max(0.005, 10.0 * additive_share),
        f"the GM note's spectrum looks like the additive synth's (energy above the 3rd partial: "
        f"{gm_share:.2%} vs {additive_share:.2%})",
    )
    return (
        f"{soundfont.name} through {Path(libs[0]).name if libs else 'libfluidsynth'}"
        f"{' (bundled)' if frozen else ''}: middle C RMS {rms:.3f}, "
        f"energy above the 3rd partial {gm_share:.1%} (additive synth {additive_share:.2%})"
    )


def _shipped_cards():
    from gdl_studio.core.paths import models_dir
    from gdl_studio.core.registry import default_registry

    root = models_dir().resolve()
    expected = sorted(p.name for p in root.iterdir() if (p / "card.json").is_file())
    _require(expected, f"no shipped models in {root}")
    cards = {c.name: c for c in default_registry().cards() if root in c.directory.resolve().parents}
    missing = [n for n in expected if n not in cards]
    _require(not missing, f"registry does not list shipped models: {', '.join(missing)}")
    return [cards[n] for n in expected]


def _check_models() -> str:
    from gdl_studio.areas import load_model

    names = []
    for card in _shipped_cards():
        load_model(card.name)  # raises ModelUnavailable with a one-line reason
        names.append(card.name)
    return f"{len(names)} loaded: {', '.join(names)}"


def _check_music(notes: int) -> str:
    from gdl_studio.areas import load_model
    from gdl_studio.core.paths import resources_dir
    from gdl_studio.music.midi_io import read_midi

    primer = read_midi(resources_dir() / "examples" / "chorale.mid")
    parts = []
    for card in _shipped_cards():
        if not card.family.startswith("music"):
            continue
        composer = load_model(card.name)
        steps = list(composer.generate(primer, n_notes=notes, seed=1))
        _require(len(steps) == notes, f"{card.name} made {len(steps)} notes, not {notes}")
        end = max(n.end for n in primer.notes)
        for s in steps:
            _require(0 <= s.note.pitch <= 127 and s.note.duration > 0, f"{card.name}: bad note {s.note}")
            _require(s.note.start >= end - 0.5, f"{card.name}: note long before the primer's end {s.note}")
        parts.append(f"{card.name} {len(steps)} notes (pitches {', '.join(str(s.note.pitch) for s in steps[:4])}…)")
    _require(parts, "no music model shipped")
    return "; ".join(parts)


def _check_ink(points: int) -> str:
    import math

    from gdl_studio.areas import load_model

    parts = []
    for card in _shipped_cards():
        if not card.family.startswith("ink"):
            continue
        model = load_model(card.name)
        pts = list(model.generate(temperature=0.8, seed=1, max_points=points))
        _require(len(pts) == points, f"{card.name} drew {len(pts)} points, not {points}")
        _require(all(math.isfinite(p.x) and math.isfinite(p.y) for p in pts), f"{card.name}: non-finite point")
        strokes = sum(p.pen_up for p in pts)
        parts.append(f"{card.name} {len(pts)} points, {strokes} strokes ended")
    _require(parts, "no ink model shipped")
    return "; ".join(parts)


def _check_dream(frames: int) -> str:
    import numpy as np

    from gdl_studio.racing.dream import dream_frames, real_frames
    from gdl_studio.racing.models_io import load_world_model

    world = load_world_model()
    dream = list(dream_frames(world, seed=1, max_steps=frames, stop_on_done=False))
    _require(len(dream) == frames, f"dreamed {len(dream)} frames, not {frames}")
    for f in dream:
        _require(f.frame.shape == (64, 64, 3) and f.frame.dtype == np.uint8, f"bad dream frame {f.frame.shape}")
    _require(float(np.std(dream[-1].frame)) > 1.0, "the dreamed frame is blank")
    real = list(real_frames(world, seed=1, max_steps=frames))
    _require(len(real) == frames, f"drove {len(real)} real frames, not {frames}")
    _require(real[-1].obs.shape == (96, 96, 3), f"bad game frame {real[-1].obs.shape}")
    return f"{len(dream)} dream frames, {len(real)} real-game frames (reward {real[-1].total:.2f}); {_renderer_check()}"


def _renderer_check() -> str:
    """The fast CarRacing renderer against the stock one for a few frames, and which one drew."""
    import numpy as np

    from gdl_studio.racing.fast_env import CarRacing, FastCarRacing

    stock, fast = CarRacing(), FastCarRacing()
    a, _ = stock.reset(seed=3)
    b, _ = fast.reset(seed=3)
    same = np.array_equal(a, b)
    for _ in range(60):
        action = np.array([0.3, 0.5, 0.0], np.float32)
        same &= np.array_equal(stock.step(action)[0], fast.step(action)[0])
    _require(same, "the fast renderer's frames differ from the stock game's")
    return f"renderer {fast.render_backend}: 60 frames identical to stock"


def _train_step() -> float:
    """One Adam step on a small network: autograd and ``torch.optim`` (which imports torch._dynamo)."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = torch.randn(32, 8), torch.randn(32, 1)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    if not losses[-1] < losses[0]:
        raise RuntimeError(f"loss did not go down: {losses}")
    return losses[-1]


def _train_child(q) -> None:  # runs in the spawn child
    try:
        q.put(("ok", _train_step()))
    except BaseException as exc:  # report everything to the parent
        q.put(("error", f"{type(exc).__name__}: {exc}"))


def _check_train(spawn: bool) -> str:
    if not spawn:
        return f"one optimiser step in-process, loss {_train_step():.4f}"
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_train_child, args=(q,), name="gdl-selftest-train", daemon=True)
    proc.start()
    try:
        status, value = q.get(timeout=120)
    except queue.Empty:
        raise _Failed(f"the spawn child gave no answer (exit code {proc.exitcode})") from None
    finally:
        proc.join(60)  # after its answer the child still unloads torch: >10 s seen on a loaded machine
        if proc.is_alive():
            proc.kill()
    _require(status == "ok", f"in the spawn child: {value}")
    _require(proc.exitcode == 0, f"the spawn child exited with {proc.exitcode}")
    return f"one optimiser step in a spawn child process, loss {value:.4f}"


# ---------------------------------------------------------------------------------------------- window
def process_age() -> tuple[float, str]:
    """Seconds since this process started, and what that is measured from.

    ``GDL_STUDIO_T0`` (a Unix time set by the caller just before starting the process) wins;
    otherwise the process start time from ``/proc`` (Linux); otherwise the import of this module.
    """
    t0 = os.environ.get("GDL_STUDIO_T0")
    if t0:
        with contextlib.suppress(ValueError):
            return time.time() - float(t0), "launch (GDL_STUDIO_T0)"
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time after boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start, "process start"
    except (OSError, ValueError, IndexError, AttributeError):
        return time.time() - _T_IMPORT, "interpreter start (approx.)"


def open_window(timeout_s: float = 60.0, on_painted: Callable | None = None) -> dict:
    """Start the app as ``gdl-studio app`` does and close it after the main window's first paint.

    Returns ``{"ok", "seconds", "since", "panels", "broken", ...}``. ``on_painted(window)`` may
    run extra checks on the painted window (its return value goes under ``"extra"``).
    """
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QWidget

    from gdl_studio.ui.shell.launch import gui_application, launch

    info: dict = {"ok": False}
    t_call = time.perf_counter()
    app = gui_application()

    def finish(window) -> None:
        try:
            from gdl_studio.ui.shell.main_window import BrokenPanel

            info["panels"] = sorted(window.panels)
            info["broken"] = sorted(pid for pid, p in window.panels.items() if isinstance(p, BrokenPanel))
            info["title"] = window.windowTitle()
            from gdl_studio.ui.widgets.problem_banner import ProblemBanner

            unavailable = {}
            for pid, panel in window.panels.items():  # every panel can be shown and painted
                window.show_panel(pid)
                app.processEvents()
                banner = panel.banner if isinstance(panel, BrokenPanel) else None  # not a model's problem
                if isinstance(banner, ProblemBanner) and banner.isVisible() and banner.text().strip():
                    unavailable[pid] = banner.text().strip().splitlines()[0]
            info["unavailable"] = unavailable
            image = window.grab().toImage()
            info["size"] = [image.width(), image.height()]
            if on_painted is not None:
                info["extra"] = on_painted(window)
            info["ok"] = not info["broken"] and not unavailable and image.width() > 0
        except Exception as exc:  # reported, never raised inside the Qt event loop
            info["error"] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        finally:
            window.close()

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt naming)
            if event.type() == QEvent.Type.Paint and "seconds" not in info and isinstance(obj, QWidget):
                window = obj.window()
                if window.objectName() == "MainWindow":
                    info["seconds"], info["since"] = process_age()
                    info["since_call"] = time.perf_counter() - t_call
                    app.removeEventFilter(self)
                    QTimer.singleShot(0, lambda: finish(window))
            return False

    watcher = FirstPaint(app)
    app.installEventFilter(watcher)

    def give_up() -> None:
        if "seconds" not in info:
            info["error"] = f"the main window did not paint within {timeout_s:g} s"
            for w in app.topLevelWidgets():
                w.close()
            app.exit(1)

    QTimer.singleShot(int(timeout_s * 1000), give_up)
    code = launch()
    app.removeEventFilter(watcher)
    info["exit_code"] = code
    if code != 0 and "error" not in info:
        info["error"] = f"the app exited with code {code}"
        info["ok"] = False
    return info


def measure_startup(timeout_s: float = 60.0) -> dict:
    """The ``--startup-time`` measurement (see the module docstring)."""
    info = open_window(timeout_s=timeout_s)
    info["frozen"] = bool(getattr(sys, "frozen", False))
    return info


def _check_window(timeout_s: float) -> str:
    def extra(window):
        from PySide6.QtGui import QImageReader

        formats = {bytes(f).decode() for f in QImageReader.supportedImageFormats()}
        return {"svg": "svg" in formats, "icon": not window.windowIcon().isNull()}

    info = open_window(timeout_s=timeout_s, on_painted=extra)
    _require("error" not in info, info.get("error", ""))
    _require(not info.get("broken"), f"panels that failed to load: {', '.join(info['broken'])}")
    _require(
        not info.get("unavailable"),
        "panels showing 'unavailable': " + "; ".join(f"{k}: {v}" for k, v in info["unavailable"].items()),
    )
    _require(info.get("ok"), "the window did not paint")
    _require(info["extra"]["svg"], "Qt's SVG image plugin is missing (the icons would not show)")
    return (
        f"{info['title']!r} painted {info['since_call']:.2f} s after the app started building it, "
        f"panels {', '.join(info['panels'])}, {info['size'][0]}x{info['size'][1]}"
    )


# ---------------------------------------------------------------------------------------------- driver
def run_selftest(
    notes: int = 8,
    points: int = 32,
    frames: int = 5,
    window: bool = True,
    spawn: bool = True,
    timeout_s: float = 60.0,
    echo: Callable[[str], None] | None = print,
    isolate: bool = True,
    only: tuple[str, ...] | None = None,
) -> Report:
    """Run every check, or those named in ``only`` (a failing check does not stop the others)."""
    if only is not None:
        window = window and "window" in only
    if window and not _has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    frozen = bool(getattr(sys, "frozen", False))
    plan: list[tuple[str, Callable[[], str] | None]] = [
        ("version", _check_version),
        ("paths", _check_paths),
        ("exclusions", _check_exclusions if frozen else None),
        ("audio-midi", _check_audio_midi),
        ("instrument", _check_instrument),
        ("models", _check_models),
        ("music", lambda: _check_music(notes)),
        ("ink", lambda: _check_ink(points)),
        ("dream", lambda: _check_dream(frames)),
        ("train", lambda: _check_train(spawn)),
        ("window", (lambda: _check_window(timeout_s)) if window else None),
    ]
    if only is not None:
        plan = [(name, func) for name, func in plan if name in only]
    assert [name for name, _f in plan] == [n for n in CHECK_NAMES if only is None or n in only]
    report = Report()
    with isolated_user_state() if isolate else contextlib.nullcontext():
        for name, func in plan:
            t = time.perf_counter()
            if func is None:
                check = Check(name, "skip", "not frozen" if name == "exclusions" else "not asked for")
            else:
                try:
                    check = Check(name, "ok", func())
                except _Skipped as exc:
                    check = Check(name, "skip", str(exc))
                except Exception as exc:
                    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    check = Check(name, "FAIL", f"{type(exc).__name__}: {msg}" if not isinstance(exc, _Failed) else msg)
                    if not isinstance(exc, _Failed):
                        traceback.print_exc()
            check.seconds = round(time.perf_counter() - t, 3)
            report.checks.append(check)
            if echo:
                echo(f"{check.status:<4} {name:<11} {check.detail}  ({check.seconds:.2f} s)")
    if echo:
        passed = sum(c.status == "ok" for c in report.checks)
        failed = sum(c.status == "FAIL" for c in report.checks)
        echo(
            f"selftest: {passed} passed, {failed} failed, {len(report.checks) - passed - failed} skipped"
            f" ({'frozen bundle' if frozen else 'source tree'})"
        )
    return report


def _has_display() -> bool:
    from gdl_studio.ui.shell.launch import has_display

    return has_display()
