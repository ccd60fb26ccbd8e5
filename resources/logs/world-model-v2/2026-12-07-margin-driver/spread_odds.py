"""How likely a driver meets point 5's 906 ± ≤ 30 on a random set of 100 tracks: its returns on fresh 512-track
selection sets (the selection's fast renderer) pooled, and 100-track sets drawn from them with replacement (20,000
draws, seed 0). The driver shipped in sessions 39–41 on the six sets of sessions 40–41 (3,072 tracks); candidate C,
shipped after them, on its one selection set (512 tracks); C and candidate D (session 42) on D's selection set; D
on both its selection set and session 43's (1,024 tracks); candidate E (session 43) on its one selection set; E on
session 44's selection set (fresh tracks it was not chosen on), and session 44's candidate F there.

    python resources/logs/world-model-v2/2026-12-07-margin-driver/spread_odds.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LOGS = Path(__file__).resolve().parents[1]
SETS = [
    "2026-12-07-hud-expert/select-6005584.json",
    "2026-12-07-hud-expert/select-6006160.json",
    "2026-12-07-hud-expert/select-6006736.json",
    "2026-12-07-margin-driver/select-6007248.json",
    "2026-12-07-margin-driver/pair-select-6007760.json",  # probe_pair.py's output: {"returns": {name: {seed: R}}}
    "2026-12-07-margin-driver/select-6008272.json",
]
SHIPPED = "models/carracing-controller-distilled"  # in these files: the driver shipped before candidate C
CANDIDATE_C = ("2026-12-07-margin-driver/select-6008272.json", "runs/cand-c/carracing-controller-distilled")
SESSION_42 = ("2026-12-07-more-runs/select-6008784.json", "/work/main/runs/mr/cand-d/carracing-controller-distilled")
SESSION_43 = ("2026-12-07-more-runs-2/select-6009296.json", "runs/mr2/cand-e/carracing-controller-distilled")
SESSION_44 = ("2026-12-07-seen-horizon/select-6009808.json", "/work/main/runs/vh/cand-f/carracing-controller-distilled")


def odds(label: str, r: np.ndarray) -> None:
    """The pooled figure and the bootstrap odds of 100-track sets, printed."""
    print(
        f"{label} pooled over {r.size}: {r.mean():.1f} ± {r.std():.1f}, min {r.min():.1f}, "
        f"{100 * (r < 800).mean():.2f} % under 800"
    )
    draws = r[np.random.default_rng(0).integers(0, r.size, (20_000, 100))]
    mean, std = draws.mean(1), draws.std(1)
    print(
        f"  100-track sets: median std {np.median(std):.1f}; P(std ≤ 30) {(std <= 30).mean():.3f}; "
        f"P(mean ≥ 906) {(mean >= 906).mean():.3f}; P(both) {((std <= 30) & (mean >= 906)).mean():.3f}"
    )


def returns_of(rel: str, name: str) -> np.ndarray:
    """Driver ``name``'s returns in the ``racing_value_equiv.py score`` file ``rel``."""
    s = json.loads((LOGS / rel).read_text())
    return np.asarray(s["returns"][s["controllers"].index(name)], float)


def main() -> int:
    parts = []
    for rel in SETS:
        s = json.loads((LOGS / rel).read_text())
        if "controllers" in s:  # racing_value_equiv.py score
            r = returns_of(rel, SHIPPED)
        else:
            r = np.asarray([v for _, v in sorted(s["returns"]["shipped"].items(), key=lambda kv: int(kv[0]))])
        print(f"{rel}: {r.mean():.1f} ± {r.std():.1f}, {(r < 800).sum()} of {r.size} under 800")
        parts.append(r)
    odds("the driver shipped before C", np.concatenate(parts))
    odds("candidate C", returns_of(*CANDIDATE_C))
    d42 = returns_of(*SESSION_42)  # C shipped, then D, on D's selection set
    odds("C on session 42's selection set", returns_of(SESSION_42[0], SHIPPED))
    odds("D", d42)
    d43 = returns_of(SESSION_43[0], SHIPPED)  # D shipped, then E, on E's selection set
    odds("D on session 43's selection set", d43)
    odds("D on both its own and session 43's selection sets", np.concatenate([d42, d43]))
    e43 = returns_of(*SESSION_43)
    odds("E", e43)
    e44 = returns_of(SESSION_44[0], SHIPPED)  # E shipped; session 44's candidates on fresh tracks
    odds("E on session 44's selection set", e44)
    odds("E on both its own and session 44's selection sets", np.concatenate([e43, e44]))
    odds("candidate F (session 44)", returns_of(*SESSION_44))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
