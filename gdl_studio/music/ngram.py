"""A smoothed n-gram baseline (interpolated Kneser–Ney) over the models' own tokens.

Two symbol streams are supported, so the baseline is measured on exactly the tokens each
network sees: the Transformer's event tokens, and the LSTM's steps with the note and duration
tokens of a step joined into one symbol (``note * N_DUR + duration``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from gdl_studio.music import tokens as T
from gdl_studio.music.corpus import CorpusPiece
from gdl_studio.music.evaluate import Scores

STEP_VOCAB = T.N_STEP_NOTE_OUT * T.N_DUR
START = -1  # padding symbol before the first token


def step_symbols(p: CorpusPiece) -> np.ndarray:
    """The LSTM steps of a piece as single symbols."""
    return p.step_note * T.N_DUR + p.step_dur


def event_symbols(p: CorpusPiece, use_velocity: bool = False) -> np.ndarray:
    """The event tokens of a piece without the start token."""
    return p.events(use_velocity)[0][1:]


class KneserNey:
    """Interpolated Kneser–Ney n-gram model with one absolute discount per order."""

    def __init__(self, order: int, vocab: int, discount: float = 0.75) -> None:
        self.order = order
        self.vocab = vocab
        self.discount = discount
        # tables[n]: context tuple of length n → Counter(next symbol → (continuation) count)
        self.tables: list[dict[tuple, Counter]] = [defaultdict(Counter) for _ in range(order)]
        self._cache: dict[tuple, tuple] = {}

    def fit(self, sequences: Iterable[Sequence[int] | np.ndarray]) -> KneserNey:
        """Count n-grams of all orders (highest order: raw counts; lower: continuation counts)."""
        top: Counter = Counter()
        n = self.order
        for seq in sequences:
            padded = [START] * (n - 1) + [int(s) for s in seq]
            top.update(zip(*(padded[i:] for i in range(n))))
        for gram, c in top.items():
            self.tables[n - 1][gram[:-1]][gram[-1]] += c
        grams = set(top)
        for k in range(n - 1, 0, -1):  # order k n-grams: count distinct left extensions
            lower = set()
            for gram in grams:
                g = gram[1:]
                self.tables[k - 1][g[:-1]][g[-1]] += 1
                lower.add(g)
            grams = lower
        self._cache.clear()
        return self

    def _entry(self, k: int, context: tuple):
        key = (k, context)
        hit = self._cache.get(key)
        if hit is None:
            counter = self.tables[k].get(context)
            if counter is None:
                hit = ()
            else:
                idx = np.fromiter(counter.keys(), dtype=np.int64, count=len(counter))
                val = np.fromiter(counter.values(), dtype=np.float64, count=len(counter))
                total = val.sum()
                hit = (idx, np.maximum(val - self.discount, 0.0) / total, self.discount * len(counter) / total)
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def distribution(self, history: Sequence[int]) -> np.ndarray:
        """Probability of every symbol after ``history`` (a dense vector summing to 1)."""
        p = np.full(self.vocab, 1.0 / self.vocab)
        hist = [START] * (self.order - 1) + [int(s) for s in history[-(self.order - 1) :]] if self.order > 1 else []
        for k in range(self.order):
            context = tuple(hist[len(hist) - k :]) if k else ()
            e = self._entry(k, context)
            if not e:
                continue
            idx, main, backoff = e
            p *= backoff
            p[idx] += main
        return p

    def score(self, seq: Sequence[int] | np.ndarray, is_note, pitch_of) -> tuple[float, int, int]:
        """``(nats, correct, predicted)`` of one sequence: total NLL and next-note accuracy
        (``is_note(symbol)``; ``pitch_of`` maps every symbol to its pitch or -1)."""
        nats = 0.0
        correct = predicted = 0
        seq = [int(s) for s in seq]
        for i, s in enumerate(seq):
            p = self.distribution(seq[max(0, i - self.order + 1) : i])
            nats -= float(np.log(max(p[s], 1e-300)))
            if is_note(s):
                predicted += 1
                sums = np.bincount(pitch_of[pitch_of >= 0], weights=p[pitch_of >= 0], minlength=T.N_PITCH)
                correct += int(np.argmax(sums) == pitch_of[s])
        return nats, correct, predicted


def event_pitch_map() -> np.ndarray:
    out = np.full(T.EVENT_VOCAB, -1, dtype=np.int64)
    out[T.NOTE0 :] = np.arange(T.N_PITCH * T.N_DUR) // T.N_DUR
    return out


def step_pitch_map() -> np.ndarray:
    note = np.arange(STEP_VOCAB) // T.N_DUR
    return np.where(note < T.N_PITCH, note, -1)


def fit_ngram(pieces: Sequence[CorpusPiece], kind: str, order: int) -> KneserNey:
    """Fit on pieces' ``kind`` symbols (``"events"`` or ``"steps"``)."""
    if kind == "events":
        return KneserNey(order, T.EVENT_VOCAB).fit(event_symbols(p) for p in pieces)
    return KneserNey(order, STEP_VOCAB).fit(step_symbols(p) for p in pieces)


def score_ngram(model: KneserNey, pieces: Sequence[CorpusPiece], kind: str) -> Scores:
    """NLL per note and next-note accuracy of the n-gram model on pieces."""
    out = Scores()
    if kind == "events":
        pitch_of = event_pitch_map()
        symbols = [event_symbols(p) for p in pieces]
    else:
        pitch_of = step_pitch_map()
        symbols = [step_symbols(p) for p in pieces]
    for p, seq in zip(pieces, symbols):
        nats, correct, predicted = model.score(seq, lambda s: pitch_of[s] >= 0, pitch_of)
        out.add(nats, p.n_notes, len(seq), correct, predicted)
    return out
