"""One musician's live setup: the scheduler, the chosen output (a MIDI port, the virtual
"GDL Studio" port or the built-in synth), the chosen input, and live port watching.

:class:`LiveSession` has no Qt in it; the Compose panel polls :meth:`LiveSession.poll_ports`
about once a second. When the chosen output port disappears the session says so, ends all
notes and falls back to the built-in synth; a vanished input is closed with a message.

It also owns the tempo-sync :class:`~gdl_studio.live.clock.Transport` (:meth:`LiveSession.set_sync`):
following an external MIDI clock or sending one; playback, recording and jam mode take
``transport=session.transport`` to land on its grid.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gdl_studio.live import clock as clk
from gdl_studio.live import midi_ports as mp
from gdl_studio.live.midi_process import open_clock_input, open_output
from gdl_studio.live.scheduler import MidiScheduler
from gdl_studio.live.synth import AUDIO_ADVICE, AudioPreview

if TYPE_CHECKING:
    from gdl_studio.live.link import LinkSync

SYNTH = ""  # output choice: the built-in synth
NO_INPUT = ""  # input choice: none
VIRTUAL = "\x00virtual"  # output/input choice: our own virtual port


class LiveSession:
    """Scheduler + output + input + port watching.

    ``on_message(text)`` receives messages for the status bar (from any thread);
    ``on_input(msg, t)`` receives every incoming channel message (on rtmidi's thread).
    """

    def __init__(
        self,
        on_message: Callable[[str], None] | None = None,
        on_input: Callable[[object, float], None] | None = None,
        audio: AudioPreview | None = None,
        realtime: bool = True,
    ) -> None:
        self.on_message = on_message or (lambda text: None)
        self.on_input = on_input or (lambda msg, t: None)
        self.audio = audio or AudioPreview(on_message=lambda text: self.on_message(text))
        self.scheduler = MidiScheduler(None, on_error=self._sink_error, realtime=realtime).start()
        self.lister = mp.PortLister()
        self.output_choice = SYNTH
        self.input_choice = NO_INPUT
        self._output = None  # MidiOutput or ProcessMidiOutput
        self._input: mp.MidiInput | None = None
        self._lock = threading.RLock()
        self.outputs: list[str] = []
        self.inputs: list[str] = []
        self.audio_message = ""
        self._audio_tried = False
        self._closed = False
        # tempo sync: the beat grid playback, recording and jam land on (see set_sync)
        self.transport = clk.Transport()
        self.sync_mode = "internal"
        self.clock_follower: clk.ClockFollower | None = None
        self.clock_master: clk.ClockMaster | None = None
        self._clock_input = None
        self._clock_out: Any = None  # the master clock's own output (set_sync's clock_out), if any
        self._clock_scheduler: MidiScheduler | None = None
        self.clock_out_name = ""  # where the master clock goes ("" = with the notes)
        self.link: LinkSync | None = None  # LinkSync in "link" mode
        self.on_link_start: Callable[[float], None] = lambda t: None  # a Link peer started playing
        self.on_link_stop: Callable[[], None] = lambda: None

    # ---------------------------------------------------------------- listing
    def midi_status(self) -> str:
        """'' when MIDI works, else why not."""
        return self.lister.error

    def status_parts(self) -> list[str]:
        """The parts of a one-line status of where notes go and come from (output, MIDI, input).

        When neither the built-in synth nor MIDI can sound, the two messages become one: each
        alone advises the other way out ("choose a MIDI output", "the built-in synth still plays"),
        and together that advice would be false."""
        midi = self.midi_status()
        synth = self.output_choice == SYNTH
        if synth and self.audio_message and midi:
            audio = self.audio_message.removesuffix(AUDIO_ADVICE).strip()
            no_midi = midi.removesuffix(mp.MIDI_ADVICE).strip()
            parts = [f"{audio} {no_midi} Notes cannot be heard here; everything else works."]
        elif synth and self.audio_message:
            parts = [self.audio_message]
        else:
            device = f" ({self.audio.device_name})" if synth and self.audio.ok and self.audio.device_name else ""
            parts = ["Output: built-in synth" + device if synth else f"Output: MIDI {self.output_name}"]
            if midi:
                parts.append(f"MIDI: {midi}")
        if not midi and self.input_choice != NO_INPUT:
            parts.append("Input: " + ("virtual port" if self.input_choice == VIRTUAL else self.input_choice))
        if not mp.supports_virtual_ports():
            parts.append("Virtual MIDI ports are not available on Windows (use loopMIDI)")
        return parts

    def refresh(self) -> bool:
        """Re-list ports; True if the lists changed."""
        outs, ins = self.lister.outputs(), self.lister.inputs()
        changed = outs != self.outputs or ins != self.inputs
        self.outputs, self.inputs = outs, ins
        return changed

    def output_choices(self) -> list[tuple[str, str]]:
        """``(choice, label)`` pairs for an output menu."""
        choices = [(SYNTH, "Built-in synth")]
        if mp.supports_virtual_ports() and not self.lister.error:
            choices.append((VIRTUAL, f'Virtual port "{mp.VIRTUAL_PORT_NAME}"'))
        choices += [(name, name) for name in self.outputs]
        return choices

    def input_choices(self) -> list[tuple[str, str]]:
        choices = [(NO_INPUT, "No MIDI input")]
        if mp.supports_virtual_ports() and not self.lister.error:
            choices.append((VIRTUAL, f'Virtual port "{mp.VIRTUAL_PORT_NAME}"'))
        choices += [(name, name) for name in self.inputs]
        return choices

    # ---------------------------------------------------------------- output
    def _sink_error(self, message: str, source=None) -> None:
        """The output failed (scheduler or MIDI process thread): fall back to the synth."""
        with self._lock:
            out = self._output
            if out is None or (source is not None and source is not out):
                return  # already handled, or an output we no longer use
            self._output = None
            self.output_choice = SYNTH
        self._use_synth()
        try:
            out.close()
        except Exception:
            pass
        self.on_message(f"MIDI output failed ({message}); playing on the built-in synth.")

    def ensure_output(self) -> str:
        """Open the built-in synth on first use (the default output); returns '' or why it is
        silent."""
        with self._lock:
            if self.output_choice == SYNTH and self.scheduler.sink is None and not self._audio_tried:
                return self._use_synth()
            return self.audio_message if self.output_choice == SYNTH else ""

    def _use_synth(self) -> str:
        self._audio_tried = True
        self.audio_message = self.audio.open()
        self.scheduler.set_sink(self.audio if self.audio.ok else None)
        return self.audio_message

    def set_output(self, choice: str) -> str:
        """Choose the output; returns '' or a message (then the synth plays instead)."""
        with self._lock:
            self.scheduler.all_notes_off()  # all notes off on port change
            old, self._output = self._output, None
            self.scheduler.set_sink(None)
            if old is not None:
                old.close()
            if choice == SYNTH:
                self.output_choice = SYNTH
                return self._use_synth()
            try:
                box: list = []
                out = open_output(
                    None if choice == VIRTUAL else choice,
                    virtual=choice == VIRTUAL,
                    on_error=lambda message: self._sink_error(message, box[0] if box else None),
                )
                box.append(out)
            except mp.MidiUnavailable as exc:
                self.output_choice = SYNTH
                self._use_synth()
                return f"{exc}; playing on the built-in synth."
            self._output = out
            self.output_choice = choice
            self.scheduler.set_sink(out)
            return ""

    @property
    def output_name(self) -> str:
        if self.output_choice == SYNTH:
            return "built-in synth" if self.audio.ok else "no output"
        return self._output.name if self._output is not None else "no output"

    # ---------------------------------------------------------------- input
    def set_input(self, choice: str) -> str:
        """Choose the MIDI input; returns '' or a message."""
        with self._lock:
            old, self._input = self._input, None
            if old is not None:
                old.close()
            self.input_choice = NO_INPUT
            if choice == NO_INPUT:
                return ""
            try:
                self._input = (
                    mp.MidiInput(self._on_input, virtual=True)
                    if choice == VIRTUAL
                    else mp.MidiInput(self._on_input, choice)
                )
            except mp.MidiUnavailable as exc:
                return str(exc)
            self.input_choice = choice
            return ""

    def _on_input(self, msg, t: float) -> None:
        self.on_input(msg, t)

    # ---------------------------------------------------------------- watching
    def poll_ports(self) -> bool:
        """Re-list ports and handle vanished ones; True if anything changed."""
        changed = self.refresh()
        with self._lock:
            out_gone = self.output_choice not in (SYNTH, VIRTUAL) and self.output_choice not in self.outputs
            in_gone = self.input_choice not in (NO_INPUT, VIRTUAL) and self.input_choice not in self.inputs
            gone_out, gone_in = self.output_choice, self.input_choice
        if out_gone:
            self.set_output(SYNTH)
            self.on_message(f"MIDI output '{gone_out}' disappeared: all notes off, playing on the built-in synth.")
            changed = True
        if in_gone:
            self.set_input(NO_INPUT)
            self.on_message(f"MIDI input '{gone_in}' disappeared.")
            changed = True
        return changed

    # ---------------------------------------------------------------- tempo sync
    def set_sync(self, mode: str, clock_in: str = "", clock_out: str = "") -> str:
        """``"internal"``, ``"follow"`` (an external MIDI clock from ``clock_in``; ``VIRTUAL`` = our
        virtual input, ``""`` = fed by :meth:`clk.ClockFollower.feed` directly) or ``"master"``
        (see :meth:`start_clock`: the clock goes out with the notes when ``clock_out`` is ``""``,
        on a JACK port of its own, ``GDL Studio Clock:clock``, when it is
        :data:`~gdl_studio.live.clock.OWN_CLOCK_PORT`, else to the MIDI output port ``clock_out``).
        Returns '' or a message; on failure the grid stays internal (a clock output that cannot be
        opened: the clock goes with the notes, and the message says so)."""
        self._close_sync()
        if mode == "follow":
            self.transport.set_mode(clk.EXTERNAL)
            self.clock_follower = clk.ClockFollower(self.transport)
            if clock_in:
                try:
                    self._clock_input = open_clock_input(
                        self.clock_follower.feed, None if clock_in == VIRTUAL else clock_in, virtual=clock_in == VIRTUAL
                    )
                except mp.MidiUnavailable as exc:
                    self._close_sync()
                    return f"cannot follow the MIDI clock: {exc}"
            self.sync_mode = "follow"
        elif mode == "link":
            from gdl_studio.live import link

            try:
                self.link = link.LinkSync(
                    self.transport,
                    on_start=lambda t: self.on_link_start(t),
                    on_stop=lambda: self.on_link_stop(),
                )
            except link.LinkUnavailable as exc:
                self._close_sync()
                return str(exc)
            self.sync_mode = "link"
        elif mode == "master":
            message = self._open_clock_out(clock_out) if clock_out else ""
            self.clock_master = clk.ClockMaster(self._clock_scheduler or self.scheduler, self.transport)
            self.sync_mode = "master"
            return message
        return ""

    def _open_clock_out(self, clock_out: str) -> str:
        """Open the master clock's own output and its scheduler; '' or why the clock goes with the notes."""
        try:
            if clock_out == clk.OWN_CLOCK_PORT:
                out = open_output(virtual=True, client_name=clk.CLOCK_PORT_CLIENT, port_name=clk.CLOCK_PORT_NAME)
            else:
                out = open_output(clock_out)
        except mp.MidiUnavailable as exc:
            return f"clock output: {exc}; the clock goes out with the notes."
        self._clock_out = out
        self.clock_out_name = out.name
        self._clock_scheduler = MidiScheduler(out, realtime=True).start()
        return ""

    def start_clock(self, beat: float = 0.0, tempo_bpm: float | None = None) -> float | None:
        """Master mode: Start (or Song Position + Continue) and ticks from ``beat``; returns when
        ``beat`` sounds (perf_counter), or None when not master."""
        if self.clock_master is None:
            return None
        if tempo_bpm:
            self.transport.set_tempo(tempo_bpm)
        return self.clock_master.start(beat)

    def stop_clock(self) -> None:
        if self.clock_master is not None:
            self.clock_master.stop()

    def sync_status(self) -> str:
        from gdl_studio.live.controls_model import SyncModel

        return SyncModel.status(self.transport, self.sync_mode)

    def _close_sync(self) -> None:
        if self.clock_master is not None:
            self.clock_master.stop()
            self.clock_master = None
        if self.link is not None:
            self.link.close()
            self.link = None
            self.transport.stop()  # the Link grid ran: stop it (its notes end)
        if self._clock_scheduler is not None:
            self._clock_scheduler.close()
            self._clock_scheduler = None
        if self._clock_out is not None:
            self._clock_out.close()
            self._clock_out = None
        self.clock_out_name = ""
        if self._clock_input is not None:
            self._clock_input.close()
            self._clock_input = None
        if self.clock_follower is not None:
            self.clock_follower.close()
            self.clock_follower = None
        self.transport.set_mode(clk.INTERNAL)
        self.sync_mode = "internal"

    # ---------------------------------------------------------------- shutdown
    def panic(self) -> None:
        self.scheduler.panic()
        if self.audio.synth is not None:
            for ch in range(16):
                self.audio.synth.send((0xB0 | ch, 120, 0))

    def configure_instrument(
        self, instrument: str | None = None, soundfont: str | None = None, programs: list[int] | None = None
    ) -> None:
        """Built-in output: ``"gm"`` (FluidSynth) or ``"additive"``, the SoundFont path and the GM
        program of each MIDI channel (see :mod:`gdl_studio.live.instrument`); applies while playing."""
        self.audio.configure(instrument, soundfont, programs)

    def close(self) -> None:
        """All notes off; close ports, audio and the scheduler thread."""
        if self._closed:
            return
        self._closed = True
        self._close_sync()
        self.scheduler.all_notes_off()
        time.sleep(0.002)
        self.scheduler.close()
        with self._lock:
            for port in (self._output, self._input):
                if port is not None:
                    port.close()
            self._output = self._input = None
        self.lister.close()
        self.audio.close()
