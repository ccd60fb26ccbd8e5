import numpy as np

from gdl_studio.ink import dataset


def test_split_lists_are_disjoint_cover_kanjivg_and_follow_the_hash_rule():
    table = dataset.read_split_lists()
    parts = {s: {c for c, v in table.items() if v == s} for s in dataset.SPLITS}
    assert all(parts.values())
    assert not (parts["train"] & parts["valid"]) and not (parts["train"] & parts["test"])
    assert not (parts["valid"] & parts["test"])
    files, _ = dataset.kanjivg_files()
    chars = {dataset.character_of(f.stem) for f in files}
    assert chars <= set(table)
    assert all(dataset.hash_split(c) == s for c, s in table.items())
    n = len(table)
    assert 0.85 < len(parts["train"]) / n < 0.95


def test_variants_share_their_character():
    assert dataset.character_of("04e00-Kaisho") == dataset.character_of("04e00") == "04e00"


def test_tiny_build_and_load(tiny_cache):
    data = dataset.load(tiny_cache)
    assert len(data) == 300
    assert data.meta["rdp_epsilon"] == 1.0 and data.scale > 0
    # Stroke-3 invariants: the last point of every character lifts the pen; offsets are finite.
    for i in range(len(data)):
        seq = data.sequence(i)
        assert seq[-1, 2] == 1.0 and np.isfinite(seq).all()
        assert set(np.unique(seq[:, 2])) <= {0.0, 1.0}
    # The split is by character: no character in two splits.
    by_split = {s: {dataset.character_of(str(n)) for n in data.names[data.indices(s)]} for s in dataset.SPLITS}
    assert not (by_split["train"] & by_split["test"]) and not (by_split["train"] & by_split["valid"])
    # Scale is the RMS of the training offsets: normalised training offsets have unit RMS.
    train = np.concatenate(data.sequences("train"))
    assert np.sqrt(np.mean(train[:, :2] ** 2)) == np.float32(1.0) or abs(np.sqrt(np.mean(train[:, :2] ** 2)) - 1) < 1e-4


def test_cache_reconstructs_the_kanjivg_strokes(tiny_cache, kanjivg_dir):
    from gdl_studio.ink import strokes as S
    from gdl_studio.ink import svgio

    data = dataset.load(tiny_cache)
    i = int(np.flatnonzero(data.names == "00061")[0])
    rows = data.sequence(i).astype(np.float64)
    rows[:, :2] *= data.scale
    rebuilt = S.stroke3_to_strokes(rows)
    original = svgio.read_svg_strokes(kanjivg_dir / "00061.svg")
    assert len(rebuilt) == len(original)
    for r, o in zip(rebuilt, original):
        assert np.allclose(r[0], o[0], atol=1e-3) and np.allclose(r[-1], o[-1], atol=1e-3)
        # Every original sample lies within about epsilon of the simplified polyline's vertices' hull.
        assert len(r) < len(o)


def test_missing_cache_is_a_user_error(tmp_path):
    import pytest

    from gdl_studio.core.errors import UserError

    with pytest.raises(UserError, match="gdl-studio data ink"):
        dataset.load(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(UserError):
        dataset.load(bad)
