"""Sample-accurate figures for ``gdl-studio bench live`` (issue 14), each measured by an
independent JACK client in a process of its own (``python -m gdl_studio.live.bench_sync ROLE``):

* ``midi.timing_ms`` — notes go the app's way (Playback → scheduler → MIDI output process →
  :class:`~gdl_studio.live.jack_midi.JackMidiOutput`) to the ``rx`` client, which stamps every
  message with the time of *its frame* (period start from ``jack_get_cycle_times`` + offset ·
  period / frames, mapped to ``perf_counter``), not with the time its callback ran. The figure is
  |stamped − scheduled| while a music model generates on another thread.
* ``audio.latency_ms`` — the app's built-in instrument (FluidSynth behind sounddevice/PortAudio
  on JACK, as in the app) plays notes the scheduler sends at known deadlines; the ``rec`` client
  records the app's audio output ports and the figure is first-sample-above-threshold (its frame
  time) − deadline. All Sound Off 120 ms before each note makes every onset start from silence.
* ``clock.follow_error_ms`` — the ``clk`` client sends Start and 24-ppqn clock at 120 BPM
  sample-accurately (optionally with ±5 ms of random jitter per tick); the app follows it
  (frame-stamped input → :class:`~gdl_studio.live.clock.ClockFollower` → Transport) and, a
  quarter of a beat ahead of each beat, predicts when the beat falls (where a note on it
  would be placed). The figure is |predicted − the clock's true beat time|.
  ``clock.lost_tick.follow_error_ms``: the same with 2 % of the ticks left out.
* ``render.realtime_factor`` — the chorale bounced with the GM instrument: seconds of audio per
  second of wall time (SoundFont loading included; ``render.render_factor`` without it).

JACK defines the time of a frame by its period's start (its DLL) plus the offset; both the app and
the measuring clients use that one definition, so a figure here is what another JACK client (a
DAW, a synth) would see.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

RX, CLK, REC = "gdl-bench-frx", "gdl-bench-clock", "gdl-bench-rec"


# ===================================================================================== xruns
class XrunCounter:
    """The JACK server's xruns, counted by an idle client of our own.

    An xrun is a cycle some client did not finish in time; the MIDI in that cycle's buffers is lost
    for every client, ours or not (on a busy 2-core host a non-realtime server has one now and
    then). A message lost in a run without an xrun is the app's fault; one lost where the server
    reported xruns may not be. So the benchmark reports the count beside its message counts."""

    def __init__(self, name: str = "gdl-bench-xruns") -> None:
        import jack

        self._count = 0
        self._client = jack.Client(name, no_start_server=True)
        self._client.set_xrun_callback(self._on_xrun)  # JACK's notification thread, not the process one
        self._client.activate()

    def _on_xrun(self, _delay_usecs: float) -> None:
        self._count += 1

    def take(self) -> int:
        """Xruns since the last take (or since the counter opened)."""
        count = self._count
        self._count -= count
        return count

    def close(self) -> None:
        self._client.deactivate()
        self._client.close()


# ===================================================================================== clients
def _client(name):
    import jack

    from gdl_studio.live.jack_midi import _CycleClock

    client = jack.Client(name, no_start_server=True)
    return client, _CycleClock(client)


def _remeasure(clock, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        clock.measure()


def _rx(name: str) -> int:
    client, clock = _client(name)
    port = client.midi_inports.register("in")
    n = 1 << 16
    ts = np.zeros(n)
    data = np.zeros((n, 3), dtype=np.int32)
    state = {"w": 0, "r": 0}

    @client.set_process_callback
    def process(frames):
        start, period = clock.cycle()
        w = state["w"]
        for off, buf in port.incoming_midi_events():
            if w - state["r"] >= n or len(buf) == 0:
                continue
            raw = bytes(buf)
            i = w % n
            ts[i] = start + off * period / frames
            data[i, :] = 0
            data[i, : min(3, len(raw))] = list(raw[:3])
            w += 1
        state["w"] = w

    stop = threading.Event()
    threading.Thread(target=_remeasure, args=(clock, stop), daemon=True).start()
    client.activate()
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)[0]
        if cmd == "take":
            r, w = state["r"], state["w"]
            out = [[float(ts[i % n]), [int(x) for x in data[i % n]]] for i in range(r, w)]
            state["r"] = w
            print(json.dumps(out), flush=True)
        elif cmd == "stop":
            break
    stop.set()
    client.deactivate()
    client.close()
    return 0


def _clk(name: str) -> int:
    """Waits for ``run TARGET BPM SECONDS JITTER_MS [DROP]``; sends Start + ticks (leaving out a
    random ``DROP`` share of them after the first two beats); prints the true tick times."""
    client, clock = _client(name)
    port = client.midi_outports.register("out")
    plan = {"times": np.zeros(0), "sent": np.zeros(0), "i": 0, "start_t": None, "start_done": True}

    @client.set_process_callback
    def process(frames):
        port.clear_buffer()
        start, period = clock.cycle()
        end = start + period
        if not plan["start_done"] and plan["start_t"] < end:
            port.write_midi_event(max(0, int((plan["start_t"] - start) / period * frames)), b"\xfa")
            plan["start_done"] = True
        sent = plan["sent"]
        i = plan["i"]
        last = 0
        while i < len(sent) and sent[i] < end:
            off = min(frames - 1, max(last, int((sent[i] - start) / period * frames)))
            port.write_midi_event(off, b"\xf8")
            last = off
            i += 1
        plan["i"] = i

    stop = threading.Event()
    threading.Thread(target=_remeasure, args=(clock, stop), daemon=True).start()
    client.activate()
    print("ready", flush=True)
    for line in sys.stdin:
        parts = json.loads(line)
        if parts[0] == "run":
            target, bpm, seconds, jitter = parts[1], float(parts[2]), float(parts[3]), float(parts[4]) / 1000.0
            drop = float(parts[5]) if len(parts) > 5 else 0.0
            client.connect(port, target)
            spt = 60.0 / bpm / 24
            t0 = time.perf_counter() + 0.3
            k = np.arange(int(seconds / spt))
            times = t0 + 0.01 + k * spt
            rng = np.random.default_rng(14)
            sent = np.sort(times + rng.uniform(-jitter, jitter, size=len(times))) if jitter > 0 else times.copy()
            if drop > 0:  # lost ticks: the true grid (times) keeps them
                keep = (k < 48) | (rng.random(len(sent)) >= drop)
                sent = sent[keep]
            plan.update(times=times, sent=sent, i=0, start_t=t0, start_done=False)
            time.sleep(0.3 + seconds + 0.3)
            print(json.dumps({"ticks": times.tolist()}), flush=True)
        elif parts[0] == "stop":
            break
    stop.set()
    client.deactivate()
    client.close()
    return 0


def _rec(name: str) -> int:
    """``rec PORT_L PORT_R SECONDS OUT.npz``: record, then save samples and block start times."""
    client, clock = _client(name)
    ins = [client.inports.register(f"in_{i}") for i in range(2)]
    state = {"buf": None, "starts": None, "n": 0, "blocks": 0, "on": False}

    @client.set_process_callback
    def process(frames):
        if not state["on"]:
            return
        start, _period = clock.cycle()
        n, buf = state["n"], state["buf"]
        if n + frames > len(buf):
            state["on"] = False
            return
        a = ins[0].get_array()
        b = ins[1].get_array()
        buf[n : n + frames] = np.maximum(np.abs(a), np.abs(b))
        state["starts"][state["blocks"]] = start
        state["blocks"] += 1
        state["n"] = n + frames

    stop = threading.Event()
    threading.Thread(target=_remeasure, args=(clock, stop), daemon=True).start()
    client.activate()
    print("ready", flush=True)
    for line in sys.stdin:
        parts = json.loads(line)
        if parts[0] == "rec":
            left, right, seconds = parts[1], parts[2], float(parts[3])
            client.connect(left, ins[0])
            client.connect(right, ins[1])
            total = int(seconds * client.samplerate) + 4096
            state.update(
                buf=np.zeros(total, dtype=np.float32),
                starts=np.zeros(total // client.blocksize + 2),
                n=0,
                blocks=0,
                on=True,
            )
            print("recording", flush=True)
        elif parts[0] == "save":
            state["on"] = False
            time.sleep(0.05)
            np.savez(
                parts[1],
                audio=state["buf"][: state["n"]],
                starts=state["starts"][: state["blocks"]],
                rate=client.samplerate,
                block=client.blocksize,
            )
            print("saved", flush=True)
        elif parts[0] == "stop":
            break
    stop.set()
    client.deactivate()
    client.close()
    return 0


class Proc:
    """A measuring client in its own process, talked to over stdin/stdout lines."""

    def __init__(self, role: str, name: str, attempts: int = 3) -> None:
        for _attempt in range(attempts):  # a busy server can refuse a client (server_error): try again
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gdl_studio.live.bench_sync", role, name],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ},
            )
            line = self.proc.stdout.readline().strip()
            if line == "ready":
                return
            self.close()
            time.sleep(0.5)
        from gdl_studio.core.errors import UserError

        raise UserError(f"the JACK {role} client did not start")

    def ask(self, *cmd) -> str:
        self.proc.stdin.write(json.dumps(list(cmd)) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps(["stop"]) + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ===================================================================================== figures
def midi_timing(seconds: float, composer, primer) -> dict:
    """|frame time at an independent client − scheduled| for a note stream while the model generates."""
    from gdl_studio.core.bench import percentiles
    from gdl_studio.live.bench_load import Generator
    from gdl_studio.live.midi_process import open_output
    from gdl_studio.live.playback import Playback
    from gdl_studio.live.scheduler import MidiScheduler
    from gdl_studio.music.notes import Note

    rx = Proc("rx", RX)
    out = open_output(f"{RX}:in")
    sched = MidiScheduler(out, realtime=True).start()
    gen = Generator(composer, primer)
    gen.start()
    try:
        time.sleep(0.5)
        rx.ask("take")
        tempo, step = 120.0, 0.125
        n = int(seconds * tempo / 60.0 / step)
        # 0.37-beat spacing offsets: deadlines fall anywhere inside a period
        notes = [Note(i % 128, i * step * 1.03, step * 0.5, 1 + (i // 128) % 127) for i in range(n)]
        t0 = time.perf_counter() + 0.3
        pb = Playback(notes, tempo, t0=t0)
        scheduled: dict = {}
        for note in notes:
            scheduled.setdefault((0x90, note.pitch, note.velocity), []).append(pb.time_of(note.start))
            scheduled.setdefault((0x80, note.pitch, 0), []).append(pb.time_of(note.end))
        sched.add_source(pb, "bench")
        time.sleep(0.3 + seconds * 1.03 + 0.6)
        events = json.loads(rx.ask("take"))
    finally:
        gen.stop_flag.set()
        sched.close()
        out.close()
        gen.join(5)
        rx.close()
    # each received message against the nearest deadline of the same bytes (a note-off's bytes
    # repeat every 128 notes, 16 s apart: no ambiguity)
    errors = []
    for t, data in events:
        times = scheduled.get(tuple(data))
        if times:
            errors.append(min(abs(t - s) for s in times) * 1000.0)
    return {
        "timing_ms": percentiles(errors),
        "messages": {
            "sent": sum(map(len, scheduled.values())),
            "received": len(errors),
            "over_1ms": sum(1 for e in errors if e > 1.0),
        },
        "output": type(out).__name__,
    }


def _app_audio_ports(before: set[str]) -> list[str]:
    import jack

    client = jack.Client("gdl-bench-lister", no_start_server=True)
    try:
        ports = [p.name for p in client.get_ports(is_audio=True, is_output=True) if p.name not in before]
    finally:
        client.close()
    return sorted(ports)


def _audio_ports() -> set[str]:
    import jack

    client = jack.Client("gdl-bench-lister", no_start_server=True)
    try:
        return {p.name for p in client.get_ports(is_audio=True, is_output=True)}
    finally:
        client.close()


def audio_latency(notes: int = 24, spacing_s: float = 0.5, threshold: float = 0.003) -> dict:
    """Note-on deadline → first sample of the app's audio output above ``threshold``."""
    from gdl_studio.core.bench import percentiles
    from gdl_studio.live.scheduler import MidiScheduler
    from gdl_studio.live.synth import AudioPreview

    before = _audio_ports()
    audio = AudioPreview(instrument="gm")
    message = audio.open()
    if message:
        return {"latency_ms": percentiles([]), "error": message}
    rec = None
    sched = MidiScheduler(audio, realtime=True).start()
    tmp = tempfile.mkdtemp(prefix="gdl-bench-audio-")
    try:
        audio.loaded.wait(60)
        instrument = audio.instrument_name
        ports = _app_audio_ports(before)
        if len(ports) < 2:
            return {"latency_ms": percentiles([]), "error": f"app audio ports not found ({ports})"}
        rec = Proc("rec", REC)
        seconds = 0.6 + notes * spacing_s + 0.5
        rec.ask("rec", ports[0], ports[1], seconds)
        t0 = time.perf_counter() + 0.6
        deadlines = []
        for i in range(notes):
            t = t0 + i * spacing_s + (i * 0.00137) % 0.0053  # deadlines anywhere in a period
            sched.post(t - 0.2, (0xB0, 120, 0), "bench")  # silence the previous note (and let the reverb fade)
            sched.post(t, (0x90, 60 + (i * 5) % 24, 110), "bench")
            sched.post(t + 0.08, (0x80, 60 + (i * 5) % 24, 0), "bench")
            deadlines.append(t)
        time.sleep(t0 - time.perf_counter() + notes * spacing_s + 0.4)
        path = os.path.join(tmp, "rec.npz")
        rec.ask("save", path)
        with np.load(path) as npz:  # read it all now: the folder goes below
            data = {k: npz[k] for k in npz.files}
    finally:
        sched.close()
        audio.close()
        if rec is not None:
            rec.close()
        shutil.rmtree(tmp, ignore_errors=True)
    env, starts, rate, block = data["audio"], data["starts"], float(data["rate"]), int(data["block"])
    frame_times = (starts[:, None] + np.arange(block)[None, :] / rate).ravel()[: len(env)]
    lat = []
    for t in deadlines:
        i0 = int(np.searchsorted(frame_times, t - 0.005))
        i1 = int(np.searchsorted(frame_times, t + spacing_s - 0.25))
        floor = float(env[int(np.searchsorted(frame_times, t - 0.03)) : i0].max(initial=0.0))
        above = np.nonzero(env[i0:i1] > max(threshold, 4.0 * floor))[0]
        if above.size:
            lat.append((frame_times[i0 + above[0]] - t) * 1000.0)
    return {
        "latency_ms": percentiles(lat),
        "notes": {"played": notes, "detected": len(lat)},
        "instrument": instrument,
        "threshold": threshold,
    }


def clock_follow(seconds: float, jitter_ms: float = 0.0, bpm: float = 120.0, drop: float = 0.0) -> dict:
    """|predicted beat time − true beat time| when following an independent 24-ppqn clock
    (``drop``: the share of ticks the clock leaves out)."""
    from gdl_studio.core.bench import percentiles
    from gdl_studio.live.clock import ClockFollower, Transport
    from gdl_studio.live.midi_process import ProcessMidiInput

    tr = Transport(100.0)
    follower = ClockFollower(tr)
    # the app's clock input: our JACK client in a child process, stamps to the frame
    inp = ProcessMidiInput(follower.feed, virtual=True, client_name="gdl-bench-follow", port_name="clock_in")
    clk = Proc("clk", CLK)
    predictions: list[tuple[int, float]] = []
    stop = threading.Event()
    spb = 60.0 / bpm

    def predictor():  # a quarter beat before each beat: where will it fall?
        while not stop.is_set():
            now = time.perf_counter()
            if tr.ready and tr.estimator().count > 48:
                beat = tr.beat_at(now)
                nxt = int(np.floor(beat)) + 1
                t_pred = tr.time_of(nxt)
                wake = t_pred - spb * 0.25
                if wake > now:
                    stop.wait(wake - now)
                    t_pred = tr.time_of(nxt)
                    predictions.append((nxt, t_pred))
                    stop.wait(spb * 0.3)
                    continue
            stop.wait(0.01)

    thread = threading.Thread(target=predictor, name="gdl-bench-predict", daemon=True)
    thread.start()
    try:
        ticks = np.array(json.loads(clk.ask("run", inp.name, bpm, seconds, jitter_ms, drop))["ticks"])
    finally:
        stop.set()
        thread.join(2)
        clk.close()
        inp.close()
        follower.close()
    errors = [abs(t - ticks[b * 24]) * 1000.0 for b, t in predictions if b * 24 < len(ticks)]
    return {
        "follow_error_ms": percentiles(errors),
        "tempo_bpm": tr.tempo_bpm,
        "beats": len(errors),
        "jitter_ms": jitter_ms,
        "dropped_share": drop,
        "lost_ticks_counted": tr.estimator().lost,
    }


def render_speed() -> dict:
    from gdl_studio.core.paths import resources_dir
    from gdl_studio.live.render import render_midi_file

    with tempfile.TemporaryDirectory(prefix="gdl-bench-render-") as tmp:
        res = render_midi_file(resources_dir() / "examples" / "chorale.mid", os.path.join(tmp, "c.wav"))
    return {
        "realtime_factor": res.realtime_factor,
        "render_factor": res.render_factor,
        "seconds": res.seconds,
        "instrument": res.instrument,
    }


def run_sync_bench(args, composer, primer, say=lambda text: None, xruns: XrunCounter | None = None) -> dict:
    """The four figures of issue 14 (see the module docstring) on the running JACK server;
    ``xruns``: the server's xruns during the MIDI timing go beside its message counts."""
    from gdl_studio.live import jack_midi

    if not jack_midi.available():
        return {"sync_bench": "skipped: JACK-Client is not installed"}
    seconds = float(getattr(args, "sync_seconds", 8.0))
    results: dict = {}

    def measure(area: str, text: str, fn, *a, **kw) -> dict:
        say(text)
        try:
            return fn(*a, **kw)
        except Exception as exc:  # one failing figure (e.g. a refused JACK client) leaves the others
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            say(f"{area}: {message}")
            return {"error": message}

    if xruns is not None:
        xruns.take()
    results["midi"] = measure(
        "midi", "MIDI timing at an independent frame-stamping JACK client…", midi_timing, seconds, composer, primer
    )
    if xruns is not None and "messages" in results["midi"]:
        results["midi"]["messages"]["xruns"] = xruns.take()
    results["audio"] = measure(
        "audio",
        "audio latency: note-on → audio onset at an independent JACK recorder…",
        audio_latency,
        notes=max(8, int(seconds * 3)),
    )
    results["clock"] = measure("clock", "following an independent 120 BPM MIDI clock…", clock_follow, max(4.0, seconds))
    results["clock"]["jitter5"] = measure(
        "clock", "… with ±5 ms jitter per tick…", clock_follow, max(4.0, seconds), jitter_ms=5.0
    )
    results["clock"]["lost_tick"] = measure(
        "clock", "… with 2% of the ticks lost…", clock_follow, max(4.0, seconds), drop=0.02
    )
    results["render"] = measure("render", "bouncing the chorale…", render_speed)
    return results


def main(argv: list[str]) -> int:
    role, name = argv[0], argv[1]
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(60))
    except (OSError, AttributeError):
        pass
    return {"rx": _rx, "clk": _clk, "rec": _rec}[role](name)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
