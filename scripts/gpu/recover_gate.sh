#!/usr/bin/env bash
# Issue #13 point 5 on the device's 16 cores (session 38): session 37's recovery expert with a gate fitted to the
# oracle's held state (racing_recover.py --refit-gate), the threshold chosen on validation tracks, then the choice
# against the shipped driver, all declared before scoring (resources/logs/world-model-v2/2026-12-07-held-gate/README.md).
#   bash scripts/gpu/recover_gate.sh fit      # the gate, the threshold sweep, the export (about 4 min)
#   bash scripts/gpu/recover_gate.sh select   # both drivers on the 512 selection tracks (about 6 min)
# Run from the repository root with .whl/ and runs/recover-expert carried; everything lands in $OUT.
# A record of session 38: its `fit` step exported the logistic gate (`--export --threshold`), which
# racing_recover.py no longer writes since session 39 (the app's gate reads the road share: `--road-gate`).
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out} RUN=${RUN:-runs/held-gate} SELECT=${SELECT:-512} SELECT_FIRST=${SELECT_FIRST:-6002624}
# the second candidate: RUN=runs/held-gate2 THRESHOLDS="2 3 4" EXTRA="--start-steps 50" SELECT_FIRST=6003136
prepare_once > /dev/null 2>&1 || exit 1
export PYTHONPATH=/tmp/site:$PWD
if [ "${1:-fit}" = fit ]; then
  python3 scripts/racing_recover.py --refit-gate runs/recover-expert --out "$RUN" --rounds 2 --tracks 32 \
    --first 9900000 --departures 0.5 --label-enter 10 --valid 64 --valid-first 6001888 --valid-departures 32 \
    --thresholds ${THRESHOLDS:-1 2 3 4} ${EXTRA:-} --workers 16 > "$OUT/fit.txt" 2>&1
  cp "$RUN/log.jsonl" "$OUT/fit-log.jsonl"
  # the declared threshold rule: plain validation no more episodes under 800 than the driver alone and a paired mean
  # of at least -1.0; of those the highest mean with departures
  T=$(python3 - "$RUN/log.jsonl" <<'PY'
import json, sys
rows = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
alone = next(r for r in rows if "driver_alone_plain" in r)["driver_alone_plain"]
ok = [r for r in rows if "threshold" in r and r["valid_plain"]["under_800"] <= alone["under_800"]
      and r["plain_paired_mean"] >= -1.0]
print(max(ok, key=lambda r: r["valid_departures"]["mean"])["threshold"] if ok else "none")
PY
)
  echo "threshold: $T" | tee "$OUT/threshold.txt"
  [ "$T" = none ] && exit 0
  python3 scripts/racing_recover.py --out "$RUN" --export "$RUN-model" --threshold "$T" >> "$OUT/fit.txt" 2>&1
  cp -r "$RUN-model/carracing-controller-distilled" "$OUT/gated"
else
  python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks "$SELECT" \
    --workers 16 models/carracing-controller-distilled "$RUN-model/carracing-controller-distilled" \
    > "$OUT/select.json" 2> "$OUT/select.log"
  tail -n 3 "$OUT/select.log"
fi
