"""Ship the value-equivalence world of session 20 (issue #13): ``carracing-mdnrnn-v3`` and the dream driver.

    python3 scripts/racing_ship_v3.py

M v3 is M v2 with the mixture and reward heads that ``scripts/racing_value_equiv.py train`` fitted
(kept in the session's log folder in fp32); it is written in fp16 after ``ship.fp16_record``. The
dream driver found by dream CMA-ES in that world (also in the log folder) replaces
``carracing-controller-dream``, its card naming the world it drives with (V v2 + M v3) and the real
scores measured after training. ``train world-model ship`` would also write a copy of V, which is
unchanged, so this does the two models by hand with the same checks and card fields.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio
from gdl_studio.core.registry import load_tensors, read_card, save_model
from gdl_studio.racing.models_io import build, half_state
from gdl_studio.racing.ship import fp16_record

LOG = "resources/logs/world-model-v2/2026-12-05-value-equivalence"
src = read_card(Path(LOG) / "mdnrnn-ve3")
v2 = read_card(Path("models/carracing-mdnrnn-v2")).data
model = build(src, load_tensors(src))
check = fp16_record(model, "mdn")
if not check["passed"]:
    raise SystemExit(f"M v3's fp16 copy differs from fp32 beyond tolerance: {check['max_abs_diff']}")
ve = src.data["value_equivalence"]
sel = ve["selected"]
card = {
    "name": "carracing-mdnrnn-v3",
    "family": v2["family"],
    "data": {
        **v2["data"],
        "value_equivalence": (
            "real returns of 49 controllers around carracing-controller-dream (fidelity.controller_set seed 1) "
            "on 8 tracks from 8,000,000 (376,506 env steps); validation: 33 controllers (seed 2) on 8 tracks "
            "from 8,100,000 (251,818 env steps); dreams start from first frames of tracks 8,200,000… (training) "
            "and 8,300,000… (validation)"
        ),
        "init": "carracing-mdnrnn-v2",
        "init_sha256": v2["sha256"],
    },
    "split": "LSTM and episode-end head: M v2's (every 20th episode held out); heads: training controllers "
    "(seed 1) vs validation controllers (seed 2) on their own tracks; the bench's controllers (seed 0) "
    "and tracks are never used",
    "architecture": v2["architecture"],
    "training": {
        **v2["training"],
        "value_equivalence": {
            "trained": "mixture and reward heads only (LSTM and episode-end head frozen: every controller's "
            "real return is unchanged)",
            "loss": "per batch of 16 training controllers x 8 dreams of 1,000 steps (tau 1.0): squared error of "
            "the spread of mean dream returns against the spread of real means, + 0.2 x the level, in units of "
            "100; L2 pull to the v2 heads (weight 1); straight-through Gumbel-softmax component, "
            "reparameterised Gaussian, truncated backpropagation every 100 steps; common random numbers",
            "optimizer": "Adam lr 1e-4, 150 iterations, gradient norm clipped at 1",
            "selection": "the iteration with the best validation rank correlation among working drivers (real >= 300)",
        },
    },
    "metrics": {
        "value_equivalence_selected": sel,
        "test_rank_corr_256_dreams_24_tracks": {"all": 0.525, "working": 0.095, "v2_all": 0.373, "v2_working": -0.162},
        "log": LOG,
    },
    "training_command": src.data["training_command"],
    "training_command_to_repeat": src.data["training_command"] + f" --base {LOG}/controller-session19",
    "real_data_commands": [
        f"python3 scripts/racing_value_equiv.py real --set train --base {LOG}/controller-session19",
        f"python3 scripts/racing_value_equiv.py real --set valid --controllers 33 --base {LOG}/controller-session19",
    ],
    "fp16_check": check,
    "dtype": "float16",
    "ship_command": "python3 scripts/racing_ship_v3.py",
}
m = save_model(Path("models/carracing-mdnrnn-v3"), half_state(model), card)
print("M v3", m.data["sha256"], m.data["size_bytes"])

c = read_card(Path(LOG) / "controller-ve3")
# the dream driver this one replaces (session 19's), whose CMA-ES start it was
OLD = {
    "display_name": "Dream-trained driver",
    "task": "drive CarRacing-v3 through V and M (Dream panel); trained only inside M's dream",
    "sha256": "c8858553b17abaa604387579af726e1a03815d4e764db1309fad87b20d108334",
    "vae_sha256": "a6318ff01c3e4818fb6378faa9275ce02b6ba1f7b56776e53629252471ad4952",
}
bench = json.load(open(f"{LOG}/bench-controller-ve3-100.json"))
score32 = json.load(open(f"{LOG}/score-32-ve3-vs-base.json"))
r32 = np.asarray(score32["returns"][1])
data = {k: v for k, v in c.data.items() if k not in ("weights", "sha256", "size_bytes")}
data["display_name"] = OLD["display_name"]
data["task"] = OLD["task"]
data["data"] = {**data["data"], "mdn_sha256": m.data["sha256"], "mdn_trained_sha256": c.data["data"]["mdn_sha256"]}
data["metrics"] = {
    **data["metrics"],
    "stock_score_100_episodes": {
        "mean": round(bench["score.mean"], 2),
        "std": round(bench["score.std"], 2),
        "min": round(bench["score.min"], 2),
        "share_below_800": bench["score.share_below_800"],
        "first_seed": bench["score.first_seed"],
    },
    "real_32_tracks_from_6000000": {
        "mean": round(float(r32.mean()), 2),
        "std": round(float(r32.std()), 2),
        "base_mean": round(float(np.mean(score32["returns"][0])), 2),
    },
}
data["init"] = {"controller": "carracing-controller-dream (session 19)", "sha256": OLD["sha256"]}
data["world"] = {
    "vae": "carracing-vae-v2",
    "mdn": "carracing-mdnrnn-v3",
    "vae_sha256": OLD["vae_sha256"],
    "mdn_sha256": m.data["sha256"],
}
data["log"] = LOG
data["ship_command"] = "python3 scripts/racing_ship_v3.py"
tensors = load_tensors(c)
tmp = Path("models/.carracing-controller-dream.new")
shutil.rmtree(tmp, ignore_errors=True)
new = save_model(tmp, tensors, data)
shutil.rmtree("models/carracing-controller-dream")
tmp.rename("models/carracing-controller-dream")
print("controller", new.data["sha256"], new.data["metrics"]["stock_score_100_episodes"])
