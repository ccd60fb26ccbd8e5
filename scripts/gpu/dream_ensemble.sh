#!/usr/bin/env bash
# Dream CMA-ES judged by an ensemble of Ms trained on one union of rollouts (issue #13), on one
# lent H200 + 16 cores, detached; each call waits and snapshots into $OUT.
#   bash scripts/gpu/dream_ensemble.sh start WAIT_SECONDS   # set up, start, wait, snapshot
#   bash scripts/gpu/dream_ensemble.sh wait WAIT_SECONDS
# Why: the 2026-12-03 critic run took the min of two Ms trained on *different* rollouts; they
# disagreed about every small change of the v2 driver (flat fitness). Here K Ms (different seeds)
# learn from the *same* union of every kept policy's rollouts (the shipped real controller, the v2
# dream driver with its noise and random share, the round-3 and critic controllers whose exploits
# M must learn pay nothing), all from the v2 M on V v2; each candidate scores its lowest M's mean
# return, so only where the Ms agree (where data are dense) can CMA-ES climb.
# Stages (logs in $W): collect → encode once → K Ms in parallel → dream CMA-ES from the v2 driver
# (M1 drives, M2..MK critics) → real check on 32 tracks from seed 6,000,000 → bench's 100 episodes.
# Needs .whl carried (gymnasium, Box2D, pygame, cma, farama-notifications, platformdirs, cloudpickle).
set -u
. "$(dirname "$0")/common.sh"
W=${W:-/tmp/de}; OUT=${OUT:-/tmp/out}
K=${K:-4}; M_MINUTES=${M_MINUTES:-5}; DREAM_MINUTES=${DREAM_MINUTES:-6}; TAU=${TAU:-1.15}
WORKERS=${WORKERS:-15}; EXTRA=${EXTRA:-}
DEV=${DEV:-cuda}
# TINY=1: a CPU smoke test of the whole flow (2-episode collections of 60 steps, tiny trainings)
if [ -n "${TINY:-}" ]; then DEV=cpu; EPS=(2 2 2 2); SCORE=(1 1); T=(--tiny); CT=(--max-steps 60); else
  EPS=(100 160 60 60); SCORE=(32 100); T=(); CT=(); fi
LOGS=resources/logs/world-model-v2
mkdir -p "$W" "$OUT"
snapshot() {
  (cd "$W" && tar czf "$OUT/dream-ensemble.tgz" --exclude='*.npz' --exclude='*.pt' out m*/carracing-mdnrnn \
      ckpt/dream_log.csv ./*.log ./*.json 2>/dev/null)
  tail -n 2 "$W"/*.log 2>/dev/null | cut -c1-200
  cat "$W"/score-*.json 2>/dev/null | grep -E '"score\.(mean|std|min|max|episodes)"'
}
collect() {  # name policy models controller episodes seed
  python3 -m gdl_studio train world-model collect --policy "$2" --models "$3" --controller "$4" --episodes "$5" \
    --seed "$6" --workers "$WORKERS" "${CT[@]}" --out "$W/roll-$1" > "$W/collect-$1.log" 2>&1
  local k=$7
  for f in "$W/roll-$1"/ep_*.npz; do n=${f##*/ep_}; ln -f "$f" "$W/union/ep_${k}${n#?}"; done
}
driver() {
  local gs="python3 -m gdl_studio" v2=runs/init-v2 t0=$SECONDS
  mkdir -p "$W/union"
  collect real agent models carracing-controller "${EPS[0]}" 5500000 9
  collect v2 iterate $v2 carracing-controller-dream "${EPS[1]}" 7100000 8
  collect critic agent runs/pol-critic carracing-controller-dream "${EPS[2]}" 7200000 7
  collect r3 agent runs/pol-r3 carracing-controller-dream "${EPS[3]}" 7300000 6
  echo "collected $(ls "$W/union" | wc -l) episodes in $((SECONDS - t0)) s" | tee "$W/stages.log"
  mkdir -p "$W/m1-ckpt"
  python3 -c "
from pathlib import Path
from gdl_studio.racing.train_mdn import encode_series
encode_series(Path('$W/union'), Path('$v2/carracing-vae'), Path('$W/m1-ckpt/series.npz'), '$DEV')" > "$W/encode.log" 2>&1
  echo "encoded after $((SECONDS - t0)) s" | tee -a "$W/stages.log"
  for i in $(seq 1 "$K"); do
    mkdir -p "$W/m$i-ckpt"; [ "$i" = 1 ] || cp "$W/m1-ckpt/series.npz" "$W/m$i-ckpt/"
    $gs train world-model mdn-rnn --device "$DEV" "${T[@]}" --data "$W/union" --vae $v2/carracing-vae --out "$W/m$i" \
      --ckpt "$W/m$i-ckpt" --init $v2/carracing-mdnrnn --seed "$i" --max-minutes "$M_MINUTES" \
      --reward-weight 5 --done-weight 2 --start-share 0.25 --open-loop 0.3 --seq-len 300 > "$W/m$i.log" 2>&1 &
  done
  wait
  echo "Ms trained after $((SECONDS - t0)) s" | tee -a "$W/stages.log"
  mkdir -p "$W/world"; cp -r $v2/carracing-vae "$W/world/"; cp -r "$W/m1/carracing-mdnrnn" "$W/world/"
  local critics=() c="$W/out/carracing-controller-dream"
  for i in $(seq 2 "$K"); do critics+=(--critic-mdn "$W/m$i/carracing-mdnrnn"); done
  $gs train world-model dream-controller --models "$W/world" --out "$W/out" --ckpt "$W/ckpt" \
    --init $v2/carracing-controller-dream "${critics[@]}" --series "$W/m1-ckpt/series.npz" --sigma-max 0.5 \
    --tau "$TAU" --generations 400 --max-minutes "$DREAM_MINUTES" --device "$DEV" "${T[@]}" $EXTRA > "$W/train.log" 2>&1 || return
  echo "dream CMA-ES done after $((SECONDS - t0)) s" | tee -a "$W/stages.log"
  $gs bench racing --episodes "${SCORE[0]}" --seed-base 6000000 --workers "$WORKERS" --models "$W/world" --controller "$c" \
    --json > "$W/score-32.json" 2> "$W/score-32.log"
  $gs bench racing --episodes "${SCORE[1]}" --workers "$WORKERS" --models "$W/world" --controller "$c" \
    --json > "$W/score-100.json" 2> "$W/score-100.log"
  echo "scored after $((SECONDS - t0)) s" | tee -a "$W/stages.log"
}
case "${1:-}" in
  start)
    install_wheels || exit 1
    export PYTHONPATH=/tmp/site:$PWD
    build_native "$W/build.log"
    init_world runs/init-v2 v2
    rm -rf runs/pol-critic runs/pol-r3; mkdir -p runs/pol-critic runs/pol-r3
    cp -r runs/init-v2/carracing-vae runs/init-v2/carracing-mdnrnn runs/pol-critic/
    cp -r $LOGS/2026-12-03-critic/controller-critic runs/pol-critic/carracing-controller-dream
    cp -r runs/init-v2/carracing-vae runs/pol-r3/; cp -r $LOGS/2026-12-03-round3/mdnrnn-round3 runs/pol-r3/carracing-mdnrnn
    cp -r $LOGS/2026-12-03-round3/controller-round3 runs/pol-r3/carracing-controller-dream
    [ -n "${TINY:-}" ] || nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; nproc
    setsid nohup bash "$0" driver > "$W/driver.log" 2>&1 < /dev/null &
    echo $! > "$W/pid"; wait_for "$W/pid" "$2"; snapshot ;;
  driver) export PYTHONPATH=/tmp/site:$PWD; driver ;;
  wait) wait_for "$W/pid" "$2"; snapshot ;;
  *) echo "usage: $0 start|wait SECONDS"; exit 2 ;;
esac
