"""Controller fine-tuning (CMA-ES from a saved controller, in the dream or the real game)."""

from __future__ import annotations

import numpy as np
import pytest

from gdl_studio.core.errors import UserError
from gdl_studio.core.finetuning import Cancelled, FinetuneSpec, Progress
from gdl_studio.core.personal import personal_models
from gdl_studio.core.registry import default_registry, sha256_file
from gdl_studio.finetune.runner import InlineControl

pytest.importorskip("gdl_studio.racing.fast_env")

TINY = {
    "generations": 2,
    "population": 4,
    "rollouts": 1,
    "max_steps": 60,
    "valid_rollouts": 2,
    "seed": 1,
    "real_check_tracks": 0,
}


def _run(options, name="my-driver", control=None, base="carracing-controller"):
    from gdl_studio.racing.finetune import finetune

    events = []
    summary = finetune(
        FinetuneSpec("controller", base, [], name, dict(options)), events.append, control or InlineControl()
    )
    return summary, events


def test_dream_finetune_reports_generations_and_saves_a_loadable_personal_controller():
    from gdl_studio.jobs.dream import resolve_controller
    from gdl_studio.racing.controller import LinearController
    from gdl_studio.racing.models_io import load

    base_card = default_registry().card("carracing-controller")
    base_sha = sha256_file(base_card.weights_path)
    summary, events = _run({**TINY, "mode": "dream", "real_check_tracks": 2})
    progress = [e for e in events if isinstance(e, Progress)]
    assert [p.step for p in progress] == [0, 1, 2, 2]  # the last: "checking in the real game"
    assert progress[-1].message and not progress[-1].extra
    for p in progress[1:3]:
        assert p.extra["best"] >= p.extra["mean"] >= p.extra["worst"]
        assert p.payload["best_params"].shape == (867,)
    assert summary["name"] == "my-driver"
    metrics = summary["metrics"]
    assert metrics["mode"] == "dream" and metrics["dream_steps"] > 0
    assert np.isfinite(metrics["base_valid_return"]) and np.isfinite(metrics["valid_return"])
    # what was learnt in the dream is also scored in the real game
    # on the same tracks, so the gain is judged track by track
    assert (
        metrics["real_check_tracks"] == 2
        and np.isfinite(metrics["base_real_return"])
        and np.isfinite(metrics["real_return"])
    )
    assert metrics["real_gain"] == pytest.approx(metrics["real_return"] - metrics["base_real_return"], abs=0.02)
    assert metrics["real_gain_se"] >= 0 and 0 <= metrics["real_better_tracks"] <= 2
    assert summary["headline"].startswith("dream: ") and " · real game, 2 tracks: " in summary["headline"]
    # the personal model is listed, loads through the registry and differs from the base
    cards = personal_models("world-model/controller")
    assert [c.name for c in cards] == ["my-driver"]
    assert cards[0].data["base_model"] == "carracing-controller"
    ctrl = load("my-driver")
    assert isinstance(ctrl, LinearController)
    base = load("carracing-controller")
    assert not np.allclose(ctrl.get_params(), base.get_params())
    assert np.abs(ctrl.get_params() - base.get_params()).max() < 1.0  # a small step from the base
    # the Dream panel's resolver accepts it by name, and the base weights are untouched
    from gdl_studio.racing.models_io import load_world_model

    driver, name, _note = resolve_controller("my-driver", load_world_model())
    assert name == "my-driver" and driver.act(np.zeros((1, 32)), np.zeros((1, 256))).shape == (1, 3)
    assert sha256_file(base_card.weights_path) == base_sha


def test_real_game_finetune_runs_on_the_fast_renderer():
    summary, _events = _run(
        {**TINY, "mode": "real", "generations": 1, "population": 2, "max_steps": 25}, name="real-driver"
    )
    assert summary["metrics"]["mode"] == "real" and summary["metrics"]["env_steps"] > 0
    assert [c.name for c in personal_models("world-model/controller")] == ["real-driver"]


def test_cancel_leaves_nothing_written():
    with pytest.raises(Cancelled):
        _run({**TINY, "mode": "dream", "generations": 5}, control=InlineControl(cancel_after=4))
    assert personal_models() == []


@pytest.mark.parametrize(
    "options, base, message",
    [
        ({"mode": "sideways"}, "carracing-controller", "mode"),
        ({"tau": 9.0}, "carracing-controller", "temperature"),
        ({"population": 1}, "carracing-controller", "population"),
        ({}, "carracing-vae", "not a driving controller"),
        ({}, "no-such-model", "no-such-model"),
    ],
)
def test_bad_settings_give_one_clear_line(options, base, message):
    with pytest.raises(UserError, match=message):
        _run({**TINY, **options}, base=base)
    assert personal_models() == []


def test_dream_returns_are_deterministic_for_a_seed_and_batch_independent():
    from gdl_studio.racing.finetune import dream_returns, start_latents
    from gdl_studio.racing.models_io import load_world_model

    world = load_world_model()
    z0 = start_latents(world.vae, 2, 5)
    params = np.stack([world.controller.get_params()] * 2)
    a, steps_a = dream_returns(world.mdn, params, z0, 1.0, seed=3, max_steps=40)
    b, steps_b = dream_returns(world.mdn, params, z0, 1.0, seed=3, max_steps=40)
    assert np.array_equal(a, b) and steps_a == steps_b > 0
    c, _ = dream_returns(world.mdn, params, z0, 1.0, seed=4, max_steps=40)
    assert not np.array_equal(a, c)


def test_real_check_judges_the_gain_track_by_track():
    from gdl_studio.racing.finetune import headline, real_check_metrics

    # the tracks differ by hundreds of points; the result is 10 better on each: a gain of 10 ± 0
    base = np.array([850.0, 420.0, 610.0, 120.0])
    m = real_check_metrics(base, base + 10.0)
    assert m == {
        "base_real_return": 500.0,
        "real_return": 510.0,
        "real_gain": 10.0,
        "real_gain_se": 0.0,
        "real_better_tracks": 4,
        "real_check_tracks": 4,
    }
    m = real_check_metrics(np.array([100.0, 300.0]), np.array([130.0, 290.0]))
    assert m["real_gain"] == 10.0 and m["real_gain_se"] == 20.0 and m["real_better_tracks"] == 1
    line = headline({"mode": "dream", "base_valid_return": 809.46, "valid_return": 837.33, **m})
    assert line == (
        "dream: 809.5 → 837.3 · real game, 2 tracks: 200.0 → 210.0 (+10.0 ± 20.0 per track, better on 1 of 2)"
    )
    one = real_check_metrics(np.array([100.0]), np.array([90.0]))
    assert one["real_gain_se"] == 0.0
    assert headline({"mode": "dream", "base_valid_return": 1.0, "valid_return": 2.0, **one}).endswith(
        "real game, 1 track: 100.0 → 90.0 (-10.0 per track, better on 0 of 1)"
    )
    assert headline({"mode": "real", "base_valid_return": 500.0, "valid_return": 520.0}) == (
        "validation tracks: 500.0 → 520.0"
    )


def test_the_real_check_says_better_or_worse_only_beyond_two_standard_errors():
    from gdl_studio.racing.finetune import headline, real_check_metrics, real_check_verdict

    base = np.array([850.0, 420.0, 610.0, 120.0])
    assert real_check_verdict(real_check_metrics(base, base + 10.0)) == "better than the base"  # 10 ± 0
    worse = real_check_metrics(base, base - np.array([60.0, 40.0, 55.0, 45.0]))  # −50 ± 4.6
    assert real_check_verdict(worse) == "worse than the base"
    mixed = real_check_metrics(base, base + np.array([90.0, -60.0, 40.0, -30.0]))  # +10 ± 33.9
    assert real_check_verdict(mixed) == "no clear difference from the base"
    assert real_check_verdict(real_check_metrics(base, base.copy())) == "no clear difference from the base"
    three = real_check_metrics(base[:3], base[:3] + 10.0)  # too few tracks to judge
    assert real_check_verdict(three) == ""
    line = headline({"mode": "dream", "base_valid_return": 767.4, "valid_return": 721.8, **worse})
    assert line.endswith("(-50.0 ± 4.6 per track, better on 0 of 4): worse than the base"), line


def test_the_real_check_gives_the_same_figures_in_the_app_and_the_cli():
    """In the app the check runs in the fine-tuning process, from the CLI on a process pool: one
    track at a time in both, so the same drivers on the same tracks score the same."""
    from gdl_studio.racing.finetune import RealEvaluator, _base_controller, _world_of

    params, card = _base_controller("carracing-controller")
    models_dir = _world_of(card).models_dir()
    # 500 steps: long enough for a batched network step's rounding to change these tracks' returns
    app, cli = RealEvaluator(models_dir, 1, 500), RealEvaluator(models_dir, 2, 500)
    try:
        assert app.inner.pool.in_process and not cli.inner.pool.in_process
        in_app = app.per_track([params], 2_000_000, 3)
        from_cli = cli.per_track([params], 2_000_000, 3)
    finally:
        app.close()
        cli.close()
    assert in_app.shape == (1, 3) and np.array_equal(in_app, from_cli)


def test_each_mode_has_its_defaults_and_the_cli_leaves_them_to_the_run():
    """racing.finetune_options holds the defaults; the CLI passes None for what the person did not name."""
    import argparse

    from gdl_studio.core.finetuning import FinetuneSpec
    from gdl_studio.finetune.cli import register
    from gdl_studio.racing.finetune import _options
    from gdl_studio.racing.finetune_options import DEFAULTS, defaults

    assert defaults("dream")["generations"] > defaults("real")["generations"]
    assert defaults("dream")["rollouts"] > defaults("real")["rollouts"]
    assert defaults()["mode"] == DEFAULTS["mode"]

    class Commands:
        def __init__(self) -> None:
            self.finetune = argparse.ArgumentParser().add_subparsers()

    commands = Commands()
    register(commands)
    parser = commands.finetune.choices["controller"]
    for mode in ("dream", "real"):
        args = vars(parser.parse_args(["--name", "x", "--mode", mode]))
        assert args["generations"] is None and args["rollouts"] is None and args["tau"] is None
        assert args["base"] is None  # the mode picks it (default_base below)
        opts = _options(FinetuneSpec("controller", "", [], "x", {k: args[k] for k in ("mode", "generations")}))
        assert opts == defaults(mode)
    args = vars(parser.parse_args(["--name", "x", "--generations", "3", "--rollouts", "5"]))
    opts = _options(FinetuneSpec("controller", "", [], "x", {k: args[k] for k in ("mode", "generations", "rollouts")}))
    assert (opts["generations"], opts["rollouts"], opts["mode"]) == (3, 5, "dream")


def test_a_run_without_a_base_starts_where_the_dialog_would():
    """The CLI and the New fine-tune dialog share racing.finetune_options.default_base: a dream run from
    the dream-trained driver when it is installed, anything else from the area's default."""
    from gdl_studio.racing.area import AREA, SHIPPED_CONTROLLER
    from gdl_studio.racing.dream_train import DREAM_CONTROLLER_NAME
    from gdl_studio.racing.finetune_options import DREAM_BASE, default_base

    assert DREAM_BASE == DREAM_CONTROLLER_NAME and AREA.default_base == SHIPPED_CONTROLLER
    both = [SHIPPED_CONTROLLER, DREAM_BASE]
    assert default_base("dream", both, SHIPPED_CONTROLLER) == DREAM_BASE
    assert default_base(None, both, SHIPPED_CONTROLLER) == DREAM_BASE  # dream is the default mode
    assert default_base("real", both, SHIPPED_CONTROLLER) == SHIPPED_CONTROLLER
    assert default_base("dream", [SHIPPED_CONTROLLER], SHIPPED_CONTROLLER) == SHIPPED_CONTROLLER
