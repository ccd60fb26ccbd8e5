#!/usr/bin/env bash
# Issue #13: value-equivalence fits of a ReadMDNRNN (racing/mdn_rnn.py: the controllers read the world's LSTM, a
# second LSTM dreams) on a lent machine (one GPU, 16 cores), detached; each call waits and snapshots into $OUT.
#   bash scripts/gpu/ve_reader.sh start WAIT_SECONDS | wait WAIT_SECONDS
# Around the shipped dream driver (V v2 + M v4), with session 22's real returns (REAL_DATA, carried):
#   1. fits side by side on the GPU, each a ReadMDNRNN whose reader is M v4 and whose dreamer starts from DREAMER
#      (default: session 10's span25 M, whose dreams keep the road): FITS="rh rl": rh trains the heads, rl the
#      heads and the dreaming LSTM
#   2. dream CMA-ES (session 22's trust region: pop 32 × 32, σ0 0.03, cap 0.1, GENS_TR generations) from the shipped
#      dream driver in each fitted world, 0 real steps
#   3. real returns of the start and of every run's mean every 10 generations on 32 tracks from 6,000,000
set -u
. "$(dirname "$0")/common.sh"
W=${W:-/tmp/vr}  # a new W for another run: CMA-ES resumes from an existing checkpoint there
OUT=${OUT:-/tmp/out}
WORKERS=${WORKERS:-16} ITERS=${ITERS:-60} DEVICE=${DEVICE:-cuda} GENS_TR=${GENS_TR:-100} SCORE_T=${SCORE_T:-32}
FITS=${FITS:-rh rl} SMOKE=${SMOKE:-}
REAL_DATA=${REAL_DATA:-resources/logs/world-model-v2/2026-12-05-trust-region/h100}
DREAMER=${DREAMER:-resources/logs/world-model-v2/2026-12-04-open-loop-runs/mdnrnn-span25}
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site:$PWD

chain() {
  local ve="python3 scripts/racing_value_equiv.py" base=models/carracing-controller-dream f
  local fit="$ve train --real-train $REAL_DATA/real-train.npz --real-valid $REAL_DATA/real-valid.npz --base $base"
  fit="$fit --mdn $DREAMER --read-world --iters $ITERS --every 15 --lr 1e-4 --crn --device $DEVICE"
  if [ -n "$SMOKE" ]; then fit="$fit --batch-controllers 3 --dreams 2 --valid-dreams 2 --steps 20 --starts 2"
  else fit="$fit --batch-controllers 32 --dreams 16 --valid-dreams 64"; fi
  for f in $FITS; do
    case $f in
      rh) $fit --out "$W/m-$f" > "$W/train-$f.json" 2> "$W/train-$f.log" & ;;
      rl) $fit --train-lstm --out "$W/m-$f" > "$W/train-$f.json" 2> "$W/train-$f.log" & ;;
      *) echo "unknown fit $f" >&2; return 1 ;;
    esac
  done
  wait
  local dc="python3 -m gdl_studio train world-model dream-controller --name carracing-controller-dream"
  dc="$dc --tau 1.0 --device $DEVICE --init $base --seed 0 --popsize 32 --rollouts 32 --generations $GENS_TR"
  dc="$dc --sigma0 0.03 --sigma-max 0.1"
  [ -n "$SMOKE" ] && dc="$dc --popsize 4 --rollouts 2"
  for f in $FITS; do
    mkdir -p "$W/wm-$f"
    ln -sfn "$PWD/models/carracing-vae-v2" "$W/wm-$f/carracing-vae"
    ln -sfn "$W/m-$f/carracing-mdnrnn" "$W/wm-$f/carracing-mdnrnn"
    $dc --models "$W/wm-$f" --out "$W/c-$f" --ckpt "$W/ck-$f" > "$W/dream-$f.log" 2>&1 &
  done
  wait
  local snaps=()
  for f in $FITS; do snaps+=("$W/ck-$f/snapshots.npz"); done
  # every world reads with M v4, so the real returns are the same in each; the first one scores them all
  set -- $FITS
  $ve score --models "$W/wm-$1" --first 6000000 --tracks "$SCORE_T" --workers "$WORKERS" $base "${snaps[@]}" \
    > "$W/score-32.json" 2> "$W/score-32.log"
}

snapshot() {
  tar czf "$OUT/ve-reader.tgz" -C "$W" --exclude='ck-*/cma_state.npz' --exclude='wm-*' . 2>/dev/null
  tail -n 2 "$W"/*.log 2>/dev/null | cut -c1-240
}

if [ "${1:-}" = start ]; then
  nproc; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
  export W WORKERS ITERS DEVICE GENS_TR SCORE_T FITS SMOKE REAL_DATA DREAMER
fi
detach_or_wait "$@"
