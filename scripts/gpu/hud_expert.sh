#!/usr/bin/env bash
# Issue #13 point 5 on the device's 16 cores (session 40): a recovery expert that also reads the HUD gauges, taught
# from scratch under the road gate, then chosen by the rules declared before scoring in
# resources/logs/world-model-v2/2026-12-07-hud-expert/README.md. One detached chain (about 10 minutes):
#   setsid nohup bash scripts/gpu/hud_expert.sh > $OUT/chain.txt 2>&1 &     # then poll $OUT/chain.txt for "done"
# teach (racing_recover.py --hud) → rule 1 (two sweeps on the validation tracks: the HUD expert's gates, the shipped
# gated driver's own expert and gate) → export → rule 2 (racing_value_equiv.py score, 512 selection tracks).
# Run from the repository root with .whl/ carried (and runs/hud, without its data, where it was taught on the CPU:
# the teaching is then skipped); everything lands in $OUT.
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out} R=${RUN:-runs/hud} VALID_FIRST=${VALID_FIRST:-6005520} SELECT_FIRST=${SELECT_FIRST:-6005584}
prepare_once > /dev/null 2>&1 || { echo "setup failed"; echo done; exit 1; }
export PYTHONPATH=/tmp/site:$PWD
G=pixels:0.2:0.5:10:50:5
if [ -f "$R/expert-$((${ROUNDS:-5} - 1)).npy" ]; then  # taught elsewhere (this machine's CPU) and carried
  echo "taught before (carried)"
else
  python3 scripts/racing_recover.py --hud --teach-gate $G --teach-departures 0.75 --out "$R" --rounds "${ROUNDS:-5}" \
    --tracks 128 --first 9920000 --valid 16 --valid-first 9929000 --batch 4 --workers 16 > "$OUT/teach.txt" 2>&1
  cp "$R/log.jsonl" "$OUT/teach-log.jsonl"; cp "$R"/expert-*.npy "$OUT/" 2>/dev/null
  echo "taught"
fi
# the shipped gated driver's own expert, as a run folder the sweep reads
mkdir -p runs/shipped-expert
python3 -c "import numpy as np, sys
from gdl_studio.racing.controller import split_gated
from gdl_studio.racing.models_io import controller_params
np.save('runs/shipped-expert/expert-0.npy', split_gated(controller_params('models/carracing-controller-distilled')[0])[1])"
python3 scripts/racing_recover.py --sweep "$R" --out "$R-valid" --valid 64 --valid-first "$VALID_FIRST" \
  --valid-departures 32 --gates $G pixels:0.2:0.5:10:50:15 --workers 16 > "$OUT/valid.txt" 2>&1
python3 scripts/racing_recover.py --sweep runs/shipped-expert --out runs/shipped-valid --valid 64 \
  --valid-first "$VALID_FIRST" --valid-departures 32 --gates pixels:0.2:0.5:10:50:15 --workers 16 >> "$OUT/valid.txt" 2>&1
cp "$R-valid/log.jsonl" "$OUT/valid-log.jsonl"; cp runs/shipped-valid/log.jsonl "$OUT/shipped-valid-log.jsonl"
SPEC=$(python3 - "$R-valid/log.jsonl" runs/shipped-valid/log.jsonl <<'PY'
import json, sys
rows = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
shipped = next(json.loads(x) for x in open(sys.argv[2]) if x.strip() and "valid_plain" in json.loads(x))
alone = next(r for r in rows if "driver_alone_plain" in r)["driver_alone_plain"]
ok = [r for r in rows if "valid_plain" in r and r["valid_plain"]["under_800"] <= alone["under_800"]
      and r["plain_paired_mean"] >= -1.0]
best = max(ok, key=lambda r: r["valid_departures"]["mean"]) if ok else None
go = best is not None and best["valid_departures"]["mean"] > shipped["valid_departures"]["mean"]
print(":".join(str(v) for v in best["gate"][1:]) if go else "none")
PY
)
echo "rule 1: $SPEC"
if [ "$SPEC" != none ]; then
  python3 scripts/racing_recover.py --out "$R-valid" --export "$R-model" --road-gate "$SPEC" >> "$OUT/valid.txt" 2>&1
  cp -r "$R-model" "$OUT/"
  python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks 512 \
    --workers 16 models/carracing-controller-distilled "$R-model/carracing-controller-distilled" \
    > "$OUT/select.json" 2> "$OUT/select.log"
  echo "selected"
fi
echo done
