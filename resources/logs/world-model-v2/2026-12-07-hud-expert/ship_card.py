"""Ship the HUD expert's gated driver as ``models/carracing-controller-distilled`` if it passed round 2's declared
rules (README.md): the exported folder copied over the shipped one, its card completed with the validation, the
take-the-wheel test, the selection, both test sets' stock scores (``bench racing --json``), the compute and the
driver it replaces.

    D=resources/logs/world-model-v2/2026-12-07-hud-expert
    python $D/ship_card.py runs/hud-model/carracing-controller-distilled runs/takeover.json runs/select2.json \
        runs/test-1000000.json runs/test-7000000.json
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODELS = HERE.parents[3] / "models"
NAME = "carracing-controller-distilled"


def stock(path: Path, base: int, episodes: int = 100) -> dict:
    """A ``bench racing --json`` score (flat keys ``score.*``) as the card keeps it."""
    s = json.loads(path.read_text())
    out = {k: round(float(s[f"score.{k}"]), 2) for k in ("mean", "std", "min", "max", "share_below_800")}
    return out | {
        "first_seed": base,
        "measured_by": f"gdl-studio bench racing --episodes {episodes} --seed-base {base} --workers 2 "
        f"--controller {NAME} --json",
    }


def row(r) -> str:
    r = np.asarray(r, float)
    return f"{r.mean():.1f} ± {r.std():.1f}, min {r.min():.1f}, {int((r < 800).sum())} under 800"


def main() -> int:
    src, takeover, select, test_a, test_b = (Path(a) for a in sys.argv[1:6])
    old = json.loads((MODELS / NAME / "card.json").read_text())
    card = json.loads((src / "card.json").read_text())
    t = json.loads(takeover.read_text())
    s = json.loads(select.read_text())
    shipped_key, new_key = (k for k in t if k.endswith(NAME))
    metrics = card["metrics"]
    card["metrics"] = {
        "stock_score_100_episodes": stock(test_a, 1_000_000),
        "stock_score_100_episodes_7000000": stock(test_b, 7_000_000),
        "take_the_wheel": {
            "tracks": "6,006,096–6,006,159 (64, fresh; rule declared in README.md before scoring)",
            "test": "steps 100–139 hard left with gas 0.3 (a person at the keyboard), then the driver; each episode "
            "alone (takeover.py)",
            "this driver": row(t[new_key]["returns"]),
            "shipped before": row(t[shipped_key]["returns"]),
        },
        "selection": {
            "tracks": "6,006,160–6,006,671 (512, fresh; rule declared in README.md before scoring)",
            "rule": "mean at most 2.0 below the shipped driver's, std at most 2.0 above, at most one more episode "
            "under 800; and a higher mean in the take-the-wheel test",
            "this driver": row(s["returns"][1]),
            "shipped before": row(s["returns"][0]),
        },
        "validation": next(iter(metrics.values())),  # the sweep's log (rule 1 of the first round)
        "runs": metrics,
        "real_env_steps_during_training": {
            "driver": old["metrics"]["real_env_steps_during_training"]["driver"],
            "expert (runs/hud: 5 DAgger rounds under the road gate, from scratch)": 596_701,
        },
        "gpu_seconds": 0,
        "cpu": "the expert's rounds 1,326 s, the validation sweeps about 13 min, on this machine's 2 cores",
        "previous_driver": {
            "sha256": old["sha256"],
            "display_name": old["display_name"],
            "stock_score_100_episodes": old["metrics"]["stock_score_100_episodes"],
            "stock_score_100_episodes_7000000": old["metrics"]["stock_score_100_episodes_7000000"],
        },
    }
    if "dream_road" in old["metrics"]:
        card["metrics"]["dream_road"] = old["metrics"]["dream_road"]
    dest = MODELS / NAME
    shutil.copy(src / f"{NAME}.safetensors", dest / f"{NAME}.safetensors")
    (dest / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"shipped {dest}: {card['metrics']['stock_score_100_episodes']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
