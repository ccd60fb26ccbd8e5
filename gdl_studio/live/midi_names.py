"""The names our MIDI clients and ports go by, and the one error MIDI code raises.

Below both :mod:`gdl_studio.live.midi_ports` (rtmidi) and :mod:`gdl_studio.live.jack_midi`
(our own JACK client), so that they share these without importing each other.
"""

from __future__ import annotations

VIRTUAL_PORT_NAME = "GDL Studio"
CLIENT_OUT = "GDL Studio"
CLIENT_IN = "GDL Studio In"
OWN_PREFIX = "GDL Studio"


class MidiUnavailable(RuntimeError):
    """MIDI cannot be used (no backend, no server, port gone); the message is for a person."""
