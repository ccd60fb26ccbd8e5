"""Music domain: notes in musical time, MIDI I/O, tokenisation, the music models."""
