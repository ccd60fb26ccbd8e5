#!/usr/bin/env bash
# Issue #13 point 5 on the device's 16 cores (session 39): the shipped driver against the gated driver whose
# recovery expert is switched in by the road gate (gdl_studio.racing.controller.RoadGate), on the 512 fresh selection
# tracks, by the rule declared before scoring (resources/logs/world-model-v2/2026-12-07-pixel-gate/README.md).
#   bash scripts/gpu/pixel_gate.sh select     # both drivers, one call of racing_value_equiv.py score (about 2.5 min)
#   bash scripts/gpu/pixel_gate.sh teach      # the expert taught 3 more rounds under the road gate, the validation
#                                              # sweep, the export (detached: poll $OUT/teach.txt; runs/recover-expert
#                                              # carried)
# Run from the repository root with .whl/ and the exported candidate ($CANDIDATE, default
# runs/pixel-valid-model/carracing-controller-distilled) carried; everything lands in $OUT.
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out} SELECT=${SELECT:-512} SELECT_FIRST=${SELECT_FIRST:-6003776}
CANDIDATE=${CANDIDATE:-runs/pixel-valid-model/carracing-controller-distilled}
prepare_once > /dev/null 2>&1 || exit 1
export PYTHONPATH=/tmp/site:$PWD
if [ "${1:-select}" = teach ]; then
  G=pixels:0.2:0.5:10:50
  python3 scripts/racing_recover.py --continue-from runs/recover-expert --teach-gate $G --teach-departures 0.5 \
    --out runs/teach-road --rounds 3 --tracks 128 --first 9910000 --valid 16 --valid-first 6004288 --batch 4 \
    --workers 16 > "$OUT/teach.txt" 2>&1 &&
  python3 scripts/racing_recover.py --sweep runs/teach-road --out runs/teach-road-valid --valid 64 \
    --valid-first 6004304 --valid-departures 32 --gates $G --workers 16 >> "$OUT/teach.txt" 2>&1 &&
  python3 scripts/racing_recover.py --out runs/teach-road-valid --export runs/teach-road-model \
    --road-gate 0.2:0.5:10:50 >> "$OUT/teach.txt" 2>&1
  cp runs/teach-road/log.jsonl "$OUT/teach-log.jsonl"; cp runs/teach-road-valid/log.jsonl "$OUT/teach-valid-log.jsonl"
  cp -r runs/teach-road-model "$OUT/" 2>/dev/null; echo done >> "$OUT/teach.txt"
  exit 0
fi
python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks "$SELECT" \
  --workers 16 models/carracing-controller-distilled "$CANDIDATE" > "$OUT/select.json" 2> "$OUT/select.log"
tail -n 3 "$OUT/select.log"
