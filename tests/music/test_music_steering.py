"""Steering by constrained sampling (issue #15): parsing, exactness, no dead ends, the CLI flags."""

from __future__ import annotations

import re

import pytest

from gdl_studio.cli import main
from gdl_studio.music import steering as S
from gdl_studio.music.generate import LSTMComposer, TransformerComposer
from gdl_studio.music.midi_io import read_midi
from gdl_studio.music.notes import Note, Score


def test_parse_key():
    assert S.parse_key("C").pitch_classes == frozenset({0, 2, 4, 5, 7, 9, 11})
    assert S.parse_key("Am") == S.Scale(9, "minor") == S.parse_key("a") == S.parse_key("A minor")
    assert S.parse_key("F# minor") == S.Scale(6, "minor")
    assert S.parse_key("Bb major") == S.Scale(10, "major")
    assert S.parse_key("D dorian").pitch_classes == S.parse_key("C").pitch_classes
    assert S.parse_key("e harmonic minor") == S.Scale(4, "harmonic-minor")
    for bad in ("H", "C bebop", "", "7"):
        with pytest.raises(ValueError, match="key"):
            S.parse_key(bad)


SYMBOLS = [
    "C",
    "Cm",
    "C7",
    "Cmaj7",
    "Cm7",
    "Cdim",
    "Cdim7",
    "Cm7b5",
    "Caug",
    "Csus4",
    "Csus2",
    "C6",
    "Cm6",
    "C9",
    "Cadd9",
    "F#m7",
    "Bb7",
    "Ebmaj7",
    "G/B",
    "D7/F#",
    "Abm",
    "Em9",
]


def test_chord_symbols_agree_with_music21():
    harmony = pytest.importorskip("music21.harmony")
    for sym in SYMBOLS:
        ours = S.parse_chord(sym).pitch_classes
        m21 = re.sub(r"(^|/)([A-G])b", r"\1\2-", sym)  # music21 writes flats as '-'
        theirs = frozenset(p.pitchClass for p in harmony.ChordSymbol(m21).pitches)
        assert ours == theirs, sym


def test_bad_chord_symbols():
    for bad in ("H7", "Cblah", "c", "", "C/X"):
        with pytest.raises(ValueError, match="chord"):
            S.parse_chords(bad)
    assert S.parse_chords("C | G, Am - F")[3] is None


def test_parse_range():
    assert S.parse_range("C3:C6") == (48, 84)
    assert S.parse_range("48:84") == (48, 84)
    assert S.parse_range("Bb2:F#4") == (46, 66)
    for bad in ("84:48", "60", "C3:X", "0:200"):
        with pytest.raises(ValueError):
            S.parse_range(bad)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"key": "C", "pitch_range": "61:61"}, "holds no note of C major"),
        ({"chords": "C Fm", "pitch_range": "61:63"}, "holds no note of the chord C"),
        ({"density": 0}, "density"),
        ({"density": "lots"}, "density"),
        ({"voices": 0}, "voices"),
    ],
)
def test_impossible_constraints_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        S.constraints_from_strings(**kwargs)


def test_the_checker_can_fail():
    c = S.Constraints(key=S.parse_key("C"), pitch_range=(48, 72), density=1.0, voices=2).validated()
    notes = [(0, 12, 61), (12, 24, 80), (24, 30, 60), (27, 40, 62), (26, 50, 64)]
    bad = S.check_notes(c, notes, 48, 0)
    assert "key/chord/range" in bad[0] and "key/chord/range" in bad[1]
    assert "notes in a beat" in bad[3]
    assert any("sound at once" in b for b in bad[2:])
    assert S.check_notes(c, [(0, 12, 60), (12, 24, 64)], 48, 0) == ["", ""]


SCENARIOS = [
    dict(key="D minor", pitch_range="50:74"),
    dict(chords="C G Am F", voices=3),
    dict(density=1.5, voices=2, pitch_range="55:79"),
    dict(key="Eb", chords="Eb - Cm Bb7", density=2, voices=1, pitch_range="C3:C5"),
    dict(voices=1, density=0.25, pitch_range="60:62", chords="C G"),  # so tight that time must move on
]


def _grid(steps):
    return [(round(s.note.start * 12), round(s.note.end * 12), s.note.pitch) for s in steps]


@pytest.mark.parametrize("scenario", range(len(SCENARIOS)))
def test_every_generated_note_satisfies_the_constraints(scenario, tiny_lstm, tiny_infill_transformer, make_notes):
    c = S.constraints_from_strings(**SCENARIOS[scenario])
    primer = make_notes(bars=4, seed=scenario)
    ctx = [(round(n.start * 12), round(n.end * 12)) for n in primer]
    end = max(e for _, e in ctx)
    for composer in (LSTMComposer(tiny_lstm), TransformerComposer(tiny_infill_transformer)):
        steps = list(composer.generate(primer, n_notes=40, seed=scenario, constraints=c))
        assert steps, type(composer).__name__
        assert S.check_notes(c, _grid(steps), 48, end // 48 * 48, ctx) == [""] * len(steps)
    piece = make_notes(bars=8, seed=10 + scenario)
    fill = TransformerComposer(tiny_infill_transformer)
    steps = list(fill.infill(piece, 3, 5, seed=scenario, constraints=c))
    kept = [(round(n.start * 12), round(n.end * 12)) for n in piece if not 144 <= round(n.start * 12) < 240]
    assert all(144 <= s <= 239 for s, _, _ in _grid(steps))
    assert S.check_notes(c, _grid(steps), 48, 144, kept) == [""] * len(steps)


def test_masking_costs_nats_only_when_it_bites(tiny_infill_transformer, make_notes):
    composer = TransformerComposer(tiny_infill_transformer)
    primer = make_notes(bars=2, seed=1)
    free = list(composer.generate(primer, n_notes=12, seed=3))
    assert all(s.constraint_nats == 0.0 for s in free)
    tight = list(
        composer.generate(
            primer, n_notes=12, seed=3, constraints=S.constraints_from_strings(key="F#", pitch_range="66:70")
        )
    )
    assert sum(s.constraint_nats for s in tight) > 0


def test_chords_from_existing_music():
    c_major = [Note(60, 0, 4), Note(64, 0, 4), Note(67, 0, 4)]
    g7 = [Note(55, 4, 4), Note(59, 4, 4), Note(62, 4, 4), Note(65, 4, 4)]
    assert str(S.estimate_chord(c_major)) == "C"
    assert [str(c) for c in S.chords_of(c_major + g7, 4, 0, 2)] == ["C", "G7"]
    assert S.chords_of(c_major, 4, 3, 1) == (None,)
    assert S.estimate_key(c_major + g7) == S.Scale(0, "major")


def test_cli_continue_with_steering(use_tiny_models, write_mid, make_notes, tmp_path, capsys):
    primer = make_notes(bars=2, seed=4)
    src = write_mid("in.mid", primer)
    out = tmp_path / "out.mid"
    args = [
        "continue",
        str(src),
        "-o",
        str(out),
        "--notes",
        "24",
        "--seed",
        "2",
        "--key",
        "G",
        "--chords",
        "G D Em C",
        "--range",
        "G3:G5",
        "--density",
        "2",
        "--voices",
        "3",
    ]
    assert main(args) == 0
    assert "steered" in capsys.readouterr().err
    result = read_midi(out)
    new = [
        n
        for n in result.notes
        if n.start >= max(n.end for n in primer) - 1e-9
        and (n.pitch, round(n.start, 3)) not in {(p.pitch, round(p.start, 3)) for p in primer}
    ]
    c = S.constraints_from_strings("G", "G D Em C", "G3:G5", 2, 3)
    first_bar = int(max(n.end for n in primer) * 12) // 48 * 48
    ctx = [(round(n.start * 12), round(n.end * 12)) for n in primer]
    assert new and S.check_notes(
        c, [(round(n.start * 12), round(n.end * 12), n.pitch) for n in new], 48, first_bar, ctx
    ) == [""] * len(new)
    # chords taken from the primer
    assert main(["continue", str(src), "-o", str(tmp_path / "p.mid"), "--notes", "8", "--chords", "primer"]) == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--key", "C", "--range", "61:61"], "impossible constraints"),
        (["--chords", "C Xm"], "chord symbol 'Xm'"),
        (["--key", "Q"], "key"),
        (["--range", "C9:C2"], "range"),
        (["--voices", "0"], "voices"),
    ],
)
def test_cli_continue_bad_steering_exit_2(use_tiny_models, write_mid, tmp_path, capsys, args, message):
    src = write_mid("in.mid", [Note(60 + i % 5, i * 0.5, 0.5) for i in range(16)])
    out = tmp_path / "o.mid"
    code = main(["continue", str(src), "-o", str(out), "--notes", "4", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_constraints_are_a_headless_value():
    c = S.constraints_from_strings("Am", "Am Dm E7 Am", "A2:A5", 2, 4)
    assert c.active and not S.Constraints().active
    assert "key A minor" in c.describe() and "E7" in c.describe()
    assert c.pitch_class_set(2) == S.parse_chord("E7").pitch_classes
    assert c.pitch_class_set(6) == S.parse_chord("E7").pitch_classes  # the progression repeats
    assert Score  # the module needs no Qt


def test_jam_answers_are_steered(tiny_lstm, make_notes):
    from gdl_studio.jobs.compose import responder

    c = S.constraints_from_strings(key="E minor", pitch_range="52:76", voices=2)
    respond = responder(LSTMComposer(tiny_lstm), seed=3, constraints=c)
    phrase = make_notes(bars=1, seed=8)
    steps = list(respond(phrase, 12))
    ctx = [(round(n.start * 12), round(n.end * 12)) for n in phrase]
    end = max(e for _, e in ctx)
    assert steps and S.check_notes(c, _grid(steps), 48, end // 48 * 48, ctx) == [""] * len(steps)
