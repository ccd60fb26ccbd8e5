#!/usr/bin/env bash
# A shipped controller scored on the stock env, twice: the bench's episodes (tracks 1,000,000…) and as many tracks
# from 7,000,000 (a set no selection used). Writes $OUT/score-NAME-SEEDBASE.json (bench racing --json) and .log.
#   bash scripts/gpu/score_controller.sh NAME [EPISODES (100)] [WORKERS (16)]
# Run from the repository root with .whl/ carried (cp312 wheels of gymnasium, Box2D, pygame, cma).
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site
name=$1 episodes=${2:-100} workers=${3:-16}
for base in 1000000 7000000; do
  f="$OUT/score-$name-$base"
  python3 -m gdl_studio bench racing --episodes "$episodes" --seed-base "$base" --workers "$workers" \
    --controller "$name" --json > "$f.json" 2> "$f.log" || { tail -n 5 "$f.log"; exit 1; }
  stock_summary "$f.json"
done
