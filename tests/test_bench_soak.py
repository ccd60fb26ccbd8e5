"""The soak benchmark's plan and growth statistics (the app-driving part runs in `gdl-studio bench soak`)."""

from __future__ import annotations

import math

import numpy as np

from gdl_studio.bench.soak import PHASES, make_plan, summarise, theil_sen


def test_plan_has_one_warmup_round_then_the_rounds():
    plan = make_plan(list(PHASES), total_s=30 * 60, warmup_s=6 * 60, rounds=2)
    assert [s["phase"] for s in plan] == list(PHASES) * 3
    assert all(s["warmup"] for s in plan[:4]) and not any(s["warmup"] for s in plan[4:])
    assert math.isclose(sum(s["seconds"] for s in plan), 30 * 60)
    assert math.isclose(plan[0]["seconds"], 90) and math.isclose(plan[4]["seconds"], 180)


def test_theil_sen_ignores_outliers_and_groups_pairs():
    t = np.arange(100.0)
    y = 2.0 * t + 5.0
    y[[10, 50, 90]] += 400.0  # e.g. one generation's peak
    assert theil_sen(t, y) == 2.0
    # two stretches at different levels, each flat: within-stretch pairs only give no growth
    level = np.where(t < 50, 100.0, 300.0)
    assert theil_sen(t, level, groups=(t >= 50).astype(int)) == 0.0
    assert theil_sen(t, level) >= 0.0
    assert math.isnan(theil_sen([1.0], [2.0]))


def test_summary_excludes_the_warmup_and_reports_per_phase():
    plan = [
        {"phase": "a", "seconds": 10, "warmup": True},
        {"phase": "a", "seconds": 10, "warmup": False},
        {"phase": "b", "seconds": 10, "warmup": False},
    ]
    samples = [(float(t), 500.0 + 50.0 * t, 0) for t in range(10)]  # warm-up: steep, ignored
    samples += [(float(t), 1000.0 + (t - 10) / 3600.0 * 7.0, 1) for t in range(10, 20)]  # 7 MB/hour
    samples += [(float(t), 1001.0, 2) for t in range(20, 30)]  # flat
    out = summarise(samples, plan)
    assert out["samples"] == 20 and out["rss_start_mb"] == 1000.0
    assert math.isclose(out["phases"]["a"]["rss_growth_mb_per_hour"], 7.0)
    assert out["phases"]["b"]["rss_growth_mb_per_hour"] == 0.0
    assert 0.0 < out["rss_growth_mb_per_hour"] < 1000.0
