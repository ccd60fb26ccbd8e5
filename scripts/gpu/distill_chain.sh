#!/usr/bin/env bash
# Issue #13 point 5 on the device's 16 cores: DAgger continued from session 26's imitation-trained driver (round 6,
# kept in the logs folder; scripts/racing_distill.py --init-student), many more tracks per round than a 2-core CPU can
# drive, each round's data driven by (and each round validated as) the average of the last AVG students; the run keeps
# its best average on VALID tracks from 6,000,000. The choice against the shipped driver is fixed before anything is
# scored: both on SELECT fresh validation tracks (from 6,000,320), the new one replacing the shipped one only with a
# higher mean and no more episodes under 800 (written into its card as `selection`). Only a replacement is scored on
# the stock env, twice (the bench's tracks 1,000,000… and 7,000,000…).
# Detached and resumable (racing_distill.py resumes after its last finished round); every call snapshots the run's
# log, rounds and scores into $OUT/distill-chain.tgz (the gathered states stay on the machine).
#   bash scripts/gpu/distill_chain.sh start WAIT_SECONDS
#   bash scripts/gpu/distill_chain.sh wait WAIT_SECONDS     # returns early when everything ended
# Env: ROUNDS (10), TRACKS (128 a round), VALID (96), AVG (4), SELECT (256), SELECT_FIRST (6000320),
# BETA0 (0.25: β = BETA0 · 0.5^round), FIT_STEPS (8000), FIRST (9400000: the training tracks), WORKERS (16),
# EPISODES (100: each stock score), REPLAY (session 26's run, whose data are driven again first so that the refits
# keep them; empty: none), INIT (its round 6).
# Run from the repository root with .whl/ carried (cp312 wheels of gymnasium, Box2D, pygame, cma).
set -u
. "$(dirname "$0")/common.sh"
W=/tmp/dc
OUT=${OUT:-/tmp/out}
ROUNDS=${ROUNDS:-10} TRACKS=${TRACKS:-128} VALID=${VALID:-96} BETA0=${BETA0:-0.25} FIT_STEPS=${FIT_STEPS:-8000}
FIRST=${FIRST:-9400000} WORKERS=${WORKERS:-16} EPISODES=${EPISODES:-100} AVG=${AVG:-4} SELECT=${SELECT:-256}
SELECT_FIRST=${SELECT_FIRST:-6000320} R=resources/logs/world-model-v2/2026-12-06-distill-ensemble
REPLAY=${REPLAY-$R/session26-run 9200000 24} INIT=${INIT:-$R/session26-round6}
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site:$PWD  # scripts/*.py import gdl_studio from the checkout

chain() {  # what runs detached: every step logs into $W
  local name=carracing-controller-distilled
  python3 scripts/racing_distill.py --student-hidden 64 --init-student "$INIT" --beta0 "$BETA0" \
    --out "$W/run" --rounds "$ROUNDS" --tracks "$TRACKS" --first "$FIRST" --valid "$VALID" --batch 4 \
    --workers "$WORKERS" --fit-steps "$FIT_STEPS" --drive-average "$AVG" ${REPLAY:+--replay $REPLAY} \
    >> "$W/distill.log" 2>&1 || return 1
  # the choice, declared before anything is scored: the run's kept driver and the shipped one on SELECT fresh
  # validation tracks; the new one replaces the shipped one only with a higher mean and no more episodes under 800
  choose_distilled "$W/run/$name"
}

snapshot() {
  tar czf "$OUT/distill-chain.tgz" -C "$W" --exclude='*.npy' . 2>/dev/null
  grep '^{' "$W/distill.log" 2>/dev/null | tail -n 12 | cut -c1-260
  grep -v '^{' "$W/distill.log" 2>/dev/null | tail -n 3 | cut -c1-200
  chosen_report
}

if [ "${1:-}" = start ]; then
  nproc
  export W ROUNDS TRACKS VALID BETA0 FIT_STEPS FIRST WORKERS EPISODES REPLAY INIT AVG SELECT SELECT_FIRST
fi
detach_or_wait "$@"
