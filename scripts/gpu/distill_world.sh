#!/usr/bin/env bash
# Issue #13 (session 30): the imitation-trained driver taught in another world, e.g. the dream driver's (V v2 + M v4),
# so that the best real driver also dreams in the world whose dreams keep the road best. Stage A (session 26's recipe
# from scratch: `racing_distill.py --world WORLD --student-hidden 64 --rounds 8 --tracks 24 --valid 32 --batch 4`)
# is carried in A (a copy of its --out without data.npy and labels.npy: log.jsonl, round-K.npz and the kept student;
# the gathered states are re-driven here by --replay).
# This runs session 27's continuation of it (6 rounds × 32 tracks from 9,400,000, β0 0.25, validation 6,000,000–63)
# and exports the average of the continuation's rounds 2–5 (the recipe of the shipped driver, fixed in advance),
# scored on SELECT validation tracks from 6,000,320, where session 28 scored the shipped driver (913.9 ± 48.8, 3
# under 800). Nothing here drives a test set.
#   A=runs/v4a-carry bash scripts/gpu/distill_world.sh start WAIT_SECONDS
#   bash scripts/gpu/distill_world.sh wait WAIT_SECONDS     # returns early when everything ended
# Env: WORLD (carracing-controller-dream), W (/tmp/dw; a new folder per run: racing_distill.py resumes a run it
# finds), WORKERS (16), SELECT (256). Run from the repository root with .whl/ carried.
set -u
. "$(dirname "$0")/common.sh"
W=${W:-/tmp/dw}
OUT=${OUT:-/tmp/out}
WORLD=${WORLD:-carracing-controller-dream} WORKERS=${WORKERS:-16} SELECT=${SELECT:-256} A=${A:-runs/v4a-carry}
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site:$PWD  # scripts/*.py import gdl_studio from the checkout

chain() {  # what runs detached: every step logs into $W
  python3 scripts/racing_distill.py --world "$WORLD" --student-hidden 64 \
    --init-student "$A/carracing-controller-distilled" --replay "$A" 9200000 24 --beta0 0.25 --out "$W/b" \
    --rounds 6 --tracks 32 --first 9400000 --valid 64 --batch 4 --workers "$WORKERS" --fit-steps 4000 \
    >> "$W/distill.log" 2>&1 || return 1
  python3 scripts/racing_distill.py --world "$WORLD" --student-hidden 64 --batch 4 --workers "$WORKERS" \
    --export-ensemble "$W/b:2" "$W/b:3" "$W/b:4" "$W/b:5" --valid "$SELECT" --valid-first 6000320 --out "$W/ens" \
    >> "$W/export.log" 2>&1
}

snapshot() {
  tar czf "$OUT/distill-world.tgz" -C "$W" --exclude='*.npy' . 2>/dev/null
  grep '^{' "$W/distill.log" 2>/dev/null | tail -n 8 | cut -c1-260
  grep -v '^{' "$W/distill.log" 2>/dev/null | tail -n 2 | cut -c1-200
  tail -n 3 "$W/export.log" 2>/dev/null | cut -c1-300
}

if [ "${1:-}" = start ]; then
  nproc
  export W WORLD WORKERS SELECT A
fi
detach_or_wait "$@"
