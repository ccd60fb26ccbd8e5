#!/usr/bin/env bash
# Session 40, round 2 (rules declared in resources/logs/world-model-v2/2026-12-07-hud-expert/README.md): the
# take-the-wheel test on 64 fresh tracks, the stock score on 512 fresh selection tracks, and, only if both rules hold,
# the candidate's 100 stock episodes on each test set. Detached; poll $OUT/round2.txt for "done".
# Run from the repository root with .whl/ and runs/hud-model carried. Round 3: CANDIDATE=runs/hud-model15 FRESH=1
# T_FIRST=6006672 SELECT_FIRST=6006736.
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out} C=${CANDIDATE:-runs/hud-model}/carracing-controller-distilled S=models/carracing-controller-distilled
T_FIRST=${T_FIRST:-6006096} SELECT_FIRST=${SELECT_FIRST:-6006160}
L=resources/logs/world-model-v2/2026-12-07-hud-expert
prepare_once > /dev/null 2>&1 || { echo "setup failed"; echo done; exit 1; }
export PYTHONPATH=/tmp/site:$PWD
if [ -z "${FRESH:-}" ] && [ -f runs/takeover.json ]; then  # driven before (on this machine's CPU) and carried
  cp runs/takeover.json "$OUT/takeover.json"; echo "takeover carried"
else
  python3 $L/takeover.py --first "$T_FIRST" --tracks 64 --workers 16 $S $C > "$OUT/takeover.json" 2> "$OUT/takeover.log"
  echo "takeover"; tail -2 "$OUT/takeover.log"
fi
python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks 512 --workers 16 $S $C \
  > "$OUT/select2.json" 2> "$OUT/select2.log"
echo "selected"; tail -3 "$OUT/select2.log"
PASS=$(python3 - "$OUT/takeover.json" "$OUT/select2.json" "$S" "$C" <<'PY'
import json, sys
import numpy as np
t = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
a, b = (np.asarray(r, float) for r in s["returns"])
r1 = t[sys.argv[4]]["mean"] > t[sys.argv[3]]["mean"]
r2 = b.mean() >= a.mean() - 2.0 and b.std() <= a.std() + 2.0 and (b < 800).sum() <= (a < 800).sum() + 1
print("yes" if r1 and r2 else "no")
PY
)
echo "rules: $PASS"
if [ "$PASS" = yes ]; then
  for base in 1000000 7000000; do
    python3 -m gdl_studio bench racing --episodes 100 --seed-base $base --workers 16 --controller $C --json \
      > "$OUT/test-$base.json" 2> "$OUT/test-$base.log"
  done
  echo "tested"
fi
echo done
