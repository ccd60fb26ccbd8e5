"""The built-in audio preview: a small polyphonic synth in numpy behind a sounddevice stream.

:class:`PolySynth` has a fixed number of preallocated voices (additive tone with three
partials and a linear ADSR envelope per block). It is a scheduler *sink*: :meth:`PolySynth.send`
takes raw MIDI bytes and writes them into a preallocated ring buffer (producers take a lock
among themselves; the audio side never does). :meth:`PolySynth.render` — the body of the
audio callback — reads that ring, updates the voices and fills the output using only
preallocated numpy arrays and in-place operations: no array allocation, no lock, no I/O.

:class:`AudioPreview` opens the default output device through sounddevice (PortAudio); with
no device it reports a clear message and everything else keeps working.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from gdl_studio.live.event_ring import EventRing
from gdl_studio.live.timed import BlockClock, TimedQueue

if TYPE_CHECKING:
    from gdl_studio.live.instrument import FluidInstrument
    from gdl_studio.live.jack_midi import _CycleClock

IDLE, ATTACK, DECAY, SUSTAIN, RELEASE = 0.0, 1.0, 2.0, 3.0, 4.0
TWO_PI = 2.0 * math.pi
RING_SIZE = 2048


# what a person can do when the built-in synth cannot sound (the end of its messages)
AUDIO_ADVICE = "Choose a MIDI output to hear notes; everything else works."


class PolySynth:
    """A polyphonic synth of ``voices`` preallocated voices rendering ``blocksize`` frames."""

    def __init__(
        self,
        samplerate: float = 48000.0,
        blocksize: int = 256,
        voices: int = 24,
        channels: int = 2,
        gain: float = 0.22,
        attack_s: float = 0.006,
        decay_s: float = 0.35,
        sustain: float = 0.45,
        release_s: float = 0.18,
    ) -> None:
        self.samplerate = float(samplerate)
        self.blocksize = n = int(blocksize)
        self.voices = v = int(voices)
        self.channels = int(channels)
        self.gain = gain
        self.sustain = sustain
        self._attack_rate = 1.0 / max(attack_s * self.samplerate, 1.0)
        self._decay_rate = (1.0 - sustain) / max(decay_s * self.samplerate, 1.0)
        self._release_rate = 1.0 / max(release_s * self.samplerate, 1.0)
        # voice state; oscillator and envelope are (voices × 2) @ (2 × frames) matrix products,
        # which numpy computes into preallocated outputs without temporaries (broadcasting
        # ufuncs with ``out=`` would allocate)
        self._osc = np.zeros((v, 2))  # [phase increment, phase] per voice
        self._inc = self._osc[:, 0]
        self._phase = self._osc[:, 1]
        self._envm = np.zeros((v, 2))  # [level change · amp, level · amp] per voice
        self._envm_d = self._envm[:, 0]
        self._envm_l = self._envm[:, 1]
        self._level = np.zeros(v)
        self._target = np.zeros(v)
        self._rate = np.zeros(v)
        self._amp = np.zeros(v)
        self._stage = np.zeros(v)
        self._age = np.zeros(v)
        self._pitch = [-1] * v
        self._clock = 0
        self._d = np.zeros(v)
        self._maxd = np.zeros(v)
        self._negd = np.zeros(v)
        self._mask_a = np.zeros(v, dtype=bool)
        self._mask_b = np.zeros(v, dtype=bool)
        self._ones_v = np.ones(v)
        # block buffers
        self._osc_r = np.vstack([np.arange(n, dtype=np.float64), np.ones(n)])  # [ramp; 1]
        self._env_r = np.vstack([np.arange(1, n + 1, dtype=np.float64) / n, np.ones(n)])  # [frac; 1]
        self._ph = np.zeros((v, n))
        self._sig = np.zeros((v, n))
        self._tmp = np.zeros((v, n))
        self._env = np.zeros((v, n))
        self._mono = np.zeros(n)
        self._mono_c = self._mono[:, None]
        # event ring (raw MIDI bytes)
        self._ring = EventRing(RING_SIZE)
        self.blocks = 0
        self._any_active = False

    # ---------------------------------------------------------------- producer side
    def send(self, data) -> None:
        """Queue raw MIDI bytes (note on/off, CC 120/123); any thread."""
        b0 = int(data[0])
        b1 = int(data[1]) if len(data) > 1 else 0
        b2 = int(data[2]) if len(data) > 2 else 0
        self._ring.push(b0, b1, b2)  # dropped if the audio side stalled

    def note_on(self, pitch: int, velocity: int = 100, channel: int = 0) -> None:
        self.send((0x90 | channel, pitch, velocity))

    def note_off(self, pitch: int, channel: int = 0) -> None:
        self.send((0x80 | channel, pitch, 0))

    def all_notes_off(self) -> None:
        self.send((0xB0, 123, 0))

    @property
    def active_voices(self) -> int:
        return int(np.count_nonzero(self._stage))

    # ---------------------------------------------------------------- audio side
    def _start_voice(self, pitch: int, velocity: int) -> None:
        stage = self._stage
        voice = -1
        for k in range(self.voices):
            if stage[k] == IDLE:
                voice = k
                break
        if voice < 0:  # steal the oldest
            voice = int(np.argmin(self._age))
        freq = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
        if freq > self.samplerate * 0.45:
            return
        self._inc[voice] = TWO_PI * freq / self.samplerate
        if stage[voice] == IDLE:
            self._phase[voice] = 0.0
        self._target[voice] = 1.0
        self._rate[voice] = self._attack_rate
        self._stage[voice] = ATTACK
        self._amp[voice] = self.gain * (velocity / 127.0) ** 1.6 * min(1.0, 880.0 / max(freq, 110.0)) ** 0.3
        self._clock += 1
        self._age[voice] = self._clock
        self._pitch[voice] = pitch

    def _release(self, pitch: int) -> None:
        stage = self._stage
        for k in range(self.voices):
            if self._pitch[k] == pitch and stage[k] != IDLE and stage[k] != RELEASE:
                stage[k] = RELEASE
                self._target[k] = 0.0
                self._rate[k] = self._release_rate

    def _release_all(self, hard: bool) -> None:
        for k in range(self.voices):
            if self._stage[k] != IDLE:
                self._stage[k] = RELEASE
                self._target[k] = 0.0
                self._rate[k] = self._release_rate
                if hard:
                    self._level[k] = 0.0

    def _apply(self, b0: int, b1: int, b2: int) -> None:
        status = b0 & 0xF0
        if status == 0x90 and b2 > 0:
            self._start_voice(b1, b2)
        elif status == 0x80 or status == 0x90:
            self._release(b1)
        elif status == 0xB0 and (b1 == 123 or b1 == 120):
            self._release_all(hard=b1 == 120)

    def _timed_write(self, off: int, msg) -> None:
        size = len(msg)
        self._apply(msg[0], msg[1] if size > 1 else 0, msg[2] if size > 2 else 0)
        self._any_active = True

    def render_timed(self, out: np.ndarray, queue, start: float, period: float) -> None:
        """:meth:`render` with the events of ``queue`` (a :class:`~gdl_studio.live.timed.TimedQueue`)
        due in this block; this synth starts them at the block start (its envelopes move per block)."""
        if out.shape[0] == self.blocksize:
            queue._run_cycle(start, period, self.blocksize, self._timed_write)
        self.render(out)

    def render(self, out: np.ndarray) -> None:
        """Fill ``out`` (frames × channels, float32) with the next block; the audio callback."""
        if out.shape[0] != self.blocksize:
            out.fill(0.0)
            return
        if not self._any_active and not self._ring.pending:
            out.fill(0.0)  # silent and nothing to start: skip the work
            self.blocks += 1
            return
        self._ring.drain(self._apply)
        n = self.blocksize
        # envelope: move each level towards its target by at most rate·n, linearly over the block
        np.subtract(self._target, self._level, out=self._d)
        np.multiply(self._rate, n, out=self._maxd)
        np.negative(self._maxd, out=self._negd)
        np.minimum(self._d, self._maxd, out=self._d)
        np.maximum(self._d, self._negd, out=self._d)
        np.multiply(self._d, self._amp, out=self._envm_d)
        np.multiply(self._level, self._amp, out=self._envm_l)
        np.matmul(self._envm, self._env_r, out=self._env)  # amp · (level + d · k/n)
        np.add(self._level, self._d, out=self._level)
        # three partials
        np.matmul(self._osc, self._osc_r, out=self._ph)  # phase + inc · k
        np.sin(self._ph, out=self._sig)
        np.multiply(self._ph, 2.0, out=self._tmp)
        np.sin(self._tmp, out=self._tmp)
        np.multiply(self._tmp, 0.32, out=self._tmp)
        np.add(self._sig, self._tmp, out=self._sig)
        np.multiply(self._ph, 3.0, out=self._tmp)
        np.sin(self._tmp, out=self._tmp)
        np.multiply(self._tmp, 0.12, out=self._tmp)
        np.add(self._sig, self._tmp, out=self._sig)
        np.multiply(self._sig, self._env, out=self._sig)
        np.matmul(self._ones_v, self._sig, out=self._mono)  # mix the voices
        np.tanh(self._mono, out=self._mono)
        np.copyto(out, self._mono_c, casting="unsafe")
        # advance phases
        np.multiply(self._inc, n, out=self._d)
        np.add(self._phase, self._d, out=self._phase)
        np.remainder(self._phase, TWO_PI, out=self._phase)
        # stage changes: attack → decay at the top, release → idle at zero
        np.equal(self._stage, ATTACK, out=self._mask_a)
        np.greater_equal(self._level, 0.999, out=self._mask_b)
        np.logical_and(self._mask_a, self._mask_b, out=self._mask_a)
        np.copyto(self._stage, DECAY, where=self._mask_a)
        np.copyto(self._target, self.sustain, where=self._mask_a)
        np.copyto(self._rate, self._decay_rate, where=self._mask_a)
        np.equal(self._stage, RELEASE, out=self._mask_a)
        np.less_equal(self._level, 1e-4, out=self._mask_b)
        np.logical_and(self._mask_a, self._mask_b, out=self._mask_a)
        np.copyto(self._stage, IDLE, where=self._mask_a)
        np.copyto(self._level, 0.0, where=self._mask_a)
        self._any_active = bool(self._stage.any())
        self.blocks += 1

    def callback(self, outdata, frames, time_info, status) -> None:
        """sounddevice callback."""
        self.render(outdata)


def _default_output(sd):
    """The default output device; re-scans once (PortAudio lists devices only when it starts,
    so an audio server started after the app would otherwise stay invisible)."""
    try:
        if getattr(sd, "_initialized", 1) == 0:
            sd._initialize()
        return sd.query_devices(kind="output")
    except Exception:
        release_portaudio(sd)
        sd._initialize()
        return sd.query_devices(kind="output")


def stop_and_close(stream, wait_s: float = 5.0) -> bool:
    """Stop a PortAudio stream, wait until its audio thread has acknowledged, then close it;
    False (the stream left open) when the thread did not answer within ``wait_s``.

    PortAudio 19.6's JACK host API waits one second for its process thread to take a closing
    stream out of its queue, then frees the stream anyway: on a loaded machine that thread can
    still run the freed stream (a segfault in Pa_CloseStream, seen in the live panel tests about
    once in 70 loaded runs). Its stop waits one second too; a stop that timed out used to skip
    the close, and PortAudio's shutdown then closed the stream with the thread still behind.
    Here a stop the thread has acknowledged (the stream no longer active) shows the thread
    running just before the close, and a stream it never acknowledged is left open rather than
    freed under it. A thread starved for over a second inside the close's own wait can still
    crash it: only PortAudio can close that window.
    """
    try:
        stream.stop()  # may time out (PortAudioError) when the audio thread is starved
    except Exception:
        pass
    deadline = time.perf_counter() + wait_s
    try:
        while stream.active and time.perf_counter() < deadline:
            time.sleep(0.005)
        if stream.active:
            return False
        stream.close()
    except Exception:
        pass
    return True


def release_portaudio(sd=None) -> None:
    """Shut PortAudio down while no stream is open (``import sounddevice`` starts it).

    A PortAudio left running holds a client of the audio server (e.g. JACK); if that server
    stops before the app exits, PortAudio's own exit handler aborts the process. Keeping
    PortAudio up only while the synth plays avoids that.
    """
    if sd is None:
        import sys

        sd = sys.modules.get("sounddevice")
        if sd is None:
            return
    try:
        while getattr(sd, "_initialized", 0) > 0:
            sd._terminate()
    except Exception:
        pass


class AudioPreview:
    """The instrument on the default audio output. :meth:`open` returns an error message or ''.

    ``instrument`` is ``"gm"`` (FluidSynth with a General MIDI SoundFont, see
    :mod:`gdl_studio.live.instrument`) or ``"additive"`` (:class:`PolySynth`). The stream starts
    at once with the additive synth; the SoundFont loads on a thread of its own (a big one takes
    seconds) and the callback switches to it at a block boundary. If FluidSynth or the SoundFont
    is missing, the additive synth keeps playing and :attr:`instrument_message` says why (one
    line, also passed to ``on_message``).

    It is a *timed* scheduler sink (see :mod:`gdl_studio.live.scheduler`): the scheduler hands it
    events ahead of their ``perf_counter`` deadlines (:meth:`post`); they wait in a
    :class:`~gdl_studio.live.timed.TimedQueue` that the audio callback reads, and the instrument
    starts each note at its frame offset inside the block (a :class:`~gdl_studio.live.timed.BlockClock`
    gives the block's start time), not at the next block boundary after the scheduler woke up.
    """

    timed = True

    def __init__(
        self,
        blocksize: int = 256,
        voices: int = 24,
        instrument: str = "gm",
        soundfont: str | None = None,
        programs: list[int] | None = None,
        on_message=None,
    ) -> None:
        self.blocksize = blocksize
        self.voices = voices
        self.instrument = instrument
        self.soundfont = soundfont
        self.programs = list(programs) if programs is not None else None
        self.on_message = on_message or (lambda text: None)
        self.synth: PolySynth | FluidInstrument | None = (
            None  # the renderer the callback plays: PolySynth or FluidInstrument
        )
        self.additive: PolySynth | None = None
        self.stream = None
        self.message = ""
        self.instrument_message = ""
        self.device_name = ""
        self.samplerate = 48000.0
        self._loader: threading.Thread | None = None
        self._load_token = 0
        self._retired: list = []
        self._swap_lock = threading.Lock()  # the loader's swap vs close
        self.loaded = threading.Event()
        self.queue = TimedQueue()
        self.clock = BlockClock(self.samplerate)
        self._jack_clock: _CycleClock | None = None  # when PortAudio plays through JACK
        self._jack_client = None
        self._clock_stop = threading.Event()

    @property
    def ok(self) -> bool:
        return self.stream is not None

    @property
    def instrument_name(self) -> str:
        """What plays now, for a status line."""
        synth = self.synth
        info = getattr(synth, "info", None)
        if info is not None:
            return info.describe()
        return "built-in additive synth" if synth is not None else "no audio"

    def probe(self) -> str:
        """Check for an output device without opening it: '' or a message for a person."""
        try:
            import sounddevice as sd

            try:
                info = _default_output(sd)
            finally:
                if self.stream is None:
                    release_portaudio(sd)
            self.device_name = str(info.get("name", ""))
            return ""
        except (ImportError, OSError) as exc:
            return f"No audio: PortAudio is not available ({exc}). {AUDIO_ADVICE}"
        except Exception as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return f"No audio output device ({text}): the built-in synth is silent. {AUDIO_ADVICE}"

    def callback(self, outdata, frames, time_info, status) -> None:
        """sounddevice callback: render the current instrument with the events due in this block."""
        now = time.perf_counter()
        start, period = self.clock.tick(now, frames)
        jack_clock = self._jack_clock
        if jack_clock is not None:  # on JACK: the period's own start, as every JACK client sees it
            j_start, j_period = jack_clock.cycle()
            if abs(j_period * self.samplerate - frames) < 2.0:
                start, period = j_start, j_period
        synth = self.synth
        if synth is None:
            outdata.fill(0.0)
        else:
            synth.render_timed(outdata, self.queue, start, period)

    def open(self) -> str:
        """Start the stream (idempotent). Returns '' on success, else a message for a person."""
        if self.stream is not None:
            return ""
        try:
            import sounddevice as sd
        except (ImportError, OSError) as exc:
            self.message = f"No audio: PortAudio is not available ({exc}). {AUDIO_ADVICE}"
            return self.message
        try:
            info = _default_output(sd)
            rate = float(info["default_samplerate"])
            self.queue = TimedQueue()  # nothing stale from before the stream ran
            self.clock = BlockClock(rate)
            self.additive = PolySynth(samplerate=rate, blocksize=self.blocksize, voices=self.voices)
            self.synth = self.additive
            stream = sd.OutputStream(
                samplerate=rate,
                blocksize=self.blocksize,
                channels=2,
                dtype="float32",
                callback=self.callback,
                latency="low",
            )
            stream.start()
        except Exception as exc:  # sd.PortAudioError, ValueError (no default device), …
            release_portaudio(sd)
            self.synth = None
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.message = f"No audio output device ({text}): the built-in synth is silent. {AUDIO_ADVICE}"
            return self.message
        self.stream = stream
        self.samplerate = rate
        self.device_name = str(info.get("name", ""))
        self.message = ""
        self._open_jack_clock(sd, info)
        self._start_loading()
        return ""

    def _open_jack_clock(self, sd, info) -> None:
        """When PortAudio plays through JACK, read the period start from JACK itself (an idle,
        port-less client's view of the server's frame clock; ``jack_get_cycle_times`` reads
        shared memory: no lock, no I/O) instead of estimating it from the callback's wake-ups."""
        try:
            hostapi = sd.query_hostapis(int(info["hostapi"]))["name"]
        except Exception:
            return
        if "JACK" not in str(hostapi):
            return
        try:
            import jack

            from gdl_studio.live.jack_midi import _CycleClock

            client = jack.Client("GDL Studio audio clock", no_start_server=True)
            clock = _CycleClock(client)
        except Exception:  # no JACK-Client/libjack: the block clock estimates the periods
            return
        self._jack_client = client
        self._clock_stop = stop = threading.Event()

        def keep() -> None:  # perf_counter − JACK time, re-measured as JackMidiOutput does
            while not stop.wait(0.5):
                clock.measure()

        threading.Thread(target=keep, name="gdl-audio-jack-clock", daemon=True).start()
        self._jack_clock = clock

    def _close_jack_clock(self) -> None:
        self._jack_clock = None
        self._clock_stop.set()
        client, self._jack_client = self._jack_client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                pass

    # ---------------------------------------------------------------- instrument
    def _start_loading(self) -> None:
        self._load_token += 1
        self.loaded.clear()
        if self.instrument != "gm":
            self._swap(self.additive)
            self.instrument_message = ""
            self.loaded.set()
            return
        token = self._load_token
        self._loader = threading.Thread(target=self._load, args=(token,), name="gdl-soundfont-loader", daemon=True)
        self._loader.start()

    def _load(self, token: int) -> None:
        from gdl_studio.live.instrument import load_instrument

        inst, message = load_instrument(
            self.soundfont, samplerate=self.samplerate, blocksize=self.blocksize, programs=self.programs
        )
        with self._swap_lock:
            if token != self._load_token or self.stream is None:
                if inst is not None:
                    inst.close()
                return
            if inst is None:
                self._swap(self.additive)
            else:
                self._swap(inst)
                if inst.info.warnings:
                    message = inst.info.warnings[0]
        self.instrument_message = message
        self.loaded.set()
        if message:
            try:
                self.on_message(message)
            except Exception:
                pass

    def _swap(self, new) -> None:
        """Make ``new`` the renderer; the old one gets all-sound-off and is freed once the
        callback has moved on (two blocks later)."""
        old = self.synth
        if old is new:
            return
        self.synth = new
        if old is None:
            return
        old.send((0xB0, 120, 0))
        if old is not self.additive and hasattr(old, "close"):
            blocks = getattr(new, "blocks", 0)
            deadline = time.perf_counter() + 1.0
            while getattr(new, "blocks", 0) < blocks + 2 and time.perf_counter() < deadline and self.stream is not None:
                time.sleep(0.005)
            if getattr(new, "blocks", 0) >= blocks + 2:
                old.close()  # the callback has moved on
            else:
                self._retired.append(old)  # freed once the stream has stopped

    def configure(
        self, instrument: str | None = None, soundfont: str | None = None, programs: list[int] | None = None
    ) -> None:
        """Change the instrument, the SoundFont or the programs (per MIDI channel) while playing."""
        reload = False
        if instrument is not None and instrument != self.instrument:
            self.instrument, reload = instrument, True
        if soundfont is not None and soundfont != (self.soundfont or ""):
            self.soundfont, reload = soundfont or None, True
        if programs is not None:
            self.programs = list(programs)
            synth = self.synth
            if not reload and synth is not None and hasattr(synth, "set_programs"):
                warnings = synth.set_programs(self.programs)
                self.instrument_message = warnings[0] if warnings else ""
                if warnings:
                    self.on_message(warnings[0])
        if reload and self.stream is not None:
            self._start_loading()

    # ---------------------------------------------------------------- the scheduler's timed sink
    def send(self, data) -> None:
        """Play ``data`` now (at the start of the next block)."""
        self.queue.send(data)

    def post(self, t: float, data, tag: str = "") -> None:
        self.queue.post(t, data, tag)

    def post_many(self, events) -> None:
        self.queue.post_many(events)

    def cancel(self, tag: str) -> None:
        self.queue.cancel(tag)

    def all_notes_off(self) -> None:
        self.queue.all_notes_off()

    def panic(self) -> None:
        self.queue.panic()

    def close(self) -> None:
        with self._swap_lock:
            self._load_token += 1
            stream, self.stream = self.stream, None
        if stream is not None and stop_and_close(stream):
            release_portaudio()
        self._close_jack_clock()
        synth = self.synth  # kept (silent once closed) for anyone still holding the preview
        if synth is not None and synth is not self.additive and hasattr(synth, "close"):
            synth.close()
        retired, self._retired = self._retired, []
        for old in retired:
            old.close()
