"""The Compose panel's parts: the note document and its undo commands, the piano roll with
its edit modes, the attention view and the bridge to the live (MIDI/audio) session."""
