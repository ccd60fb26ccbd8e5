"""The live benchmark (``gdl-studio bench live``).

1. **MIDI output timing** — a dense stream of notes goes through the app's path
   (:class:`~gdl_studio.live.playback.Playback` → :class:`~gdl_studio.live.scheduler.MidiScheduler`
   → the MIDI output process of :mod:`~gdl_studio.live.midi_process`) to an independent JACK MIDI client in
   another process, which stamps each message with ``perf_counter`` (CLOCK_MONOTONIC, the same
   clock in every process) when JACK hands it over. The figure is |received − scheduled|,
   measured while a music model generates on another thread, as in the app. rtmidi's JACK
   backend delivers a message at the start of the next JACK cycle, so the floor of this error is
   one period: the private server runs 64 frames at 48 kHz (1.33 ms) by default.
2. **Jam response** — phrases are played into the app's MIDI input port by another JACK client;
   the figure is the time from the end of the silence window to the first answered note at the
   receiving client; the answer is generated on an :class:`~gdl_studio.engine.core.EngineCore`
   thread as in the app.
3. **GUI stalls** — the Compose panel (offscreen Qt) streams a continuation with audition on
   while a 1 ms timer measures how late the event loop serves it (:mod:`gdl_studio.bench.live`:
   it needs the UI, so it lives above it and is handed in by the CLI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

from gdl_studio.core.errors import UserError
from gdl_studio.live.bench_load import Generator

RX_CLIENT = "gdl-bench-rx"
TX_CLIENT = "gdl-bench-player"


# ---------------------------------------------------------------------------------------- JACK
def _jack_ok(env: dict) -> bool:
    try:
        r = subprocess.run(["jack_lsp"], capture_output=True, timeout=5, env={**env, "JACK_NO_START_SERVER": "1"})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


class JackServer:
    """A private JACK server with the dummy driver (realtime if the OS allows it)."""

    def __init__(self, period: int, rate: int = 48000) -> None:
        self.name = f"gdl-bench-{os.getpid()}"
        self.period = period
        self.rate = rate
        self.proc: subprocess.Popen | None = None
        self.realtime = False

    def start(self) -> None:
        jackd = shutil.which("jackd")
        if jackd is None:
            raise UserError(
                "jackd is not installed: install jackd2 (the benchmark measures at a JACK client), "
                "or pass --server NAME for a running server"
            )
        env = {**os.environ, "JACK_DEFAULT_SERVER": self.name}
        for realtime in (True, False):
            flags = ["-R", "-P", "70"] if realtime else ["--no-realtime"]
            self.proc = subprocess.Popen(
                [jackd, "-n", self.name, *flags, "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            deadline = time.time() + 8
            while time.time() < deadline and self.proc.poll() is None and not _jack_ok(env):
                time.sleep(0.1)
            if self.proc.poll() is None and _jack_ok(env):
                self.realtime = realtime
                os.environ["JACK_DEFAULT_SERVER"] = self.name
                return
            self.stop()
        raise UserError("could not start a JACK server (jackd -d dummy)")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---------------------------------------------------------------------------------------- receiver
class Receiver:
    """The independent JACK client (another process, see :mod:`bench_receiver`)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gdl_studio.live.bench_receiver", RX_CLIENT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both are pipes
        self._to, self._from = self.proc.stdin, self.proc.stdout
        line = self._from.readline().strip()
        if line != "ready":
            self.close()
            raise UserError("the JACK receiver client did not start")
        self.port = f"{RX_CLIENT}:in"

    def take(self) -> list:
        import json

        self._to.write("take\n")
        self._to.flush()
        return [(t, tuple(d)) for t, d in json.loads(self._from.readline())]

    def close(self) -> None:
        try:
            self._to.write("stop\n")
            self._to.flush()
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------------------------------- model
def _composer(args):
    from gdl_studio.jobs import compose as composers

    name = {"lstm": "music-lstm", "transformer": "music-transformer"}.get(args.model, args.model)
    if args.tiny:
        return composers.tiny_composer(name), True
    from gdl_studio.core.registry import ModelUnavailable

    try:
        return composers.load_composer(name, allow_demo=False), False
    except ModelUnavailable as exc:
        raise UserError(f"{exc} (or pass --tiny to time an untrained model)") from None


def _primer():
    from gdl_studio.core.paths import resources_dir
    from gdl_studio.music.midi_io import read_midi
    from gdl_studio.music.notes import Note

    path = resources_dir() / "examples" / "chorale.mid"
    if path.is_file():
        return read_midi(path).notes
    return [Note(60 + (i * 7) % 12, i * 0.5, 0.5) for i in range(32)]


# ---------------------------------------------------------------------------------------- figures
def midi_timing(args, receiver: Receiver, composer, primer) -> dict:
    """|received − scheduled| for a note stream while the model generates."""
    from gdl_studio.core.bench import percentiles
    from gdl_studio.live.midi_process import open_output
    from gdl_studio.live.playback import Playback
    from gdl_studio.live.scheduler import MidiScheduler
    from gdl_studio.music.notes import Note

    out = open_output(receiver.port)  # as in the app: a MIDI output process
    sched = MidiScheduler(out, realtime=True).start()
    gen = Generator(composer, primer)
    gen.start()
    try:
        time.sleep(0.5)
        receiver.take()
        tempo = 120.0
        step = 0.125  # 32nd notes at 120 BPM: 16 notes (32 messages) a second
        n = int(args.seconds * tempo / 60.0 / step)
        notes = [Note(i % 128, i * step, step * 0.5, 1 + (i // 128) % 127, track=0) for i in range(n)]
        t0 = time.perf_counter() + 0.3
        pb = Playback(notes, tempo, t0=t0)
        scheduled: dict[tuple[int, int, int], list[float]] = {}
        for note in notes:
            on = pb.time_of(note.start)
            scheduled.setdefault((0x90, note.pitch, note.velocity), []).append(on)
            scheduled.setdefault((0x80, note.pitch, 0), []).append(pb.time_of(note.end))
        sched.add_source(pb, "bench")
        time.sleep(0.3 + args.seconds + 0.5)
        events = receiver.take()
    finally:
        gen.stop_flag.set()
        sched.close()
        out.close()
        gen.join(5)
    received: dict = {}
    for t, data in events:
        received.setdefault(tuple(data), []).append(t)
    errors = []
    for key, times in scheduled.items():
        got = received.get(key, [])
        for s, r in zip(times, got):
            errors.append(abs(r - s) * 1000.0)
    expected = sum(len(v) for v in scheduled.values())
    return {
        "midi_timing_ms": percentiles(errors),
        "midi_messages": {"sent": expected, "received": len(errors)},
        "output": type(out).__name__,
        "scheduler_realtime": bool(sched.realtime),
        "notes_generated_meanwhile": gen.notes,
    }


def first_answer_ms(events, window_end: float, window_s: float) -> float | None:
    """Milliseconds from the end of the silence window to the answer's first note-on among
    ``events`` ((time, message) pairs; negative: early), None without one. Note-ons from half the
    window before its end count: the phrase's last note ended a whole window before, and an answer
    note may arrive a JACK period or two early (a cut at the window's end would then skip the
    first note and time the second one instead)."""
    since = window_end - 0.5 * window_s
    answers = [t for t, d in events if d[0] & 0xF0 == 0x90 and d[2] > 0 and t >= since]
    return (min(answers) - window_end) * 1000.0 if answers else None


def jam_response(args, receiver: Receiver, composer) -> dict:
    """End of the silence window → first answered note at the receiving client."""
    import rtmidi

    from gdl_studio.core.bench import percentiles
    from gdl_studio.engine.core import EngineCore, Request
    from gdl_studio.jobs import compose as composers
    from gdl_studio.live.jam import JamSession
    from gdl_studio.live.midi_ports import MidiInput
    from gdl_studio.live.midi_process import open_output
    from gdl_studio.live.scheduler import MidiScheduler

    out = open_output(receiver.port)
    sched = MidiScheduler(out, realtime=True).start()
    core = EngineCore()
    engine_thread = threading.Thread(target=core.run_forever, name="gdl-bench-engine", daemon=True)
    engine_thread.start()

    def runner(make_job):
        core.submit(Request(panel="compose", job=lambda ctx: make_job(ctx.cancelled), label="jam"))

    # as the app does when jam mode is switched on: load and warm the model on the engine thread
    warm = Request(panel="compose", job=lambda ctx: iter(composers.warm_up(composer)), label="warm up")
    core.submit(warm)
    deadline = time.perf_counter() + 30
    while core.busy and time.perf_counter() < deadline:
        time.sleep(0.01)

    tempo, silence = 160.0, 2.0
    jam = JamSession(
        sched,
        composers.responder(composer, temperature=1.0),
        tempo_bpm=tempo,
        silence_beats=silence,
        answer_notes=4,
        runner=runner,
    )
    player = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name=TX_CLIENT)
    player.open_virtual_port("out")
    time.sleep(0.3)
    inp = MidiInput(jam.feed, f"{TX_CLIENT}:out")
    jam.start()
    firsts, misses = [], 0
    try:
        time.sleep(0.3)
        receiver.take()
        spb = 60.0 / tempo
        for r in range(args.jam_rounds):
            for _k, pitch in enumerate((60, 62, 64, 65, 67, 65)):
                player.send_message([0x90, pitch + r % 5, 90])
                time.sleep(spb * 0.45)
                player.send_message([0x80, pitch + r % 5, 0])
                time.sleep(spb * 0.05)
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline and (
                len(jam.stats) <= r or jam.state != "listening" or jam.stats[r].first_note_t is None
            ):
                time.sleep(0.01)
            time.sleep(0.1)
            events = receiver.take()
            if len(jam.stats) <= r:
                misses += 1
                continue
            first = first_answer_ms(events, jam.stats[r].window_end, silence * spb)
            if first is None:
                misses += 1
            else:
                firsts.append(first)
    finally:
        jam.stop()
        inp.close()
        player.close_port()
        player.delete()
        core.stop()
        engine_thread.join(5)
        sched.close()
        out.close()
    stats = percentiles(firsts)
    return {
        "jam_first_note_ms": stats["max"],
        "jam_first_note": {"p50_ms": stats["p50"], "mean_ms": stats["mean"], "rounds": stats["n"], "missed": misses},
    }


def run_bench(args, gui_figure=None) -> int:
    """Run the measurements and print them.

    ``gui_figure(args, model_name, tiny) -> dict`` measures the GUI stalls; it lives above the UI
    (:func:`gdl_studio.bench.live.gui_stalls`) and is skipped when None or with ``--no-gui``.
    """
    from gdl_studio.core.bench import emit, peak_rss_mb
    from gdl_studio.live import midi_ports

    server = None
    if args.server:
        os.environ["JACK_DEFAULT_SERVER"] = args.server
        if not _jack_ok(dict(os.environ)):
            raise UserError(f"no JACK server named '{args.server}' is running")
    else:
        server = JackServer(args.period)
        server.start()
    os.environ["GDL_STUDIO_MIDI_API"] = "jack"
    midi_ports.reset_api()
    results: dict = {}
    receiver = None
    xruns = None
    try:
        from gdl_studio.live import jack_midi

        if jack_midi.available():  # the server's xruns beside each message count (see XrunCounter)
            from gdl_studio.live.bench_sync import XrunCounter

            xruns = XrunCounter()
        receiver = Receiver()
        composer, tiny = _composer(args)
        from gdl_studio.engine.threads import cap_torch_threads

        cap_torch_threads()
        primer = _primer()
        if not args.json:
            print(f"measuring MIDI timing for {args.seconds:g} s while {composer.name} generates…", file=sys.stderr)
        if xruns is not None:
            xruns.take()
        results.update(midi_timing(args, receiver, composer, primer))
        if xruns is not None:
            results["midi_messages"]["xruns"] = xruns.take()
        if args.jam_rounds:
            if not args.json:
                print(f"jam mode: {args.jam_rounds} call-and-response rounds…", file=sys.stderr)
            results.update(jam_response(args, receiver, composer))
        receiver.close()
        receiver = None
        if not getattr(args, "no_sync", False):  # issue 14: sample-accurate MIDI, audio latency, clock, bounce
            from gdl_studio.live.bench_sync import run_sync_bench

            say = lambda text: print(text, file=sys.stderr)  # noqa: E731
            results.update(run_sync_bench(args, composer, primer, say=say, xruns=xruns))
        if not args.no_gui and gui_figure is not None:
            if not args.json:
                print("GUI stalls while a continuation streams (audition on)…", file=sys.stderr)
            name = {"lstm": "music-lstm", "transformer": "music-transformer"}.get(args.model, args.model)
            results.update(gui_figure(args, name, tiny))
    finally:
        if receiver is not None:
            receiver.close()
        if xruns is not None:
            xruns.close()
        from gdl_studio.live.synth import release_portaudio

        release_portaudio()  # PortAudio must let go of JACK before the server stops
        if server is not None:
            server.stop()
    results["model"] = composer.name + (" (tiny, untrained)" if tiny else "")
    results["jack"] = {
        "period_frames": server.period if server else "server " + args.server,
        "period_ms": round(server.period / 48.0, 3) if server else float("nan"),
        "realtime": server.realtime if server else "unknown",
    }
    results["peak_rss_mb"] = peak_rss_mb()
    emit(results, args.json, title="gdl-studio bench live")
    return 0
