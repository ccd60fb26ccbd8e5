"""The built-in instrument's audio as a JACK client of its own (used when the default output is
JACK), instead of a PortAudio stream on PortAudio's JACK host API.

Why not PortAudio there: its JACK backend waits at most one second (one ``pthread_cond_timedwait``,
no loop) for the process thread to take a closing stream out of its queue, then frees the stream
anyway. On a loaded machine whose JACK server misses that second, the process thread goes on
reading freed memory: the test suite saw ``free(): invalid pointer`` and a segmentation fault in
``Pa_CloseStream`` (about one run in 12–40 of the live panel tests). ``jack_deactivate`` here
returns only once the server has taken the client out of its graph, so nothing of ours runs
after :meth:`JackAudioStream.stop`.

A JACK client also knows its period exactly (``jack_get_cycle_times``), so the timed queue starts
each note at its frame offset without estimating block starts; and the instrument renders at the
server's own period (no re-blocking, no added latency).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gdl_studio.live.jack_midi import _CycleClock, _jack, _libjack
from gdl_studio.live.midi_names import MidiUnavailable

CLIENT_AUDIO = "GDL Studio synth"


class JackAudioStream:
    """Two JACK audio output ports (``out_1``, ``out_2``) connected to the first two physical
    playback ports, fed by ``callback(outdata, frames, time_info, status)`` (the sounddevice
    signature; ``outdata`` frames × 2 float32, preallocated) in the process thread.

    Raises :class:`MidiUnavailable` (with a message for a person) if JACK cannot be used."""

    def __init__(self, callback: Callable, client_name: str = CLIENT_AUDIO, max_frames: int = 8192) -> None:
        jack = _jack()
        _libjack()
        self._callback = callback
        try:
            self.client = jack.Client(client_name, no_start_server=True)
        except jack.JackError as exc:
            raise MidiUnavailable(f"cannot start a JACK client ({exc}); is the JACK server running?") from None
        self.samplerate = float(self.client.samplerate)
        self.blocksize = int(self.client.blocksize)
        self.ports = [self.client.outports.register(f"out_{i + 1}") for i in range(2)]
        self.clock = _CycleClock(self.client)
        self._buf = np.zeros((max(max_frames, self.blocksize), 2), np.float32)
        self.active = False
        self.client.set_process_callback(self._process)
        try:
            self.client.activate()
            self.active = True
            targets = self.client.get_ports(is_audio=True, is_input=True, is_physical=True)[:2]
            for port, target in zip(self.ports, targets):
                self.client.connect(port, target)
        except jack.JackError as exc:
            self.close()
            raise MidiUnavailable(f"cannot start JACK audio ({exc})") from None
        self.name = f"JACK ({self.client.name})"

    def _process(self, frames: int) -> None:
        out = self._buf[:frames]
        self._callback(out, frames, None, None)
        left, right = self.ports[0].get_array(), self.ports[1].get_array()
        left[:] = out[:, 0]
        right[:] = out[:, 1]

    def stop(self) -> None:
        """Take the client out of the server's graph (returns when the process thread is done)."""
        if self.active:
            self.active = False
            self.client.deactivate()

    def close(self) -> None:
        self.stop()
        self.client.close()
