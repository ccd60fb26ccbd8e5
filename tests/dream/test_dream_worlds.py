"""The Dream panel and the training dock with a shipped iteration round: the dream-trained driver is in the
Driver list, choosing it loads its own V and M, and dream fine-tuning offers it as the start."""

from __future__ import annotations

import numpy as np
import pytest

from gdl_studio.racing.dream import DreamFrame, RealFrame

TIMEOUT = 20_000


@pytest.fixture(scope="module")
def models_root(tmp_path_factory):
    """Shipped tiny models (carracing-vae/-mdnrnn/-controller) plus a round shipped as v2."""
    import torch

    from gdl_studio.core.registry import save_model
    from gdl_studio.racing.controller import param_count
    from gdl_studio.racing.mdn_rnn import MDNRNN
    from gdl_studio.racing.models_io import FAMILY_CONTROLLER, save_controller, save_mdn, save_vae
    from gdl_studio.racing.ship import ship
    from gdl_studio.racing.vae import ConvVAE

    root = tmp_path_factory.mktemp("models")
    rnd = tmp_path_factory.mktemp("round") / "models"
    card = {"data": {}, "metrics": {}, "training_command": "test"}
    params = np.random.default_rng(0).normal(0, 0.1, param_count())
    params[-2] += 1.0
    torch.manual_seed(0)
    save_vae(ConvVAE(), root, dict(card))
    save_mdn(MDNRNN(), root, dict(card))
    road = {"on_road": 0.0, "on_road_frames": 0.2194, "starts": 50, "tau": 1.0}  # as `--dream-road --record` writes
    save_controller(params, root, {**card, "metrics": {"dream_road": road}})
    torch.manual_seed(1)
    save_vae(ConvVAE(), rnd, dict(card))
    save_mdn(MDNRNN(), rnd, dict(card))
    save_model(
        rnd / "carracing-controller-dream",
        {"params": torch.from_numpy(params.astype(np.float32))},
        {
            "name": "carracing-controller-dream",
            "display_name": "Dream-trained driver",
            "family": FAMILY_CONTROLLER,
            "architecture": {"kind": "linear", "z_size": 32, "hidden": 256},
            "dtype": "float32",
            "metrics": {
                "real_env_steps_during_training": 0,
                "dream_road": {"on_road": 0.38, "on_road_frames": 0.8878, "starts": 50, "tau": 1.0},
            },
            "data": {},
        },
    )
    ship(rnd, "v2", root, log=lambda m: None)
    return root


@pytest.fixture
def registry_at(models_root, monkeypatch):
    from gdl_studio.core import registry

    monkeypatch.setattr(registry, "_default", registry.Registry(roots=[models_root]))
    return models_root


def _wait_frames(qtbot, panel, n, kind):
    def enough():
        assert panel.frame_count() >= n and isinstance(panel.last_frame(), kind)

    qtbot.waitUntil(enough, timeout=TIMEOUT)


def test_session_names_the_world():
    from gdl_studio.ui.dream.session import DreamSession

    s = DreamSession()
    assert s.active_model() == "carracing-vae + mdnrnn, carracing-controller"
    s.watch("carracing-controller-dream")
    s.world = ("carracing-vae-v2", "carracing-mdnrnn-v2")
    assert s.active_model() == "carracing-vae-v2 + mdnrnn-v2, carracing-controller-dream"


def test_driver_list_has_the_dream_driver_and_choosing_it_loads_its_world(qtbot, engine, registry_at):
    """The dream-trained driver is installed, so the panel opens with it (its world's dreams keep the road); the
    shipped controller is one choice away, each with its own world and its card's dream-road line."""
    from gdl_studio.ui.dream.panel import DreamPanel
    from gdl_studio.ui.settings import Settings

    panel = DreamPanel(engine, Settings())
    qtbot.addWidget(panel)
    panel.playback.fps = 400.0
    try:
        labels = [panel.controller_combo.itemText(i) for i in range(panel.controller_combo.count())]
        assert labels == ["Shipped controller", "Dream-trained driver (v2 world)"]
        assert panel.controller_combo.currentData() == "carracing-controller-dream"
        assert panel.active_model() == "carracing-vae-v2 + mdnrnn-v2, carracing-controller-dream"
        # its card's recorded dream-road figure is said under the Dream button
        assert not panel.dream_road_label.isHidden()
        assert panel.dream_road_label.text().startswith("This driver's dreams stay on the road in 38% of 50 dreams")
        panel.show()
        qtbot.waitExposed(panel)
        _wait_frames(qtbot, panel, 2, RealFrame)
        world = panel.source.get()
        assert world.cards["carracing-vae"].name == "carracing-vae-v2"
        assert world.cards["carracing-mdnrnn"].name == "carracing-mdnrnn-v2"
        assert "carracing-controller-dream" in panel.controller_label.text()

        panel.set_mode("dream")  # the dream is M v2's, decoded by V v2
        _wait_frames(qtbot, panel, 3, DreamFrame)
        assert panel.source.get() is world

        index = panel.controller_combo.findData("")  # the shipped controller: the shipped world
        panel.controller_combo.setCurrentIndex(index)
        panel.controller_combo.activated.emit(index)  # as a click does
        _wait_frames(qtbot, panel, 2, RealFrame)
        assert panel.source.get().cards["carracing-vae"].name == "carracing-vae"
        assert panel.active_model() == "carracing-vae + mdnrnn, carracing-controller"
        shipped_line = "This driver's dreams stay on the road in 0% of 50 dreams at τ 1.00 (22% of their frames)"
        assert panel.dream_road_label.text() == shipped_line

        panel.watch_controller("carracing-controller-dream")  # and back: its world was loaded once
        _wait_frames(qtbot, panel, 2, RealFrame)
        assert panel.source.get() is world
        assert panel.controller_combo.currentData() == "carracing-controller-dream"
    finally:
        panel.shutdown()


def test_the_panel_opens_with_the_driver_last_chosen(qtbot, engine, registry_at):
    """A driver chosen in the list is remembered (settings): the next panel opens with it; a remembered driver that
    is no longer installed gives way to the first driver (the dream-trained one)."""
    from gdl_studio.ui.dream.panel import DreamPanel
    from gdl_studio.ui.settings import Key, Settings

    settings = Settings()
    first = DreamPanel(engine, settings)
    qtbot.addWidget(first)
    try:
        assert first.controller_combo.currentData() == "carracing-controller-dream"
        index = first.controller_combo.findData("")
        first.controller_combo.setCurrentIndex(index)
        first.controller_combo.activated.emit(index)  # the user picks the shipped controller
        assert settings.get(Key.DREAM_DRIVER) == "carracing-controller"
    finally:
        first.shutdown()
    again = DreamPanel(engine, settings)
    qtbot.addWidget(again)
    try:
        assert again.controller_combo.currentData() == ""
        assert again.active_model() == "carracing-vae + mdnrnn, carracing-controller"
    finally:
        again.shutdown()
    settings.set(Key.DREAM_DRIVER, "my-driver-that-was-deleted")
    gone = DreamPanel(engine, settings)
    qtbot.addWidget(gone)
    try:
        assert gone.controller_combo.currentData() == "carracing-controller-dream"
    finally:
        gone.shutdown()


def test_a_driver_whose_world_is_missing_falls_back_to_the_shipped_one(
    qtbot, engine, models_root, tmp_path, monkeypatch
):
    import shutil

    from gdl_studio.core import registry
    from gdl_studio.ui.dream.panel import DreamPanel
    from gdl_studio.ui.settings import Settings

    root = tmp_path / "models"
    for name in ("carracing-vae", "carracing-mdnrnn", "carracing-controller", "carracing-controller-dream"):
        shutil.copytree(models_root / name, root / name)  # no carracing-vae-v2 / carracing-mdnrnn-v2
    monkeypatch.setattr(registry, "_default", registry.Registry(roots=[root]))
    panel = DreamPanel(engine, Settings())
    qtbot.addWidget(panel)
    panel.playback.fps = 400.0
    try:
        panel.show()
        qtbot.waitExposed(panel)
        panel.watch_controller("carracing-controller-dream")
        _wait_frames(qtbot, panel, 2, RealFrame)
        assert panel.session.controller_spec is None and panel.controller_combo.currentData() == ""
        assert "carracing-vae-v2, which is not installed" in panel.notice.text()
        assert panel.source.get().cards["carracing-vae"].name == "carracing-vae"
    finally:
        panel.shutdown()


def test_dream_finetuning_starts_from_the_dream_trained_driver(qtbot, registry_at):
    from gdl_studio.ui.shell.training_dock import NewJobDialog

    dialog = NewJobDialog(family="controller")
    qtbot.addWidget(dialog)
    labels = {dialog.base.itemData(i): dialog.base.itemText(i) for i in range(dialog.base.count())}
    assert labels == {
        "carracing-controller": "Shipped controller",
        "carracing-controller-dream": "Dream-trained driver (v2 world)",
    }
    assert dialog.mode.currentData() == "dream"
    assert dialog.base.currentData() == "carracing-controller-dream"
    dialog.mode.setCurrentIndex(dialog.mode.findData("real"))
    assert dialog.base.currentData() == "carracing-controller"
    # once the person picks a start, switching the mode leaves it alone
    index = dialog.base.findData("carracing-controller")
    dialog.mode.setCurrentIndex(dialog.mode.findData("dream"))
    dialog.base.setCurrentIndex(index)
    dialog.base.activated.emit(index)
    dialog.mode.setCurrentIndex(dialog.mode.findData("real"))
    dialog.mode.setCurrentIndex(dialog.mode.findData("dream"))
    assert dialog.base.currentData() == "carracing-controller"
    assert dialog.spec().base == "carracing-controller"


def test_the_dialog_offers_each_modes_defaults_and_the_real_check(qtbot, registry_at):
    """Generations and rollouts follow the mode (racing.finetune_options, their one place); the
    real-game check is a dream run's option and reaches the job."""
    from gdl_studio.racing.finetune_options import defaults
    from gdl_studio.ui.shell.training_dock import NewJobDialog

    dialog = NewJobDialog(family="controller")
    qtbot.addWidget(dialog)
    dialog.show()
    dream, real = defaults("dream"), defaults("real")
    assert dream["generations"] != real["generations"] and dream["rollouts"] != real["rollouts"]
    spec = dialog.spec()
    for key in ("generations", "rollouts", "tau", "population", "real_check_tracks"):
        assert spec.options[key] == dream[key], key
    assert dialog.check_tracks.isVisible() and dialog.tau.isVisible()
    dialog.check_tracks.setValue(16)
    assert dialog.spec().options["real_check_tracks"] == 16
    dialog.mode.setCurrentIndex(dialog.mode.findData("real"))
    spec = dialog.spec()
    assert (spec.options["generations"], spec.options["rollouts"]) == (real["generations"], real["rollouts"])
    assert "real_check_tracks" not in spec.options and not dialog.check_tracks.isVisible()
    assert not dialog.tau.isVisible()
    dialog.family.setCurrentIndex(dialog.family.findData("music"))
    assert dialog.epochs.value() == 10 and not dialog.check_tracks.isVisible()


def test_dream_finetune_of_the_dream_driver_runs_in_its_world(registry_at, monkeypatch):
    """The fine-tune dreams in M v2 and the personal result keeps the world."""
    from gdl_studio.core.finetuning import FinetuneSpec
    from gdl_studio.core.personal import personal_models
    from gdl_studio.racing import finetune

    seen = {}
    real_init = finetune.DreamEvaluator.__init__

    def spy(self, world, *a, **k):
        seen["vae"] = world.cards["carracing-vae"].name
        seen["mdn"] = world.cards["carracing-mdnrnn"].name
        real_init(self, world, *a, **k)

    monkeypatch.setattr(finetune.DreamEvaluator, "__init__", spy)

    class Control:
        def checkpoint(self):
            pass

    spec = FinetuneSpec(
        family="controller",
        base="carracing-controller-dream",
        inputs=[],
        name="my-dream-tune",
        options={
            "generations": 1,
            "population": 2,
            "rollouts": 1,
            "max_steps": 10,
            "valid_rollouts": 1,
            "real_check_tracks": 0,
        },
    )
    out = finetune.finetune(spec, lambda p: None, Control())
    assert seen == {"vae": "carracing-vae-v2", "mdn": "carracing-mdnrnn-v2"}
    (card,) = [c for c in personal_models("world-model/controller") if c.name == out["name"]]
    assert card.data["world"]["vae"] == "carracing-vae-v2"


@pytest.mark.parametrize("kind", ["mlp", "gated"])
def test_an_imitation_trained_mlp_driver_drives_in_the_panel_but_is_no_finetuning_start(
    qtbot, engine, models_root, tmp_path, monkeypatch, kind
):
    """A controller of the MLP kind (carracing-controller-distilled), or of the gated kind (an MLP driver with a
    recovery expert behind a gate), is in the Driver list and drives the real game and the dream; the training
    dock does not offer it as a start (CMA-ES searches linear ones only)."""
    import shutil

    from gdl_studio.core import registry
    from gdl_studio.jobs.dream import resolve_controller
    from gdl_studio.racing.controller import GatedController, MLPController, mlp_param_count, pack_gated
    from gdl_studio.racing.models_io import save_controller
    from gdl_studio.ui.dream.panel import DreamPanel
    from gdl_studio.ui.settings import Settings
    from gdl_studio.ui.shell.training_dock import NewJobDialog

    root = tmp_path / "models"
    shutil.copytree(models_root, root)
    rng = np.random.default_rng(5)
    params = rng.normal(0, 0.1, mlp_param_count(8))
    if kind == "gated":  # the gate opens on the real game's first frames (the zoom-in's grass) and stays open
        params = pack_gated(
            params, rng.normal(0, 0.1, mlp_param_count(4)), off=0.9, back=1.0, enter=1, leave=1, start=0
        )
    save_controller(params, root, {"display_name": "Imitation-trained driver (MLP)"}, name="mlp-driver")
    monkeypatch.setattr(registry, "_default", registry.Registry(roots=[root]))

    dialog = NewJobDialog(family="controller")
    qtbot.addWidget(dialog)
    offered = [dialog.base.itemData(i) for i in range(dialog.base.count())]
    assert "mlp-driver" not in offered and "carracing-controller" in offered

    panel = DreamPanel(engine, Settings())
    qtbot.addWidget(panel)
    panel.playback.fps = 400.0
    try:
        labels = [panel.controller_combo.itemText(i) for i in range(panel.controller_combo.count())]
        assert "Imitation-trained driver (MLP)" in labels
        panel.show()
        qtbot.waitExposed(panel)
        panel.watch_controller("mlp-driver")
        _wait_frames(qtbot, panel, 2, RealFrame)
        assert panel.active_model() == "carracing-vae + mdnrnn, mlp-driver"
        assert panel.session.controller_spec == "mlp-driver"
        driver, name, _ = resolve_controller(panel.session.controller_spec, panel.source.get())
        assert isinstance(driver, MLPController if kind == "mlp" else GatedController) and name == "mlp-driver"
        # the gated driver's expert has taken over (off 0.9, no start frames) and the panel says so
        _wait_frames(qtbot, panel, 3, RealFrame)
        assert panel.last_frame().recovering == (kind == "gated")
        assert panel.driver_label.text() == ("RECOVERING" if kind == "gated" else "AGENT DRIVES")
        panel.set_mode("dream")
        _wait_frames(qtbot, panel, 3, DreamFrame)
    finally:
        panel.shutdown()
