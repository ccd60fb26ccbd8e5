#!/usr/bin/env bash
# Issue #13 point 5 on the device's 16 cores (session 37): the recovery expert of scripts/racing_recover.py taught on
# with the gate the app uses (--continue-from, open wherever the logit is over THRESHOLD), then the choice against
# the shipped driver, declared before scoring (resources/logs/world-model-v2/2026-12-07-recovery/README.md): both on
# SELECT fresh validation tracks from SELECT_FIRST; the gated one replaces the shipped one only with fewer episodes
# under 800, a smaller standard deviation and a mean no more than 2.0 below. Run from the repository root with .whl/
# and runs/recover-expert carried; everything lands in $OUT.
# A record of session 37: its export (`--export --threshold`, the logistic gate) is no longer written since
# session 39 (the app's gate reads the road share: `--road-gate`).
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out} THRESHOLD=${THRESHOLD:-2} ROUNDS=${ROUNDS:-3} SELECT=${SELECT:-512} SELECT_FIRST=${SELECT_FIRST:-6002112}
prepare_once > /dev/null 2>&1 || exit 1
export PYTHONPATH=/tmp/site:$PWD
python3 scripts/racing_recover.py --continue-from runs/recover-expert --threshold "$THRESHOLD" --out /tmp/rc \
  --rounds "$ROUNDS" --tracks 32 --first 9800000 --valid 32 --valid-first 6001856 --workers 16 > "$OUT/continue.txt" 2>&1
python3 scripts/racing_recover.py --out /tmp/rc --export /tmp/rc-model --threshold "$THRESHOLD" >> "$OUT/continue.txt" 2>&1
cp /tmp/rc/log.jsonl "$OUT/continue-log.jsonl"; cp -r /tmp/rc-model/carracing-controller-distilled "$OUT/gated"
grep '^{' "$OUT/continue.txt" | cut -c1-400
for c in models/carracing-controller-distilled /tmp/rc-model/carracing-controller-distilled; do
  n=$([ "$c" = models/carracing-controller-distilled ] && echo shipped || echo gated)
  python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks "$SELECT" --workers 16 \
    "$c" > "$OUT/select-$n.json" 2>> "$OUT/select.log"
  tail -n 1 "$OUT/select.log"
done
