"""Fixtures for the music tests: tiny untrained models in a registry, MIDI writers, a tiny corpus."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch
from music_notes_factory import chorale_like_notes

# One thread: the models are tiny, and OpenMP threads spinning on a busy 2-core machine make
# tests many times slower.
torch.set_num_threads(1)


def _tiny_lstm_config():
    from gdl_studio.music.lstm import LSTMConfig

    return LSTMConfig(
        hidden=24,
        layers=2,
        note_embedding=12,
        duration_embedding=8,
        voice_embedding=4,
        metric_embedding=4,
        window=8,
        duration_hidden=16,
        dropout=0.0,
    )


def _tiny_transformer_config():
    from gdl_studio.music.transformer import TransformerConfig

    return TransformerConfig(
        d_model=32, layers=2, heads=2, d_ff=48, max_len=48, pos_limit=160, head_hidden=24, attr_embedding=8, dropout=0.0
    )


@pytest.fixture(scope="session")
def tiny_lstm():
    import torch

    from gdl_studio.music.lstm import AttentionLSTM

    torch.manual_seed(0)
    return AttentionLSTM(_tiny_lstm_config()).eval()


@pytest.fixture(scope="session")
def tiny_transformer():
    import torch

    from gdl_studio.music.transformer import MusicTransformer

    torch.manual_seed(1)
    return MusicTransformer(_tiny_transformer_config()).eval()


@pytest.fixture(scope="session")
def tiny_infill_transformer():
    """A tiny untrained Transformer of the round-2 kind: fills gaps, knows styles, rotary positions."""
    import torch

    from gdl_studio.music.corpus import STYLES
    from gdl_studio.music.transformer import MusicTransformer

    cfg = _tiny_transformer_config()
    cfg.infill, cfg.n_styles, cfg.rope, cfg.max_len = True, len(STYLES), True, 96
    torch.manual_seed(2)
    return MusicTransformer(cfg).eval()


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory, tiny_lstm, tiny_infill_transformer) -> Path:
    """A models directory holding untrained tiny ``music-lstm`` and ``music-transformer`` (the
    Transformer of round 2: it fills gaps and knows the styles)."""
    from gdl_studio.core.registry import save_model
    from gdl_studio.music import tokens as T
    from gdl_studio.music.corpus import STYLES

    root = tmp_path_factory.mktemp("models")
    for name, kind, model in (
        ("music-lstm", "lstm", tiny_lstm),
        ("music-transformer", "transformer", tiny_infill_transformer),
    ):
        arch = {"kind": kind, **model.config.to_dict(), "tokenisation": T.vocab_signature()}
        if getattr(model.config, "n_styles", 0):
            arch["styles"] = list(STYLES)
        card = {
            "name": name,
            "family": "music",
            "architecture": arch,
            "data": {},
            "metrics": {},
            "training_command": "test",
        }
        tensors = {k: v.half() for k, v in model.state_dict().items()}
        save_model(root / name, tensors, card)
    return root


@pytest.fixture
def use_tiny_models(tiny_models_dir, monkeypatch):
    """Point the default registry at the tiny models (and forget cached ones around the test)."""
    from gdl_studio.core.registry import default_registry

    monkeypatch.setenv("GDL_STUDIO_MODELS", str(tiny_models_dir))
    default_registry().forget()
    yield tiny_models_dir
    default_registry().forget()


@pytest.fixture
def make_notes():
    return chorale_like_notes


@pytest.fixture
def write_mid(tmp_path):
    """``write_mid(name, notes, midi_type=1, channel=None)`` → path of a MIDI file written with
    mido in one track (one channel per ``Note.track`` unless ``channel`` is given)."""
    import mido

    def write(name, notes, midi_type=1, channel=None, tpb=480):
        mid = mido.MidiFile(type=midi_type, ticks_per_beat=tpb)
        track = mido.MidiTrack()
        events = []
        for n in notes:  # one channel per voice unless told otherwise
            ch = n.track % 9 if channel is None else channel
            on_order = -1 if n.duration == 0 else 1  # a zero-length note: on, then off, at one tick
            events.append(
                (round(n.start * tpb), on_order, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity))
            )
            events.append((round(n.end * tpb), 0, mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
        events.sort(key=lambda e: (e[0], e[1]))
        last = 0
        for tick, _, msg in events:
            track.append(msg.copy(time=tick - last))
            last = tick
        mid.tracks.append(track)
        if midi_type == 2:
            mid.tracks.append(mido.MidiTrack())
        path = tmp_path / name
        mid.save(str(path))
        return path

    return write


def raw_midi(division: int, track_bytes: bytes, midi_type: int = 0) -> bytes:
    """A MIDI file built byte by byte (for headers mido will not write)."""
    header = b"MThd" + struct.pack(">Ihhh", 6, midi_type, 1, division)
    return header + b"MTrk" + struct.pack(">I", len(track_bytes)) + track_bytes


@pytest.fixture
def raw_midi_bytes():
    return raw_midi


def tiny_corpus(path: Path, n_pieces: int = 12, seed: int = 0, style: str = "") -> Path:
    """A small synthetic corpus cache in the real format (train/valid/test pieces); with
    ``style``, every other piece is of that style (the rest of none)."""
    from gdl_studio.music import corpus as C
    from gdl_studio.music import tokens as T

    pieces = []
    for i in range(n_pieces):
        notes = chorale_like_notes(bars=4 + i % 3, seed=seed + i)
        g = T.quantise(notes, keep_velocity=False)
        raw = {
            "pitch": g.pitch,
            "start": g.start,
            "dur": g.dur,
            "velocity": g.velocity,
            "track": g.track,
            "bar_ticks": 48,
        }
        split = "valid" if i % 6 == 1 else "test" if i % 6 == 2 else "train"
        tag = C.STYLES.index(style) if style and i % 2 == 1 else 0
        pieces.append(C.tokenise_piece(f"synthetic/p{i}", split, raw, tag))
    C.save_corpus(path, pieces, ["synthetic"])
    return path


@pytest.fixture
def corpus_path(tmp_path):
    return tiny_corpus(tmp_path / "music.npz")


@pytest.fixture
def argmax_sampler(monkeypatch) -> list:
    """Replace the generator's masked sampler by an argmax over the allowed choices; returns the
    list that collects every distribution it was offered (the logits, in draw order)."""
    import gdl_studio.music.generate as G

    seen: list[torch.Tensor] = []

    def fake(logits, mask, options, rng, tracker):
        seen.append(logits.clone())
        allowed = torch.ones_like(logits, dtype=torch.bool) if mask is None else torch.as_tensor(mask)
        return int(torch.where(allowed, logits, torch.tensor(-1e30)).argmax())

    monkeypatch.setattr(G, "_masked_sample", fake)
    return seen
