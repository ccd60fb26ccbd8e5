#!/usr/bin/env bash
# Issue #13, one more value-equivalence round (scripts/racing_value_equiv.py) on a lent machine (one GPU,
# 16 cores), detached so it outlives one device call; each call waits and snapshots into $OUT.
#   bash scripts/gpu/ve_round.sh start WAIT_SECONDS   # start the chain, wait, snapshot
#   bash scripts/gpu/ve_round.sh wait WAIT_SECONDS    # wait (returns early when the chain ended), snapshot
# The chain, around the shipped dream driver (in its own world), or with BASE_WORLD=DIR (a carried folder holding
# carracing-controller-dream and its carracing-mdnrnn; V v2 is linked in here) around that driver, a later round;
# REAL_DATA=DIR takes step 1's two files from an earlier lease instead:
#   1. real returns of TRAIN_C controllers × TRAIN_T tracks (seed 1, tracks 8,000,000…) and of VALID_C × VALID_T
#      (seed 2, tracks 8,100,000…), 16 workers
#   2. the base M's heads refitted to them on the GPU (LSTM frozen), kept on validation rank correlation
#   3. dream CMA-ES from the base driver, 0 real steps, the runs named in RUNS side by side on the GPU: in the
#      new world c4 (session 20's recipe: pop 32 × 16 dreams, GENS generations, σ0 0.1, cap 0.5), c4big (pop
#      64 × 32, GENS_BIG) and c4tr (a trust region: pop 32 × 32, GENS_TR, σ0 SIGMA_TR, cap SIGMA_MAX_TR, short
#      steps that stay among the perturbations the heads were fitted on; c4tr1 the same with CMA-ES seed 1);
#      c3, session 20's recipe in the base's own world (the control of session 21's round 2).
#      Default RUNS="c4 c4big c4tr"
#   4. real returns of the base and the results on 32 tracks from 6,000,000 (the selection tracks), and of
#      every run's mean every 10 generations (its snapshots)
# Run from the repository root with .whl/ carried (cp312 wheels of gymnasium, Box2D, pygame, cma).
set -u
. "$(dirname "$0")/common.sh"
W=/tmp/ve
OUT=${OUT:-/tmp/out}
WORKERS=${WORKERS:-16} TRAIN_C=${TRAIN_C:-64} TRAIN_T=${TRAIN_T:-16} VALID_C=${VALID_C:-32} VALID_T=${VALID_T:-16}
ITERS=${ITERS:-150} DEVICE=${DEVICE:-cuda} GENS=${GENS:-179} GENS_BIG=${GENS_BIG:-300} SCORE_T=${SCORE_T:-32}
GENS_TR=${GENS_TR:-100} SIGMA_TR=${SIGMA_TR:-0.03} SIGMA_MAX_TR=${SIGMA_MAX_TR:-0.1} RUNS=${RUNS:-c4 c4big c4tr}
SMOKE=${SMOKE:-}  # set to 1 for a CPU smoke test of the chain (tiny training batches and dreams)
BASE_WORLD=${BASE_WORLD:-}
REAL_DATA=${REAL_DATA:-}  # a folder with step 1's real-train.npz and real-valid.npz from an earlier lease: skip step 1
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site

chain() {  # what runs detached; every step logs into $W
  local ve="python3 scripts/racing_value_equiv.py" base=models/carracing-controller-dream
  if [ -n "$BASE_WORLD" ]; then
    ln -sfn "$PWD/models/carracing-vae-v2" "$BASE_WORLD/carracing-vae"
    base="$BASE_WORLD/carracing-controller-dream"
  fi
  local init=$base base_v base_m  # the base's own V and M (its card's world)
  read -r base_v base_m < <(world_dirs "$base") || return 1
  if [ -n "$REAL_DATA" ]; then  # step 1 done on an earlier lease: its real-{train,valid}.npz
    cp "$REAL_DATA/real-train.npz" "$REAL_DATA/real-valid.npz" "$W/" || return 1
  else
    $ve real --set train --base $base --controllers "$TRAIN_C" --tracks "$TRAIN_T" --workers "$WORKERS" \
      --out "$W/real-train.npz" > "$W/real-train.log" 2>&1 || return 1
    $ve real --set valid --base $base --controllers "$VALID_C" --tracks "$VALID_T" --workers "$WORKERS" \
      --out "$W/real-valid.npz" > "$W/real-valid.log" 2>&1 || return 1
  fi
  local fit="$ve train --real-train $W/real-train.npz --real-valid $W/real-valid.npz --base $base --out $W/mdnrnn-ve4"
  fit="$fit --iters $ITERS --every 15 --lr 1e-4 --crn"
  if [ -n "$SMOKE" ]; then fit="$fit --batch-controllers 3 --dreams 2 --valid-dreams 2 --steps 20 --starts 2"
  else fit="$fit --batch-controllers 32 --dreams 16 --valid-dreams 64"; fi
  $fit --device "$DEVICE" > "$W/train-ve4.json" 2> "$W/train-ve4.log" \
    || OMP_NUM_THREADS=16 $fit --device cpu > "$W/train-ve4.json" 2> "$W/train-ve4-cpu.log" || return 1
  for w in wm3 wm4; do mkdir -p "$W/$w"; ln -sfn "$base_v" "$W/$w/carracing-vae"; done
  ln -sfn "$base_m" "$W/wm3/carracing-mdnrnn"
  ln -sfn "$W/mdnrnn-ve4/carracing-mdnrnn" "$W/wm4/carracing-mdnrnn"
  local dc="python3 -m gdl_studio train world-model dream-controller --name carracing-controller-dream"
  dc="$dc --tau 1.0 --device $DEVICE --init $init --seed 0"
  local r run wide="--sigma0 0.1 --sigma-max 0.5"  # session 20's step sizes
  for r in $RUNS; do
    case $r in  # the world, then the search
      c4) run="--models $W/wm4 --popsize 32 --rollouts 16 --generations $GENS $wide" ;;
      c4big) run="--models $W/wm4 --popsize 64 --rollouts 32 --generations $GENS_BIG $wide" ;;
      c4tr|c4tr1) run="--models $W/wm4 --popsize 32 --rollouts 32 --generations $GENS_TR --sigma0 $SIGMA_TR"
        run="$run --sigma-max $SIGMA_MAX_TR"
        [ $r = c4tr1 ] && run="$run --seed 1" ;;  # the same search, another CMA-ES seed
      c3) run="--models $W/wm3 --popsize 32 --rollouts 16 --generations $GENS $wide" ;;
      *) echo "unknown run $r" >&2; return 1 ;;
    esac
    $dc $run --out "$W/$r" --ckpt "$W/ck-$r" > "$W/dream-$r.log" 2>&1 &
  done
  wait
  local d=carracing-controller-dream finals=() snaps=()
  for r in $RUNS; do finals+=("$W/$r/$d"); snaps+=("$W/ck-$r/snapshots.npz"); done
  $ve score --models "$W/wm4" --first 6000000 --tracks "$SCORE_T" --workers "$WORKERS" "$init" "${finals[@]}" \
    > "$W/score-32.json" 2> "$W/score-32.log"
  # the real return along each run (its mean every 10 generations): where does the dream stop pointing the right way?
  $ve score --models "$W/wm4" --first 6000000 --tracks "$SCORE_T" --workers "$WORKERS" "${snaps[@]}" \
    > "$W/score-32-snapshots.json" 2> "$W/score-32-snapshots.log"
}

snapshot() {
  tar czf "$OUT/ve-round.tgz" -C "$W" --exclude='ck-*/cma_state.npz' --exclude='wm*' . 2>/dev/null
  tail -n 2 "$W"/*.log 2>/dev/null | cut -c1-240
}

if [ "${1:-}" = start ]; then
  nproc; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  export W WORKERS TRAIN_C TRAIN_T VALID_C VALID_T ITERS DEVICE GENS GENS_BIG GENS_TR SIGMA_TR SIGMA_MAX_TR RUNS
  export SCORE_T SMOKE BASE_WORLD REAL_DATA
fi
detach_or_wait "$@"
