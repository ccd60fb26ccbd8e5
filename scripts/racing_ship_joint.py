"""Ship session 31's dream world (issue #13): ``carracing-mdnrnn-v5``, and the dream driver's card naming it.

    python3 scripts/racing_ship_joint.py [REFIT_DIR]   # default runs/mw2/rw-span1-mean-joint/carracing-mdnrnn

M v5 is a ReadMDNRNN (racing/mdn_rnn.py): the LSTM the drivers read is M v4's, bit for bit, so every driver of
M v4's world drives the real game exactly as before; the dream runs on a second LSTM whose mixture is joint over the
whole latent and which was trained on V's means (``train world-model mdn-rnn --mixture joint --latent mean``, from
M v4, on 500 episodes of the dream driver's iterate policy; `scripts/gpu/driver_world.sh`), its reward head then
refitted in closed form (``scripts/racing_value_equiv.py reward``). REFIT_DIR is that refit's output (fp32); it is
written in fp16 after ``ship.fp16_record``. The dream driver's weights do not change: its card's world becomes
V v2 + M v5 (``mdn_trained_sha256`` keeps the M it was trained in).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio
from gdl_studio.core.registry import load_tensors, read_card, save_model
from gdl_studio.racing.models_io import build, half_state
from gdl_studio.racing.ship import fp16_record, replace_model

LOG = "resources/logs/world-model-v2/2026-12-06-joint"
NAME = "carracing-mdnrnn-v5"
DEVICE_COMMAND = (
    "W=/tmp/mw2 DRIVER=carracing-controller-dream EPISODES=500 SEED=5960000 MINUTES=8 "
    'VARIANTS="span1-mean-joint span1-sample-joint span5-mean-joint" bash scripts/gpu/driver_world.sh start 570'
)


def main(argv: list[str]) -> int:
    src_dir = Path(argv[0] if argv else "runs/mw2/rw-span1-mean-joint/carracing-mdnrnn")
    src = read_card(src_dir)
    reader = read_card(Path("models/carracing-mdnrnn-v4")).data
    dreamer = json.loads(Path(f"{LOG}/dreamer-card.json").read_text())
    metrics = json.loads(Path(f"{LOG}/metrics.json").read_text())
    model = build(src, load_tensors(src))
    check = fp16_record(model, "mdn")
    if not check["passed"]:
        raise SystemExit(f"M v5's fp16 copy differs from fp32 beyond tolerance: {check['max_abs_diff']}")
    refit = src.data["reward_refit"]
    card = {
        "name": NAME,
        "family": reader["family"],
        "data": {
            "reader": "carracing-mdnrnn-v4 (the LSTM every driver of its world reads, unchanged)",
            "reader_sha256": reader["sha256"],
            "dreamer": {
                **dreamer["data"],
                "rollout_dir": "500 episodes of `train world-model collect --policy "
                "iterate --controller carracing-controller-dream --agent-share 0.85 --seed 5960000` "
                "(the dream driver with parameter and action noise; 15 % random policies), V v2",
            },
            "reward_refit": "real returns of session 22's controllers around the dream driver: training "
            "resources/logs/world-model-v2/2026-12-05-trust-region/h100/real-train.npz, validation real-valid.npz; "
            "dreams from first frames of tracks 8,200,000… (training) and 8,300,000… (validation)",
            "vae_sha256": reader["data"]["vae_sha256"],
        },
        "split": "dreaming LSTM: every 20th episode held out; reward head: the ridge chosen on the validation "
        "controllers; the bench's controllers (fidelity seed 0) and its tracks were used for nothing but the "
        "figures in metrics.bench_controllers",
        "architecture": {**src.data["architecture"], "seq_len": 300, "reward_clip": [-1.0, 5.0]},
        "training": {
            "dreamer": dreamer["training"],
            "dreamer_command": dreamer["training_command"],
            "dreamer_device_command": DEVICE_COMMAND,
            "dreamer_metrics": {k: v for k, v in dreamer["metrics"].items() if k != "history"},
            "reward_refit": {"selected_ridge": refit["selected_ridge"], "command": src.data["training_command"]},
        },
        "metrics": {**metrics, "log": LOG},
        "training_command": src.data["training_command"],
        "fp16_check": check,
        "dtype": "float16",
        "ship_command": "python3 scripts/racing_ship_joint.py",
    }
    m = save_model(Path(f"models/{NAME}"), half_state(model), card).data
    print("M v5", m["sha256"], m["size_bytes"])

    driver = read_card(Path("models/carracing-controller-dream"))
    data = {k: v for k, v in driver.data.items() if k not in ("weights", "sha256", "size_bytes")}
    data["world"] = {**data["world"], "mdn": NAME, "mdn_sha256": m["sha256"]}
    data["data"] = {**data["data"], "mdn_sha256": m["sha256"]}
    data["world_history"] = (
        "drove with V v2 + M v4 until session 31; M v5 has M v4's reader, so its real game is the same"
    )
    data["world_ship_command"] = "python3 scripts/racing_ship_joint.py"
    data["metrics"] = {k: v for k, v in data["metrics"].items() if k != "dream_road"}  # measured again in M v5
    new = replace_model(Path("models"), "carracing-controller-dream", load_tensors(driver), data)
    print("controller", new.data["sha256"], new.data["world"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
