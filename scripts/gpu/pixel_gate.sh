#!/usr/bin/env bash
# Issue #13 point 5 on the device's 16 cores (session 39): the shipped driver against the gated driver whose
# recovery expert is switched in by the road gate (gdl_studio.racing.controller.RoadGate), on the 512 fresh selection
# tracks, by the rule declared before scoring (resources/logs/world-model-v2/2026-12-07-pixel-gate/README.md).
#   bash scripts/gpu/pixel_gate.sh select     # both drivers, one call of racing_value_equiv.py score (about 2.5 min)
#   bash scripts/gpu/pixel_gate.sh teach      # the expert taught ROUNDS (3) more rounds under the road gate, the
#                                              # validation sweep, the export; CHAIN=1: the selection too (detached:
#                                              # poll $OUT/teach.txt for "done"; runs/recover-expert carried)
#   round 4: RUN=runs/teach-road5 ROUNDS=5 VALID_FIRST=6004880 SELECT_FIRST=6004944 CHAIN=1 … teach
#   bash scripts/gpu/pixel_gate.sh enter      # round 5: GATES="pixels:0.2:0.5:10:50:15 pixels:0.2:0.5:10:50:30"
#                                              # VALID_FIRST=6004944 SELECT_FIRST=6005008 (runs/teach-road carried)
# Run from the repository root with .whl/ and the exported candidate ($CANDIDATE, default
# runs/pixel-valid-model/carracing-controller-distilled) carried; everything lands in $OUT.
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out} SELECT=${SELECT:-512} SELECT_FIRST=${SELECT_FIRST:-6003776}
CANDIDATE=${CANDIDATE:-runs/pixel-valid-model/carracing-controller-distilled}
prepare_once > /dev/null 2>&1 || exit 1
export PYTHONPATH=/tmp/site:$PWD
if [ "${1:-select}" = enter ]; then
  # round 5: round 3's expert (runs/teach-road, carried) with a later entry, the rule-1 sweep on 64 tracks from
  # VALID_FIRST, the chosen gate exported and, when one qualifies, the selection on SELECT_FIRST
  python3 scripts/racing_recover.py --sweep runs/teach-road --out runs/enter-valid --valid 64 \
    --valid-first "${VALID_FIRST:-6004944}" --valid-departures 32 --gates $GATES --workers 16 > "$OUT/enter.txt" 2>&1
  cp runs/enter-valid/log.jsonl "$OUT/enter-valid-log.jsonl"
  SPEC=$(python3 - runs/enter-valid/log.jsonl <<'PY'
import json, sys
rows = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
alone = next(r for r in rows if "driver_alone_plain" in r)["driver_alone_plain"]
ok = [r for r in rows if "valid_plain" in r and r["valid_plain"]["under_800"] <= alone["under_800"]
      and r["plain_paired_mean"] >= -1.0]
print(":".join(str(v) for v in max(ok, key=lambda r: r["valid_departures"]["mean"])["gate"][1:]) if ok else "none")
PY
)
  echo "rule 1: $SPEC" >> "$OUT/enter.txt"
  if [ "$SPEC" != none ]; then
    python3 scripts/racing_recover.py --out runs/enter-valid --export runs/enter-model --road-gate "$SPEC" >> "$OUT/enter.txt" 2>&1
    cp -r runs/enter-model "$OUT/"
    python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks "$SELECT" \
      --workers 16 models/carracing-controller-distilled runs/enter-model/carracing-controller-distilled \
      > "$OUT/select.json" 2> "$OUT/select.log"
  fi
  echo done >> "$OUT/enter.txt"
  exit 0
fi
if [ "${1:-select}" = teach ]; then
  # ROUNDS rounds; the rule-1 sweep on 64 tracks from VALID_FIRST; with CHAIN=1 the selection (rule 2) follows at
  # once on SELECT_FIRST when rule 1 passes (one call: the lease ends when the call does)
  G=pixels:0.2:0.5:10:50 R=${RUN:-runs/teach-road}
  python3 scripts/racing_recover.py --continue-from runs/recover-expert --teach-gate $G --teach-departures 0.5 \
    --out "$R" --rounds "${ROUNDS:-3}" --tracks 128 --first 9910000 --valid 16 --valid-first 6004288 --batch 4 \
    --workers 16 > "$OUT/teach.txt" 2>&1 &&
  python3 scripts/racing_recover.py --sweep "$R" --out "$R-valid" --valid 64 \
    --valid-first "${VALID_FIRST:-6004304}" --valid-departures 32 --gates $G --workers 16 >> "$OUT/teach.txt" 2>&1 &&
  python3 scripts/racing_recover.py --out "$R-valid" --export "$R-model" \
    --road-gate 0.2:0.5:10:50 >> "$OUT/teach.txt" 2>&1
  cp "$R/log.jsonl" "$OUT/teach-log.jsonl"; cp "$R-valid/log.jsonl" "$OUT/teach-valid-log.jsonl"
  cp -r "$R-model" "$OUT/" 2>/dev/null
  PASS=$(python3 - "$R-valid/log.jsonl" <<'PY'
import json, sys
rows = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
alone = next(r for r in rows if "driver_alone_plain" in r)["driver_alone_plain"]
g = next(r for r in rows if "valid_plain" in r)
print("yes" if g["valid_plain"]["under_800"] <= alone["under_800"] and g["plain_paired_mean"] >= -1.0 else "no")
PY
)
  echo "rule 1: $PASS" >> "$OUT/teach.txt"
  if [ "${CHAIN:-0}" = 1 ] && [ "$PASS" = yes ]; then
    python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks "$SELECT" \
      --workers 16 models/carracing-controller-distilled "$R-model/carracing-controller-distilled" \
      > "$OUT/select.json" 2> "$OUT/select.log"
  fi
  echo done >> "$OUT/teach.txt"
  exit 0
fi
python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks "$SELECT" \
  --workers 16 models/carracing-controller-distilled "$CANDIDATE" > "$OUT/select.json" 2> "$OUT/select.log"
tail -n 3 "$OUT/select.log"
