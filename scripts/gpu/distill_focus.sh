#!/usr/bin/env bash
# Issue #13 point 5 on the device's 16 cores: failure-focused DAgger for the imitation-trained driver. The shipped
# driver's spread comes from a few tracks per hundred that every student of its line fails; uniform data dilute
# them (session 28: 128 tracks a round crash as often). Here the driver drives alone (β = 0) on many tracks, only
# the episodes it drives under FOCUS_BELOW are kept (the teacher labels every state), and each refit draws
# FOCUS_SHARE of every minibatch from those states.
#   1. base: session 27's recipe (session 26's run replayed, 6 rounds × 32 tracks from 9,400,000 at
#      β = 0.25 · 0.5^round), gathered again here with the refits on the CPU, as the shipped run's were; its
#      rounds 2–5 are then the shipped driver's members (on this machine's CPU their average equals the shipped
#      weights to 5e-10; base-check.txt says how close it comes on the device);
#   2. focus: the base run continued for ROUNDS rounds with --drive-average 4, so every round's data are driven by
#      the average of the last four members (first: the shipped driver itself) and one member is refitted and
#      replaces the oldest (the averaging that makes the shipped driver steady is kept: refitting the 256-unit
#      average as one network crashed more, session 36); TRACKS tracks a round from FIRST, each round's average
#      validated on VALID tracks from 6,000,000; the run keeps its focus round with the best validation mean (the
#      base's rounds were validated on other tracks, 6,000,064…, so Run.best leaves them out);
#   3. the choice, declared before anything is scored: the kept driver and the shipped one on SELECT fresh
#      validation tracks from SELECT_FIRST; the new one replaces the shipped one only with a higher mean and no more
#      episodes under 800. Only a replacement is scored on the stock env (the bench's tracks and 7,000,000…).
# Detached and resumable (racing_distill.py resumes after its last finished round):
#   bash scripts/gpu/distill_focus.sh start WAIT_SECONDS
#   bash scripts/gpu/distill_focus.sh wait WAIT_SECONDS     # returns early when everything ended
# Env: ROUNDS (4), TRACKS (384), FIRST (9600000), FOCUS_BELOW (900), FOCUS_SHARE (0.2), VALID (64), SELECT (256),
# SELECT_FIRST (6001344: after the tracks session 36 chose on), FIT_STEPS (4000), WORKERS (16), EPISODES (100).
# Run from the repository root with .whl/ carried (cp312 wheels of gymnasium, Box2D, pygame, cma).
set -u
. "$(dirname "$0")/common.sh"
W=/tmp/df
OUT=${OUT:-/tmp/out}
ROUNDS=${ROUNDS:-4} TRACKS=${TRACKS:-384} FIRST=${FIRST:-9600000} FOCUS_BELOW=${FOCUS_BELOW:-900}
FOCUS_SHARE=${FOCUS_SHARE:-0.2} VALID=${VALID:-64} SELECT=${SELECT:-256} SELECT_FIRST=${SELECT_FIRST:-6001344}
FIT_STEPS=${FIT_STEPS:-4000} WORKERS=${WORKERS:-16} EPISODES=${EPISODES:-100}
R=resources/logs/world-model-v2/2026-12-06-distill-ensemble
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site:$PWD  # scripts/*.py import gdl_studio from the checkout

chain() {  # what runs detached: every step logs into $W
  local name=carracing-controller-distilled
  CUDA_VISIBLE_DEVICES= python3 scripts/racing_distill.py --student-hidden 64 --init-student "$R/session26-round6" \
    --replay "$R/session26-run" 9200000 24 --beta0 0.25 --out "$W/base" --rounds 6 --tracks 32 --first 9400000 \
    --valid 16 --valid-first 6000064 --batch 4 --workers "$WORKERS" --fit-steps 4000 >> "$W/base.log" 2>&1 || return 1
  python3 -c "import sys; from pathlib import Path; import numpy as np
from gdl_studio.racing.controller import average_mlps
from gdl_studio.racing.models_io import controller_params
avg = average_mlps([np.load(f'{sys.argv[1]}/round-{k}.npz')['params'] for k in (2, 3, 4, 5)])
from gdl_studio.racing.controller import gated_units, split_gated
shipped, _ = controller_params(Path('models/carracing-controller-distilled'))
shipped = split_gated(shipped)[0] if gated_units(shipped) is not None else shipped  # gated since session 39
print('base rounds 2-5 averaged vs the shipped (road) driver: max abs difference', float(np.abs(avg - shipped).max()))
" "$W/base" > "$W/base-check.txt" 2>&1
  if [ ! -f "$W/run/log.jsonl" ]; then
    mkdir -p "$W/run" && cp "$W/base"/round-*.npz "$W/base"/log.jsonl "$W/base"/data.npy "$W/base"/labels.npy "$W/run/"
  fi
  python3 scripts/racing_distill.py --student-hidden 64 --out "$W/run" --rounds $((6 + ROUNDS)) --drive-average 4 \
    --beta0 0 --focus-below "$FOCUS_BELOW" --focus-share "$FOCUS_SHARE" --tracks "$TRACKS" --first "$FIRST" \
    --valid "$VALID" --batch 4 --workers "$WORKERS" --fit-steps "$FIT_STEPS" >> "$W/distill.log" 2>&1 || return 1
  choose_distilled "$W/run/$name"
}

snapshot() {
  tar czf "$OUT/distill-focus.tgz" -C "$W" --exclude='*.npy' . 2>/dev/null
  grep '^{' "$W/base.log" 2>/dev/null | tail -n 7 | cut -c1-220
  grep -v '^{' "$W/base.log" 2>/dev/null | tail -n 2 | cut -c1-200
  grep '^{' "$W/distill.log" 2>/dev/null | tail -n 6 | cut -c1-300
  grep -v '^{' "$W/distill.log" 2>/dev/null | tail -n 3 | cut -c1-200
  chosen_report
  cat "$W/base-check.txt" 2>/dev/null; tail -n 3 "$W/chain.log" 2>/dev/null
}

if [ "${1:-}" = start ]; then
  nproc
  export W ROUNDS TRACKS FIRST FOCUS_BELOW FOCUS_SHARE VALID SELECT SELECT_FIRST FIT_STEPS WORKERS EPISODES R
fi
detach_or_wait "$@"
