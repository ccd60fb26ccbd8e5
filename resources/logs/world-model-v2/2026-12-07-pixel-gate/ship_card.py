"""Ship round 5's gated driver as ``models/carracing-controller-distilled`` (it passed the declared selection rule):
the exported model folder copied over the shipped one, its card completed with the validation and selection figures,
both test sets' stock scores (``gdl-studio bench racing --json`` output), the compute and the driver it replaces.

    D=resources/logs/world-model-v2/2026-12-07-pixel-gate
    python $D/ship_card.py runs/enter-model/carracing-controller-distilled \
        runs/test-runs-enter-model-1000000.json runs/test-runs-enter-model-7000000.json
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


def selection_rows(r: np.ndarray) -> dict:
    """The selection's two rows (shipped driver first, candidate second) as the card states them."""
    return {
        label: f"{row.mean():.1f} ± {row.std():.1f}, min {row.min():.1f}, {int((row < 800).sum())} under 800"
        for label, row in (("shipped before", r[0]), ("this driver", r[1]))
    }


def install(src: Path, card: dict) -> None:
    """The exported model's weights copied over the shipped ones, and its completed card written beside them."""
    dest = MODELS / NAME
    shutil.copy(src / f"{NAME}.safetensors", dest / f"{NAME}.safetensors")
    (dest / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"shipped {dest}: {card['metrics']['stock_score_100_episodes']} / "
        f"{card['metrics']['stock_score_100_episodes_7000000']}"
    )


def main() -> int:
    src, test_a, test_b = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    old = json.loads((MODELS / NAME / "card.json").read_text())
    card = json.loads((src / "card.json").read_text())
    select = json.loads((HERE / "select-6005008.json").read_text())
    r = np.asarray(select["returns"], float)
    sel = {
        "tracks": "6,005,008–6,005,519 (512, new to every run; rule declared in README.md before scoring)",
        "measured_by": "SELECT_FIRST=6005008 CANDIDATE=… bash scripts/gpu/pixel_gate.sh select (16 workers)",
        "rule": "replaces the shipped driver only with fewer episodes under 800, a smaller std and a mean at most 2.0 "
        "below",
    }
    sel |= selection_rows(r)
    metrics = card["metrics"]
    card["metrics"] = {
        "stock_score_100_episodes": stock(test_a, 1_000_000),
        "stock_score_100_episodes_7000000": stock(test_b, 7_000_000),
        "selection": sel,
        "validation": next(iter(metrics.values())),  # the sweep's log (rule 1)
        "runs": metrics,
        "real_env_steps_during_training": {
            "driver": old["metrics"]["real_env_steps_during_training"],
            "expert, session 37's 3 rounds (runs/recover-expert)": "not logged; at most 96,000 (96 episodes)",
            "expert, 3 rounds under the road gate (runs/teach-road)": 345_342,
        },
        "gpu_seconds": 0,
        "device_cpu": "the expert's rounds 178 s, the validation sweep 109 s, the selection 205 s on a lent machine's "
        "16 cores (no GPU work)",
        "previous_driver": {
            "sha256": old["sha256"],
            "display_name": old["display_name"],
            "stock_score_100_episodes": old["metrics"]["stock_score_100_episodes"],
            "stock_score_100_episodes_7000000": old["metrics"]["stock_score_100_episodes_7000000"],
        },
    }
    if "dream_road" in old["metrics"]:  # the batched dream has no frames for the gate: the road driver drives there
        card["metrics"]["dream_road"] = old["metrics"]["dream_road"] | {
            "note": "measured for the road driver, which drives the batched dreams alone (no frame for the gate)"
        }
    install(src, card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
