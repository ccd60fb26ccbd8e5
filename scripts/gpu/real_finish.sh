#!/usr/bin/env bash
# Issue #13 point 5 on a lent machine (16 cores): the shipped real controller on a second track set,
# then real-env CMA-ES from it at ROLLOUTS tracks per candidate (the paper's 16), detached so it
# outlives one device call. Every call snapshots what exists into $OUT.
#   bash scripts/gpu/real_finish.sh start WAIT_SECONDS   # scores, then CMA-ES for $MINUTES minutes
#   bash scripts/gpu/real_finish.sh wait WAIT_SECONDS    # returns early when everything ended
# Env: WORKERS (16), POP (16), ROLLOUTS (16), MINUTES (18), SEED_SET (7000000: tracks nobody selected
# on), VALID_SET (6000000: the tracks a result is judged on before the bench), VALID_TRACKS (32).
# Run from the repository root with .whl/ carried (cp312 wheels of gymnasium, Box2D, pygame, cma).
set -u
. "$(dirname "$0")/common.sh"
W=/tmp/rf
OUT=${OUT:-/tmp/out}
WORKERS=${WORKERS:-16} POP=${POP:-16} ROLLOUTS=${ROLLOUTS:-16} MINUTES=${MINUTES:-18}
SEED_SET=${SEED_SET:-7000000} VALID_SET=${VALID_SET:-6000000} VALID_TRACKS=${VALID_TRACKS:-32}
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site

chain() {  # what runs detached: each step's JSON lands in $W
  local gs="python3 -m gdl_studio bench racing --workers $WORKERS --json"
  $gs --episodes 100 --seed-base "$SEED_SET" > "$W/shipped-$SEED_SET.json" 2> "$W/shipped-$SEED_SET.err"
  $gs --episodes 100 --seed-base "$SEED_SET" --controller carracing-controller-dream \
    > "$W/dream-$SEED_SET.json" 2> "$W/dream-$SEED_SET.err"
  $gs --episodes "$VALID_TRACKS" --seed-base "$VALID_SET" > "$W/shipped-valid.json" 2> "$W/shipped-valid.err"
  mkdir -p "$W/models"
  cp -r models/carracing-vae models/carracing-mdnrnn models/carracing-controller "$W/models/"
  python3 -m gdl_studio train world-model controller --models "$W/models" --out "$W/models" \
    --ckpt "$W/ckpt" --init models/carracing-controller --workers "$WORKERS" --popsize "$POP" \
    --rollouts "$ROLLOUTS" --batch-envs 4 --generations 2000 --max-minutes "$MINUTES" > "$W/train.log" 2>&1
  $gs --episodes "$VALID_TRACKS" --seed-base "$VALID_SET" --models "$W/models" \
    > "$W/finished-valid.json" 2> "$W/finished-valid.err"
}

snapshot() {
  tar czf "$OUT/real-finish.tgz" -C "$W" --exclude=ckpt . 2>/dev/null
  for f in "$W"/*.json; do [ -s "$f" ] && python3 - "$f" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
keys = ("mean", "std", "min", "max", "episodes", "env_steps", "seconds")
print(sys.argv[1].rsplit("/", 1)[-1], {k: round(d[f"score.{k}"], 1) for k in keys if f"score.{k}" in d})
EOF
  done
  grep "gen " "$W/train.log" 2>/dev/null | tail -n 6
}

if [ "${1:-}" = start ]; then
  nproc
  export W WORKERS POP ROLLOUTS MINUTES SEED_SET VALID_SET VALID_TRACKS
fi
detach_or_wait "$@"
