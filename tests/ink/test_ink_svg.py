import numpy as np
import pytest

from gdl_studio.core.errors import UserError
from gdl_studio.ink import strokes as S
from gdl_studio.ink import svgio


def test_kanjivg_ichi_has_one_stroke_from_its_path_start(kanjivg_dir):
    strokes = svgio.read_svg_strokes(kanjivg_dir / "04e00.svg")
    assert len(strokes) == 1
    s = strokes[0]
    # d="M11,54.25c3.19,0.62 ... c3.6-0.02,5.77,0.24,7.57,0.49": starts at (11, 54.25).
    assert np.allclose(s[0], [11.0, 54.25])
    assert s[:, 0].max() > 95 and s[:, 0].min() == pytest.approx(11.0)
    assert np.all(np.diff(s[:, 0]) > 0)  # a left-to-right stroke


def test_kanjivg_letter_a_two_strokes_and_text_ignored(kanjivg_dir):
    strokes = svgio.read_svg_strokes(kanjivg_dir / "00061.svg")
    assert len(strokes) == 2
    assert np.allclose(strokes[0][0], [34.26, 50.61])
    assert np.allclose(strokes[1][0], [70.82, 58.71])
    # The relative cubics of stroke 1 end at (54.78, 35), (72.12, 47.31), (72.26, 86.59), (81.51, 87.02).
    assert np.allclose(strokes[0][-1], [81.51, 87.02])
    for p in ([54.78, 35.0], [72.12, 47.31], [72.26, 86.59]):
        assert np.min(np.hypot(*(strokes[0] - p).T)) < 1e-9
    assert all(np.isfinite(s).all() for s in strokes)


def test_stroke_counts_of_real_files(kanjivg_dir):
    # 永 (6c38) has 5 strokes; 木 (6728) 4; 森 (68ee) 12.
    for name, n in (("06c38", 5), ("06728", 4), ("068ee", 12)):
        assert len(svgio.read_svg_strokes(kanjivg_dir / f"{name}.svg")) == n


def test_svg_roundtrip_and_points(tmp_path):
    strokes = [np.array([[10.0, 10.0], [50.0, 20.0], [90.0, 80.0]]), np.array([[30.0, 90.0]])]
    path = tmp_path / "out.svg"
    svgio.write_svg(path, strokes[:1], strokes[1:])
    back = svgio.read_svg_strokes(path)
    assert len(back) == 2
    assert np.allclose(back[0], strokes[0], atol=0.01)
    assert np.allclose(back[1][0], strokes[1][0], atol=0.01)
    pts = svgio.strokes_to_points(strokes)
    assert pts[:, 2].tolist() == [0, 0, 1, 1]
    assert all(np.allclose(a, b) for a, b in zip(svgio.points_to_strokes(pts), strokes))


def test_transform_and_viewbox_are_applied():
    doc = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 218 218">'
        '<g transform="translate(10,0)"><path d="M0,0 L100,0"/></g>'
        '<polyline points="0,218 218,218"/></svg>'
    )
    a, b = svgio.parse_svg_strokes(doc)
    assert np.allclose(a[[0, -1]], [[5, 0], [55, 0]])
    assert np.allclose(b, [[0, 109], [109, 109]])


@pytest.mark.parametrize(
    "doc, words",
    [
        ("", "empty"),
        ("<svg", "malformed"),
        ("<html/>", "not an SVG"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><rect width="3" height="3"/></svg>', "no strokes"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><path d="M 1 2 L x y"/></svg>', "path"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><path d="M 1 2 L 1e400 3"/></svg>', "non-finite"),
    ],
)
def test_bad_svg_gives_one_line_user_error(doc, words):
    with pytest.raises(UserError) as err:
        svgio.parse_svg_strokes(doc)
    msg = str(err.value)
    assert words.lower() in msg.lower() and "\n" not in msg


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        svgio.read_svg_strokes(tmp_path / "nope.svg")
    with pytest.raises(UserError):
        svgio.read_svg_strokes(tmp_path)


def test_stroke3_roundtrip():
    strokes = [np.array([[10.0, 10.0], [20.0, 30.0]]), np.array([[50.0, 50.0], [60.0, 40.0], [61.0, 41.0]])]
    rows = S.strokes_to_stroke3(strokes)
    assert rows.shape == (5, 3)
    assert np.allclose(rows[0, :2], np.array([10.0, 10.0]) - S.ORIGIN)
    assert rows[:, 2].tolist() == [0, 1, 0, 0, 1]
    back = S.stroke3_to_strokes(rows)
    assert all(np.allclose(a, b) for a, b in zip(back, strokes))


def test_primer_of_100k_point_stroke_is_simplified():
    t = np.linspace(0, 1, 100_000)
    stroke = np.stack([10 + 80 * t, 50 + 20 * np.sin(6 * t)], 1)
    rows = S.primer_stroke3([stroke])
    assert 3 < len(rows) < 100
    assert rows[-1, 2] == 1


def test_primer_bad_input():
    with pytest.raises(UserError, match="blank"):
        S.primer_stroke3([])
    with pytest.raises(UserError, match="blank"):
        S.primer_stroke3([np.zeros((0, 2))])
    with pytest.raises(UserError, match="non-finite"):
        S.primer_stroke3([np.array([[0.0, np.nan]])])
    noisy = [np.random.default_rng(0).uniform(0, 109, size=(5000, 2))]
    with pytest.raises(UserError, match="too long"):
        S.primer_stroke3(noisy)
