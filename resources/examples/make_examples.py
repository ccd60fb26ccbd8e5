"""Write the example MIDI files shipped in resources/examples/ from music21's bundled corpus.

    .venv/bin/python resources/examples/make_examples.py

* ``chorale.mid`` — a four-part Bach chorale from the music corpus' *test* split (so the
  models have not been trained on it), one track per voice, 84 BPM.
* ``melody.mid`` — the soprano line of the same chorale alone (a short monophonic primer).

Needs music21 (a data/test dependency); the app itself only reads the .mid files.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

TEMPO_BPM = 84.0
PREFERRED = "bach/bwv3.6"  # used when the split lists do not say otherwise


def pick_chorale() -> str:
    """A four-part, 4/4 test-split Bach chorale id (``bach/<stem>``), deterministic."""
    from gdl_studio.music.corpus import corpus_files, hash_split, read_splits

    recorded = read_splits()
    ids = [piece_id for piece_id, _path in corpus_files(["bach"])]

    def split(piece_id: str) -> str:
        return recorded.get(piece_id) or hash_split(piece_id)

    candidates = [PREFERRED] if PREFERRED in ids else []
    candidates += [i for i in ids if i != PREFERRED]
    for piece_id in candidates:
        if split(piece_id) != "test":
            continue
        notes, bpb, _title = chorale_notes(piece_id)
        if bpb == 4 and len({n.track for n in notes}) == 4 and 150 <= len(notes) <= 400:
            return piece_id
    raise SystemExit("no test-split Bach chorale found")


def chorale_notes(piece_id: str):
    """(notes, beats_per_bar, title) of a corpus chorale; one track per part, ties merged."""
    from music21 import corpus

    from gdl_studio.music.notes import Note

    score = corpus.parse(piece_id.split("/", 1)[1] if piece_id.startswith("bach/") else piece_id)
    score = score.stripTies()
    notes = []
    for track, part in enumerate(score.parts):
        for element in part.flatten().notes:
            pitches = [element.pitch] if element.isNote else list(element.pitches)
            for pitch in pitches:
                notes.append(
                    Note(int(pitch.midi), float(element.offset), float(element.quarterLength), 88 - 6 * track, track)
                )
    ts = score.recurse().getElementsByClass("TimeSignature").first()
    beats_per_bar = int(round(ts.barDuration.quarterLength)) if ts is not None else 4
    title = score.metadata.title if score.metadata and score.metadata.title else piece_id
    return notes, beats_per_bar, title


def main() -> int:
    from gdl_studio.music.midi_io import write_midi
    from gdl_studio.music.notes import Score

    piece_id = pick_chorale()
    notes, bpb, title = chorale_notes(piece_id)
    # start on beat 0 (chorales often begin with a pickup)
    first = min(n.start for n in notes)
    notes = [n.moved(-first) for n in notes]
    chorale = Score(
        notes=notes, tempo_bpm=TEMPO_BPM, beats_per_bar=bpb, title=f"Bach chorale {piece_id.split('/')[-1]}"
    )
    write_midi(chorale.sorted(), HERE / "chorale.mid")
    melody = Score(
        notes=[n for n in notes if n.track == 0],
        tempo_bpm=TEMPO_BPM,
        beats_per_bar=bpb,
        title=f"Soprano of {piece_id.split('/')[-1]}",
    )
    write_midi(melody.sorted(), HERE / "melody.mid")
    print(f"wrote {HERE / 'chorale.mid'} ({piece_id}: {len(notes)} notes, {title}) and melody.mid")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
