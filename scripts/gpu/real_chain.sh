#!/usr/bin/env bash
# Issue #13 point 5, spread over several leases: real-env CMA-ES from a shipped controller, in that controller's own
# world (its card's V and M), in small steps (σ0 SIGMA0, well below the σ 0.18 the shipped real run ended with, where a
# candidate scored ~120 below the mean), resumable from the checkpoint an earlier lease brought back. Detached, so it
# outlives one device call; every call snapshots the checkpoint and the logs into $OUT/real-chain.tgz.
#   bash scripts/gpu/real_chain.sh start WAIT_SECONDS   # CMA-ES for $MINUTES minutes, then the snapshots scored
#   bash scripts/gpu/real_chain.sh wait WAIT_SECONDS    # returns early when everything ended
# Env: BASE (carracing-controller-dream), RESUME (a carried folder holding an earlier lease's ckpt/: go on from there),
# WORKERS (16), POP (32), ROLLOUTS (8), SIGMA0 (0.03), MINUTES (20), SNAP_EVERY (5), MAX_STEPS (1000: the episode
# length CMA-ES scores candidates on; a shorter one rewards the tiles reached early, i.e. speed; the validation scores
# always drive 1,000 steps), VALID_SET (6000000: the tracks a result is chosen on), VALID_TRACKS (32). Nothing here
# reads the bench's tracks (1,000,000…) or 7,000,000….
# Run from the repository root with .whl/ carried (cp312 wheels of gymnasium, Box2D, pygame, cma).
set -u
. "$(dirname "$0")/common.sh"
W=/tmp/rc
OUT=${OUT:-/tmp/out}
BASE=${BASE:-carracing-controller-dream} RESUME=${RESUME:-}
WORKERS=${WORKERS:-16} POP=${POP:-32} ROLLOUTS=${ROLLOUTS:-8} SIGMA0=${SIGMA0:-0.03} MINUTES=${MINUTES:-20}
SNAP_EVERY=${SNAP_EVERY:-5} MAX_STEPS=${MAX_STEPS:-1000}
VALID_SET=${VALID_SET:-6000000} VALID_TRACKS=${VALID_TRACKS:-32}
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site

chain() {  # what runs detached: every step logs into $W
  local v m
  read -r v m < <(world_dirs "$BASE") || return 1
  mkdir -p "$W/world" "$W/out"
  ln -sfn "$v" "$W/world/carracing-vae"; ln -sfn "$m" "$W/world/carracing-mdnrnn"
  if [ -n "$RESUME" ] && [ ! -f "$W/ckpt/cma_state.npz" ]; then cp -r "$RESUME/ckpt" "$W/"; fi
  python3 -m gdl_studio train world-model controller --models "$W/world" --out "$W/out" --ckpt "$W/ckpt" \
    --init "models/$BASE" --sigma0 "$SIGMA0" --workers "$WORKERS" --popsize "$POP" --rollouts "$ROLLOUTS" \
    --batch-envs 4 --generations 5000 --max-minutes "$MINUTES" --snapshot-every "$SNAP_EVERY" --max-steps "$MAX_STEPS" \
    >> "$W/train.log" 2>&1 || return 1
  # every kept mean (this lease's and the earlier ones') on the validation tracks; the base on the same tracks
  python3 scripts/racing_value_equiv.py score --models "$W/world" --first "$VALID_SET" --tracks "$VALID_TRACKS" \
    --workers "$WORKERS" "models/$BASE" "$W/ckpt/snapshots.npz" > "$W/valid.json" 2> "$W/valid.log"
}

snapshot() {
  tar czf "$OUT/real-chain.tgz" -C "$W" --exclude=world --exclude=out . 2>/dev/null
  grep "gen " "$W/train.log" 2>/dev/null | tail -n 8 | cut -c1-200
  tail -n 12 "$W/valid.log" 2>/dev/null | cut -c1-200
}

if [ "${1:-}" = start ]; then
  nproc
  export W BASE RESUME WORKERS POP ROLLOUTS SIGMA0 MINUTES SNAP_EVERY MAX_STEPS VALID_SET VALID_TRACKS
fi
detach_or_wait "$@"
