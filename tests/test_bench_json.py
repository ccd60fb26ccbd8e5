"""``--json`` prints strict JSON: a figure that could not be computed (NaN, ±inf) is ``null``."""

from __future__ import annotations

import io
import json
import math

from gdl_studio.core import bench


def _strict(text: str):
    def refuse(word):
        raise ValueError(f"not JSON: {word}")

    return json.loads(text, parse_constant=refuse)


def test_emit_writes_nan_and_inf_as_null_and_keeps_the_rest():
    out = io.StringIO()
    results = {
        "fidelity": {"rank_corr": 0.25, "rank_corr_working": math.nan, "ratio": math.inf},
        "runs": [1.0, -math.inf, 2],
        "name": "x",
    }
    bench.emit(results, as_json=True, out=out)
    got = _strict(out.getvalue())
    assert got == {
        "fidelity.rank_corr": 0.25,
        "fidelity.rank_corr_working": None,
        "fidelity.ratio": None,
        "runs": [1.0, None, 2],
        "name": "x",
    }


def test_the_table_still_shows_nan():
    out = io.StringIO()
    bench.emit({"a": math.nan}, as_json=False, out=out)
    assert "nan" in out.getvalue().lower()


def test_a_long_list_is_whole_in_json_and_summarised_in_the_table():
    returns = [900.0 + k for k in range(100)]
    out = io.StringIO()
    bench.emit({"score": {"returns": returns}}, as_json=True, out=out)
    assert _strict(out.getvalue())["score.returns"] == returns
    out = io.StringIO()
    bench.emit({"score": {"returns": returns, "short": [1, 2]}}, as_json=False, out=out)
    table = out.getvalue()
    assert "100 values (900.0, 901.0, 902.0, …; whole with --json)" in table
    assert "999" not in table and "[1, 2]" in table
