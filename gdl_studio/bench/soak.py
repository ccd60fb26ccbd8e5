"""``gdl-studio bench soak``: does the app's resident memory stay flat in long use?

The whole app runs in a child process (``gdl-studio app --panel dream``, offscreen unless a
display is set) with its settings in a scratch folder. A driver inside it works each panel's
continuous mode in turn, as a person would, through the window's buttons:

* ``dream-real``  — Dream panel, *Real game*: the controller drives; *New episode* when one ends;
* ``dream-dream`` — Dream panel, *Dream*: the world model dreams; *New episode* when one ends;
* ``compose-continue`` — Compose panel with ``resources/examples/chorale.mid``: *Continue*, and
  when the notes are in, *Reject* and *Continue* again;
* ``sketch-extend`` — Sketch panel: one *Dream up a character* that is accepted, then *Extend*,
  *Reject*, *Extend* …

This process samples the child's resident set size from outside every ``--interval`` seconds.
The first round of all phases is a warm-up (models load, caches and allocator arenas fill up)
and is not counted; then the phases run in rounds (``--rounds``, default 2) over the rest of
``--minutes``. The growth rates are Theil–Sen slopes (the median of the pairwise slopes, robust
to the saw-tooth of single generations): overall over every sample after the warm-up, and per
phase over pairs of samples taken inside the same stretch of that phase.

What the driver relies on in the app (so that it survives UI refactors): the main window's
``show_panel(id)`` and ``open_path(path)``, each panel's ``panel_id``, the engine's
``finished``/``error`` signals (``JobFinished.panel``/``cancelled``), and the buttons' labels:
"Real game", "Dream", "New episode" (Dream); "Continue", "Reject" (Compose); "Dream up a
character", "Accept", "Extend", "Reject" (Sketch).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

PHASES = ("dream-real", "dream-dream", "compose-continue", "sketch-extend")
TARGET_MB_PER_HOUR = 10.0
EVENT = "@@soak "  # prefix of the child's event lines on its stdout (anything else is passed on)


# ---------------------------------------------------------------------------------- CLI hook
def register(commands) -> None:
    p = commands.bench.add_parser(
        "soak", help="resident memory over a long session, each panel's continuous mode in turn (MB/hour)"
    )
    p.add_argument("--minutes", type=float, default=30.0, help="whole run, warm-up included (default 30)")
    p.add_argument(
        "--warmup-minutes",
        type=float,
        default=None,
        help="first round of the phases, not counted (default: a fifth of --minutes, at most 6)",
    )
    p.add_argument("--rounds", type=int, default=2, help="rounds of the phases after the warm-up (default 2)")
    p.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between RSS samples (default 2)")
    p.add_argument("--json", action="store_true", help="print only JSON on stdout (progress on stderr)")
    p.add_argument("--csv", metavar="PATH", help="also write every sample (seconds, rss_mb, phase, warmup) to PATH")
    p.add_argument("--child", help=argparse.SUPPRESS)  # internal: run the app and the driver
    p.set_defaults(func=_bench_soak)


def _bench_soak(args) -> int:
    if args.child:
        return run_child(json.loads(args.child))
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = [p for p in phases if p not in PHASES]
    if unknown or not phases:
        from gdl_studio.core.errors import UserError

        raise UserError(f"unknown phase(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(PHASES)}")
    warmup = args.warmup_minutes if args.warmup_minutes is not None else min(6.0, args.minutes / 5.0)
    plan = make_plan(phases, args.minutes * 60.0, warmup * 60.0, max(1, args.rounds))
    results = run_parent(plan, interval=args.interval, csv_path=args.csv)
    results["minutes"] = args.minutes
    results["warmup_minutes"] = warmup
    _print(results, args.json)
    return 0 if results.get("child_exit_code") == 0 else 1


# ---------------------------------------------------------------------------------- plan
def make_plan(phases: list[str], total_s: float, warmup_s: float, rounds: int) -> list[dict]:
    """[{phase, seconds, warmup}] — one warm-up round, then ``rounds`` rounds filling the rest."""
    warmup_s = max(0.0, min(warmup_s, total_s))
    plan = [{"phase": p, "seconds": warmup_s / len(phases), "warmup": True} for p in phases] if warmup_s > 0 else []
    segment = (total_s - warmup_s) / (rounds * len(phases))
    plan += [{"phase": p, "seconds": segment, "warmup": False} for _ in range(rounds) for p in phases]
    return [step for step in plan if step["seconds"] > 0]


# ---------------------------------------------------------------------------------- statistics
def theil_sen(t, y, groups=None) -> float:
    """Median of the slopes (y_j − y_i)/(t_j − t_i) over pairs i < j (with the same group, if given)."""
    import numpy as np

    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if t.size < 2:
        return float("nan")
    i, j = np.triu_indices(t.size, k=1)
    keep = t[j] != t[i]
    if groups is not None:
        g = np.asarray(groups)
        keep &= g[i] == g[j]
    if not keep.any():
        return float("nan")
    i, j = i[keep], j[keep]
    return float(np.median((y[j] - y[i]) / (t[j] - t[i])))


def summarise(samples: list[tuple[float, float, int]], plan: list[dict]) -> dict:
    """Growth figures from samples (t_s, rss_mb, step index in ``plan``)."""
    measured = [(t, r, k) for t, r, k in samples if k >= 0 and not plan[k]["warmup"]]
    out: dict = {"samples": len(measured)}
    if not measured:
        return out
    t = [s[0] for s in measured]
    r = [s[1] for s in measured]
    out["rss_growth_mb_per_hour"] = 3600.0 * theil_sen(t, r)
    out["rss_start_mb"] = r[0]
    out["rss_end_mb"] = r[-1]
    out["rss_max_mb"] = max(r)
    out["measured_minutes"] = (t[-1] - t[0]) / 60.0
    phases: dict = {}
    for name in dict.fromkeys(step["phase"] for step in plan):
        mine = [(tt, rr, k) for tt, rr, k in measured if plan[k]["phase"] == name]
        if not mine:
            continue
        phases[name] = {
            "rss_growth_mb_per_hour": 3600.0
            * theil_sen([m[0] for m in mine], [m[1] for m in mine], [m[2] for m in mine]),
            "rss_start_mb": mine[0][1],
            "rss_end_mb": mine[-1][1],
            "samples": len(mine),
        }
    out["phases"] = phases
    return out


# ---------------------------------------------------------------------------------- parent
def _rss_reader(pid: int):
    """A function returning the resident set size of process ``pid`` in MiB (psutil, else /proc)."""
    try:
        import psutil

        proc = psutil.Process(pid)
        return lambda: proc.memory_info().rss / 2**20
    except ImportError:
        page = os.sysconf("SC_PAGE_SIZE")
        path = f"/proc/{pid}/statm"
        if not os.path.exists(path):
            from gdl_studio.core.errors import UserError

            raise UserError("bench soak needs psutil on this system (pip install psutil)") from None

        def read() -> float:
            with open(path) as fh:
                return int(fh.read().split()[1]) * page / 2**20

        return read


def run_parent(plan: list[dict], interval: float = 2.0, csv_path: str | None = None) -> dict:
    """Run the app in a child process driven through ``plan``; sample its RSS from here."""
    env = dict(os.environ)
    if not any(env.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY")) and sys.platform.startswith("linux"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    cmd = [sys.executable, "-m", "gdl_studio", "bench", "soak", "--child", json.dumps({"plan": plan})]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, env=env, text=True, bufsize=1)
    read_rss = _rss_reader(child.pid)
    state = {"step": -1, "t0": None, "report": {}, "phase_log": []}
    lock = threading.Lock()

    def read_events() -> None:
        for line in child.stdout:
            if not line.startswith(EVENT):
                sys.stderr.write(line)
                continue
            event = json.loads(line[len(EVENT) :])
            with lock:
                if event["event"] == "step":
                    state["step"] = int(event["index"])
                    now = time.monotonic()
                    state["t0"] = state["t0"] if state["t0"] is not None else now
                    state["phase_log"].append((now, state["step"]))
                elif event["event"] == "done":
                    state["step"] = -1
                    state["report"] = event.get("report", {})

    reader = threading.Thread(target=read_events, daemon=True)
    reader.start()
    samples: list[tuple[float, float, int]] = []
    start = time.monotonic()
    next_t = start
    last_note = start
    while child.poll() is None:
        next_t += interval
        try:
            rss = read_rss()
        except Exception:  # the child is exiting
            break
        now = time.monotonic()
        with lock:
            step = state["step"]
        samples.append((now - start, rss, step))
        if now - last_note >= 60:
            last_note = now
            where = plan[step]["phase"] + (" (warm-up)" if plan[step]["warmup"] else "") if step >= 0 else "starting"
            print(f"[soak] {(now - start) / 60:5.1f} min  {where:28s} rss {rss:7.1f} MB", file=sys.stderr, flush=True)
        time.sleep(max(0.0, next_t - time.monotonic()))
    child.wait()
    reader.join(timeout=5)
    if csv_path:
        with open(csv_path, "w", encoding="utf-8") as fh:
            fh.write("seconds,rss_mb,phase,warmup\n")
            for t, rss, k in samples:
                phase, warm = (plan[k]["phase"], int(plan[k]["warmup"])) if k >= 0 else ("", "")
                fh.write(f"{t:.2f},{rss:.3f},{phase},{warm}\n")
    results = summarise(samples, plan)
    results["child_exit_code"] = child.returncode
    results["interval_s"] = interval
    results["rss_first_sample_mb"] = samples[0][1] if samples else float("nan")
    results["target_rss_growth_mb_per_hour"] = TARGET_MB_PER_HOUR
    counts = state["report"].get("phases", {})
    for name, figures in results.get("phases", {}).items():
        figures.update(counts.get(name, {}))
    return results


def _print(results: dict, as_json: bool) -> None:
    from gdl_studio.core import bench

    if as_json:
        bench.dump_json(results)
        return

    rows = [
        (
            "all phases",
            results.get("rss_growth_mb_per_hour", float("nan")),
            results.get("rss_start_mb", ""),
            results.get("rss_end_mb", ""),
            results.get("samples", 0),
            "",
        )
    ]
    for name, f in results.get("phases", {}).items():
        rows.append(
            (
                name,
                f["rss_growth_mb_per_hour"],
                f["rss_start_mb"],
                f["rss_end_mb"],
                f["samples"],
                f"{f.get('actions', 0)} actions, {f.get('errors', 0)} errors",
            )
        )
    bench.print_table(
        f"bench soak: {results.get('minutes', 0):.0f} min, {results.get('warmup_minutes', 0):.1f} min warm-up "
        f"(target ≤ {TARGET_MB_PER_HOUR:.0f} MB/hour)",
        rows,
        header=("phase", "RSS growth (MB/hour)", "RSS start (MB)", "RSS end (MB)", "samples", "driven"),
    )


# ---------------------------------------------------------------------------------- child
def _say(event: dict) -> None:
    sys.stdout.write(EVENT + json.dumps(event) + "\n")
    sys.stdout.flush()


def run_child(spec: dict) -> int:
    """In the child: the app as ``gdl-studio app --panel dream`` runs it, plus the driver."""
    from gdl_studio.engine.threads import preload_torch

    preload_torch()  # before Qt, as the app's launch does
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    scratch = tempfile.mkdtemp(prefix="gdl-soak-settings-")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, scratch)  # leave the user's settings alone
    app = QApplication.instance() or QApplication(sys.argv[:1])
    driver = Driver(app, spec["plan"])
    QTimer.singleShot(0, driver.begin)
    from gdl_studio.ui.shell.launch import launch

    try:
        code = launch(panel="dream")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _say({"event": "done", "report": driver.report()})
    return code


class Driver:
    """Works the panels' buttons through the plan (lives on the GUI thread of the child)."""

    def __init__(self, app, plan: list[dict]) -> None:
        self.app = app
        self.plan = plan
        self.index = -1
        self.window = None
        self.engine = None
        self.counts: dict[str, dict[str, int]] = {}
        self._sketch_has_drawing = False
        self._timer = None

    # -- finding things in the app
    def _find_window(self):
        for widget in self.app.topLevelWidgets():
            if hasattr(widget, "show_panel") and widget.isVisible():
                return widget
        return None

    def panel(self, panel_id: str):
        from PySide6.QtWidgets import QWidget

        panels = getattr(self.window, "panels", None)
        if isinstance(panels, dict) and panel_id in panels:
            return panels[panel_id]
        for widget in self.window.findChildren(QWidget):
            if getattr(widget, "panel_id", None) == panel_id:
                return widget
        raise RuntimeError(f"no panel {panel_id!r} in the window")

    def button(self, panel_id: str, label: str):
        """The enabled-or-not push button of ``panel_id`` whose text is ``label`` (glyphs aside)."""
        from PySide6.QtWidgets import QPushButton

        wanted = label.casefold()
        found = [
            b
            for b in self.panel(panel_id).findChildren(QPushButton)
            if b.text().strip(" ✓✗⟳⟲").strip().casefold() == wanted
        ]
        if not found:
            raise RuntimeError(f"no button {label!r} in the {panel_id} panel")
        return found[0]

    def click(self, panel_id: str, label: str) -> bool:
        b = self.button(panel_id, label)
        if not b.isEnabled():
            return False
        b.click()
        self._count("actions")
        return True

    def _count(self, what: str) -> None:
        phase = self.phase or "outside the plan"
        self.counts.setdefault(phase, {"actions": 0, "errors": 0, "jobs": 0})[what] += 1

    # -- the plan
    def begin(self) -> None:
        from PySide6.QtCore import QTimer

        self.window = self._find_window()
        if self.window is None:
            QTimer.singleShot(100, self.begin)
            return
        self.engine = self.panel("dream").engine
        self.engine.finished.connect(self._on_finished)
        self.engine.error.connect(self._on_error)
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._next_step)
        self._next_step()

    def _next_step(self) -> None:
        self.index += 1
        if self.index >= len(self.plan):
            self.window.close()
            return
        step = self.plan[self.index]
        _say({"event": "step", "index": self.index})
        print(
            f"[soak child] {step['phase']} for {step['seconds']:.0f} s{' (warm-up)' if step['warmup'] else ''}",
            file=sys.stderr,
            flush=True,
        )
        getattr(self, "_start_" + step["phase"].replace("-", "_"))()
        self._timer.start(int(step["seconds"] * 1000))

    @property
    def phase(self) -> str:
        return self.plan[self.index]["phase"] if 0 <= self.index < len(self.plan) else ""

    # -- phases
    def _start_dream_real(self) -> None:
        self.window.show_panel("dream")
        self.click("dream", "Real game")

    def _start_dream_dream(self) -> None:
        self.window.show_panel("dream")
        self.click("dream", "Dream")

    def _start_compose_continue(self) -> None:
        from gdl_studio.core.paths import resources_dir

        self.window.show_panel("compose")
        if not getattr(self, "_compose_opened", False):
            self._compose_opened = self.window.open_path(str(resources_dir() / "examples" / "chorale.mid"))
        self.click("compose", "Continue")

    def _start_sketch_extend(self) -> None:
        self.window.show_panel("sketch")
        if self._sketch_has_drawing:
            self.click("sketch", "Extend")
        else:
            self.click("sketch", "Dream up a character")

    # -- reacting to the engine
    def _on_finished(self, info) -> None:
        if info.cancelled:
            return
        self._count("jobs")
        self._after_job(info.panel)

    def _on_error(self, info) -> None:
        self._count("errors")
        print(f"[soak child] {info.panel}: {info.message}", file=sys.stderr, flush=True)
        from PySide6.QtCore import QTimer

        QTimer.singleShot(2000, lambda: self._after_job(info.panel))

    def _after_job(self, panel_id: str) -> None:
        """A job of ``panel_id`` ended: the next action of the running phase, if it is that panel's."""
        from PySide6.QtCore import QTimer

        phase = self.phase
        if phase.startswith("dream") and panel_id == "dream":
            QTimer.singleShot(0, lambda: self.click("dream", "New episode") if self.phase == phase else None)
        elif phase == "compose-continue" and panel_id == "compose":
            QTimer.singleShot(0, self._compose_again)
        elif phase == "sketch-extend" and panel_id == "sketch":
            QTimer.singleShot(0, self._sketch_again)

    def _compose_again(self) -> None:
        if self.phase != "compose-continue":
            return
        self.click("compose", "Reject")
        self.click("compose", "Continue")

    def _sketch_again(self) -> None:
        if self.phase != "sketch-extend":
            return
        if not self._sketch_has_drawing:
            self._sketch_has_drawing = self.click("sketch", "Accept")
        else:
            self.click("sketch", "Reject")
        self.click("sketch", "Extend")

    def report(self) -> dict:
        return {"phases": self.counts}
