#!/usr/bin/env bash
# Issue #13 point 5 on the device's 16 cores (session 39): the shipped driver against the gated driver whose
# recovery expert is switched in by the road gate (gdl_studio.racing.controller.RoadGate), on the 512 fresh selection
# tracks, by the rule declared before scoring (resources/logs/world-model-v2/2026-12-07-pixel-gate/README.md).
#   bash scripts/gpu/pixel_gate.sh select     # both drivers, one call of racing_value_equiv.py score (about 6 min)
# Run from the repository root with .whl/ and the exported candidate ($CANDIDATE, default
# runs/pixel-valid-model/carracing-controller-distilled) carried; everything lands in $OUT.
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out} SELECT=${SELECT:-512} SELECT_FIRST=${SELECT_FIRST:-6003712}
CANDIDATE=${CANDIDATE:-runs/pixel-valid-model/carracing-controller-distilled}
prepare_once > /dev/null 2>&1 || exit 1
export PYTHONPATH=/tmp/site:$PWD
python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks "$SELECT" \
  --workers 16 models/carracing-controller-distilled "$CANDIDATE" > "$OUT/select.json" 2> "$OUT/select.log"
tail -n 3 "$OUT/select.log"
