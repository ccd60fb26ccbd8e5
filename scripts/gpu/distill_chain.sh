#!/usr/bin/env bash
# Issue #13 point 5 on the device's 16 cores: DAgger continued from session 26's imitation-trained driver (round 6,
# kept in the logs folder; scripts/racing_distill.py --init-student), many more tracks per round than a 2-core CPU can
# drive, the rounds chosen on VALID tracks from 6,000,000; then the shipped driver on the same validation tracks, and
# the kept round scored on the stock env twice (the bench's tracks 1,000,000… and 7,000,000…; read after the choice,
# never for it).
# Detached and resumable (racing_distill.py resumes after its last finished round); every call snapshots the run's
# log, rounds and scores into $OUT/distill-chain.tgz (the gathered states stay on the machine).
#   bash scripts/gpu/distill_chain.sh start WAIT_SECONDS
#   bash scripts/gpu/distill_chain.sh wait WAIT_SECONDS     # returns early when everything ended
# Env: ROUNDS (10), TRACKS (128 a round), VALID (96), BETA0 (0.25: β = BETA0 · 0.5^round), FIT_STEPS (8000),
# FIRST (9400000: the training tracks), WORKERS (16), EPISODES (100: each stock score), REPLAY (session 26's run,
# whose data are driven again first so that the refits keep them; empty: none), INIT (its round 6).
# Run from the repository root with .whl/ carried (cp312 wheels of gymnasium, Box2D, pygame, cma).
set -u
. "$(dirname "$0")/common.sh"
W=/tmp/dc
OUT=${OUT:-/tmp/out}
ROUNDS=${ROUNDS:-10} TRACKS=${TRACKS:-128} VALID=${VALID:-96} BETA0=${BETA0:-0.25} FIT_STEPS=${FIT_STEPS:-8000}
FIRST=${FIRST:-9400000} WORKERS=${WORKERS:-16} EPISODES=${EPISODES:-100} R=resources/logs/world-model-v2/2026-12-06-distill-ensemble
REPLAY=${REPLAY-$R/session26-run 9200000 24} INIT=${INIT:-$R/session26-round6}
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site

chain() {  # what runs detached: every step logs into $W
  local name=carracing-controller-distilled
  python3 scripts/racing_distill.py --student-hidden 64 --init-student "$INIT" --beta0 "$BETA0" \
    --out "$W/run" --rounds "$ROUNDS" --tracks "$TRACKS" --first "$FIRST" --valid "$VALID" --batch 4 \
    --workers "$WORKERS" --fit-steps "$FIT_STEPS" ${REPLAY:+--replay $REPLAY} >> "$W/distill.log" 2>&1 || return 1
  # the shipped driver on the same validation tracks: the kept round replaces it only if it is better there (by hand)
  python3 scripts/racing_value_equiv.py score --models models --first 6000000 --tracks "$VALID" \
    --workers "$WORKERS" "models/$name" > "$W/shipped-valid.json" 2> "$W/shipped-valid.log"
  rm -rf "models/$name" && cp -r "$W/run/$name" models/
  for base in 1000000 7000000; do
    python3 -m gdl_studio bench racing --episodes "$EPISODES" --seed-base "$base" --workers "$WORKERS" \
      --controller "$name" --json > "$W/bench-$base.json" 2> "$W/bench-$base.log"
  done
}

snapshot() {
  tar czf "$OUT/distill-chain.tgz" -C "$W" --exclude='*.npy' . 2>/dev/null
  grep '^{' "$W/distill.log" 2>/dev/null | tail -n 12 | cut -c1-260
  grep -v '^{' "$W/distill.log" 2>/dev/null | tail -n 3 | cut -c1-200
  tail -n 2 "$W/shipped-valid.log" 2>/dev/null
  for f in "$W"/bench-*.json; do [ -s "$f" ] && python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
print(sys.argv[1], {k: round(v, 1) for k, v in d.items() if k.startswith('score.')})" "$f"; done
}

if [ "${1:-}" = start ]; then
  nproc
  export W ROUNDS TRACKS VALID BETA0 FIT_STEPS FIRST WORKERS EPISODES REPLAY INIT
fi
detach_or_wait "$@"
