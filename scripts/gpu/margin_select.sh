#!/usr/bin/env bash
# Session 41 (rules declared in resources/logs/world-model-v2/2026-12-07-margin-driver/README.md before scoring): the
# shipped driver and two candidates (runs/cand-a, runs/cand-b: the alat-90 road driver inside the gated controller)
# on 512 fresh selection tracks; a candidate passes with a smaller std, a mean at most 2.0 below and no more episodes
# under 800; of two that pass, the smaller std. Only the chosen one drives the two test sets (100 stock episodes
# each). Detached; poll $OUT/margin.txt for "done". Run from the repository root with .whl/ and runs/cand-* carried.
# Never run: the lent machine refused all four calls of session 41, so the same `score` command ran on this machine's 2
# cores (--workers 2; the log folder's README gives it).
# Session 43 (2026-12-07-more-runs-2/README.md) called it for one candidate on the tracks it declared, and was refused
# too; the same `score` command and `spread_rule` ran on 2 cores:
#   CANDS=runs/mr2/cand-e/carracing-controller-distilled SELECT_FIRST=6009296 bash scripts/gpu/margin_select.sh
# Session 45 (2026-12-08-doubt/README.md) called it for the two governed candidates and was refused as well; the same
# `score` command and `spread_rule` ran on 2 cores:
#   CANDS="runs/gov/cand-g15/carracing-controller-distilled runs/gov/cand-g10/carracing-controller-distilled" \
#     SELECT_FIRST=6010320 bash scripts/gpu/margin_select.sh
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out} S=models/carracing-controller-distilled SELECT_FIRST=${SELECT_FIRST:-6007248}
CANDS=${CANDS:-runs/cand-a/carracing-controller-distilled runs/cand-b/carracing-controller-distilled}
prepare_once > /dev/null 2>&1 || { echo "setup failed"; echo done; exit 1; }
export PYTHONPATH=/tmp/site:$PWD
python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks 512 --workers 16 $S $CANDS \
  > "$OUT/select.json" 2> "$OUT/select.log"
echo "selected"; tail -4 "$OUT/select.log"
CHOSEN=$(spread_rule "$OUT/select.json" $CANDS)  # the declared rule (common.sh)
echo "chosen: $CHOSEN"
if [ "$CHOSEN" != none ]; then
  for base in 1000000 7000000; do
    python3 -m gdl_studio bench racing --episodes 100 --seed-base $base --workers 16 --controller "$CHOSEN" --json \
      > "$OUT/test-$base.json" 2> "$OUT/test-$base.log"
  done
  echo "tested"
fi
echo done
