"""Ship a value-equivalence round (issue #13): its M (``carracing-mdnrnn-vN``) and, from round 4 on, its dream driver.

    python3 scripts/racing_ship_ve.py 3   # session 20: carracing-mdnrnn-v3 (its driver, shipped then, is in its log)
    python3 scripts/racing_ship_ve.py 4   # session 21: carracing-mdnrnn-v4 and carracing-controller-dream

Each round's M is the previous M with the mixture and reward heads that ``scripts/racing_value_equiv.py
train`` refitted (kept in the round's log folder in fp32); it is written in fp16 after
``ship.fp16_record``. The dream driver found by dream CMA-ES in that world (also in the log folder)
replaces ``carracing-controller-dream``, its card naming the world it drives with and the real scores
measured after training. ``train world-model ship`` would also write a copy of V, which is unchanged,
so this does the two models by hand with the same checks and card fields.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio
from gdl_studio.core.registry import load_tensors, read_card, save_model
from gdl_studio.racing.models_io import build, half_state
from gdl_studio.racing.ship import fp16_record, replace_model

LOGS = "resources/logs/world-model-v2"
ROUNDS = {
    3: {
        "log": f"{LOGS}/2026-12-05-value-equivalence",
        "mdn": "mdnrnn-ve3",
        "init": "carracing-mdnrnn-v2",
        "data": "real returns of 49 controllers around carracing-controller-dream (fidelity.controller_set seed 1) "
        "on 8 tracks from 8,000,000 (376,506 env steps); validation: 33 controllers (seed 2) on 8 tracks "
        "from 8,100,000 (251,818 env steps); dreams start from first frames of tracks 8,200,000… (training) "
        "and 8,300,000… (validation)",
        "test": {"all": 0.525, "working": 0.095, "v2_all": 0.373, "v2_working": -0.162},
        "base": "controller-session19",
    },
    4: {
        "log": f"{LOGS}/2026-12-05-value-equivalence-r2",
        "mdn": "mdnrnn-ve4",
        "init": "carracing-mdnrnn-v3",
        "data": "real returns of 49 controllers around session 20's carracing-controller-dream "
        "(fidelity.controller_set seed 1) on 8 tracks from 8,000,000 (390,860 env steps); validation: 33 "
        "controllers (seed 2) on 8 tracks from 8,100,000 (263,289 env steps); dreams start from first frames "
        "of tracks 8,200,000… (training) and 8,300,000… (validation)",
        "test": {"all": 0.680, "working": 0.403, "v2_all": 0.373, "v2_working": -0.162},
        "base": "controller-session20",
        "driver": {
            "src": "controller-g110",
            "init": "carracing-controller-dream (session 20)",
            "bench": "bench-controller-g110-100.json",
            "bench_other": "bench-controller-g110-100-seed7000000.json",
            "score32": "score-32-snapshots-vs-base.json",
            "score32_row": "gen00110",
            "selection": "the CMA-ES mean at generation 110 of 179 (0 real steps); chosen among the final mean and the "
            "means at generations 60, 100, 110, 120, 130 and 140 by their real returns on 32 validation tracks "
            "from 6,000,000 (224 real episodes, used for this choice only)",
        },
    },
}


def ship_mdn(n: int, cfg: dict) -> dict:
    log = cfg["log"]
    src = read_card(Path(log) / cfg["mdn"])
    prev = read_card(Path(f"models/{cfg['init']}")).data
    model = build(src, load_tensors(src))
    check = fp16_record(model, "mdn")
    if not check["passed"]:
        raise SystemExit(f"M v{n}'s fp16 copy differs from fp32 beyond tolerance: {check['max_abs_diff']}")
    ve = src.data["value_equivalence"]
    args = ve["args"]
    metrics: dict = {"value_equivalence_selected": ve["selected"]}
    if cfg["test"]:
        metrics["test_rank_corr_256_dreams_24_tracks"] = cfg["test"]
    metrics["log"] = log
    base = f"{log}/{cfg['base']}"
    card = {
        "name": f"carracing-mdnrnn-v{n}",
        "family": prev["family"],
        "data": {
            **{k: v for k, v in prev["data"].items() if k not in ("value_equivalence", "init", "init_sha256")},
            "value_equivalence": cfg["data"],
            "init": cfg["init"],
            "init_sha256": prev["sha256"],
        },
        "split": "LSTM and episode-end head: M v2's (every 20th episode held out); heads: training controllers "
        "(seed 1) vs validation controllers (seed 2) on their own tracks; the bench's controllers (seed 0) "
        "and tracks are never used",
        "architecture": prev["architecture"],
        "training": {
            **{k: v for k, v in prev["training"].items() if k != "value_equivalence"},
            "value_equivalence": {
                "trained": "mixture and reward heads only (LSTM and episode-end head frozen: every controller's "
                "real return is unchanged)",
                "loss": f"per batch of {args['batch_controllers']} training controllers x {args['dreams']} dreams of "
                f"{int(args['steps']):,} steps (tau {args['tau']}): squared error of "
                "the spread of mean dream returns against the spread of real means, + 0.2 x the level, in units of "
                f"100; L2 pull to the {cfg['init'].rsplit('-', 1)[-1]} heads (weight 1); straight-through "
                "Gumbel-softmax component, reparameterised Gaussian, truncated backpropagation every 100 steps; "
                "common random numbers",
                "optimizer": f"Adam lr {float(args['lr']):.0e}".replace("e-0", "e-")
                + f", {args['iters']} iterations, gradient norm clipped at 1",
                "selection": "the iteration with the best validation rank correlation among working drivers "
                "(real >= 300)",
            },
        },
        "metrics": metrics,
        "training_command": src.data["training_command"],
        "training_command_to_repeat": src.data["training_command"] + f" --base {base}",
        "real_data_commands": [
            f"python3 scripts/racing_value_equiv.py real --set train --base {base}",
            f"python3 scripts/racing_value_equiv.py real --set valid --controllers 33 --base {base}",
        ],
        "fp16_check": check,
        "dtype": "float16",
        "ship_command": f"python3 scripts/racing_ship_ve.py {n}",
    }
    m = save_model(Path(f"models/carracing-mdnrnn-v{n}"), half_state(model), card)
    print(f"M v{n}", m.data["sha256"], m.data["size_bytes"])
    return m.data


def ship_driver(n: int, cfg: dict, m: dict) -> None:
    log, d = cfg["log"], cfg["driver"]
    c = read_card(Path(log) / d["src"])
    old = read_card(Path(log) / cfg["base"]).data  # the dream driver this one replaces, its CMA-ES start

    def stock(name: str) -> dict:
        bench = json.load(open(f"{log}/{name}"))
        keys = ("mean", "std", "min")
        return {
            **{k: round(bench[f"score.{k}"], 2) for k in keys},
            "share_below_800": bench["score.share_below_800"],
            "first_seed": bench["score.first_seed"],
        }

    score32 = json.load(open(f"{log}/{d['score32']}"))
    rows = dict(zip(score32["controllers"], score32["returns"], strict=True))
    r32 = np.asarray(next(v for k, v in rows.items() if k.endswith(d["score32_row"])))
    data = {k: v for k, v in c.data.items() if k not in ("weights", "sha256", "size_bytes", "name")}
    data["name"] = "carracing-controller-dream"
    data["display_name"] = old["display_name"]
    data["task"] = old["task"]
    data["data"] = {**data["data"], "mdn_sha256": m["sha256"], "mdn_trained_sha256": c.data["data"]["mdn_sha256"]}
    data["metrics"] = {
        **data["metrics"],
        "selection": d["selection"],
        "stock_score_100_episodes": stock(d["bench"]),
        "stock_score_100_other_tracks": stock(d["bench_other"]),
        "real_32_tracks_from_6000000": {
            "mean": round(float(r32.mean()), 2),
            "std": round(float(r32.std()), 2),
            "base_mean": round(float(np.mean(score32["base"])), 2),
        },
    }
    data["init"] = {"controller": d["init"], "sha256": old["sha256"]}
    data["world"] = {
        "vae": "carracing-vae-v2",
        "mdn": f"carracing-mdnrnn-v{n}",
        "vae_sha256": read_card(Path("models/carracing-vae-v2")).data["sha256"],
        "mdn_sha256": m["sha256"],
    }
    data["log"] = log
    data["ship_command"] = f"python3 scripts/racing_ship_ve.py {n}"
    tensors = load_tensors(c)
    new = replace_model(Path("models"), "carracing-controller-dream", tensors, data)  # written aside, swapped in
    print("controller", new.data["sha256"], new.data["metrics"]["stock_score_100_episodes"])


def main(argv: list[str]) -> int:
    if len(argv) != 1 or int(argv[0]) not in ROUNDS:
        raise SystemExit(f"usage: racing_ship_ve.py {{{','.join(map(str, ROUNDS))}}}")
    n = int(argv[0])
    cfg = ROUNDS[n]
    m = ship_mdn(n, cfg)
    if "driver" in cfg:
        ship_driver(n, cfg, m)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
