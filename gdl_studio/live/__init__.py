"""Real-time music I/O without Qt: MIDI ports, a deadline scheduler, playback, recording,
jam mode (call and response) and a small polyphonic synth.

Everything here is plain Python + numpy + python-rtmidi/mido + sounddevice, so the same code
runs in the app, in ``gdl-studio bench live`` and in the tests. Times are ``perf_counter``
seconds where sound is made and beats everywhere else.
"""
