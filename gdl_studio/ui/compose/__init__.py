"""The Compose panel's parts: the note document and its undo commands, the piano roll with
its edit modes, the attention view and the bridge to the live (MIDI/audio) session."""

from gdl_studio.ui.compose.pyside_fix import protect_none

protect_none()  # PySide6 6.12.0 + Python 3.11 would otherwise abort after enough painting
