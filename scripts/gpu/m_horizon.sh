#!/usr/bin/env bash
# Does training M on longer open-loop runs make the dream rank drivers better? (issue #13)
# On a lent GPU machine (one GPU, 16 cores), from the repository root, .whl/ carried (cp312 wheels:
# gymnasium, Box2D, pygame, cma, cloudpickle, farama-notifications, platformdirs):
#   bash scripts/gpu/m_horizon.sh train      # collect, train the Ms, copy them to $OUT and runs/mh (≈ 7 min)
#   bash scripts/gpu/m_horizon.sh fidelity   # bench racing --fidelity of each M (carry runs/mh; ≈ 4 min)
#   FID_VARIANTS="v2 span25" REAL_TRACKS=24 DREAMS=64 bash scripts/gpu/m_horizon.sh fidelity   # steadier rankings
#   EPS_REAL=1200 EPS_DREAM=240 VARIANTS=span1 FID_VARIANTS="v2 span1" REAL_TRACKS=24 DREAMS=64 MINUTES=6 \
#     AND_FIDELITY=1 bash scripts/gpu/m_horizon.sh start 560      # more competent data: train, then fidelity,
#   bash scripts/gpu/m_horizon.sh wait 560                         # detached; later calls of the lease wait
# train: 120 episodes of the shipped real controller (its world, exploration noise) and 120 of the
# iterate policy around the shipped dream controller (v2 world), encoded by V v2; then the Ms below,
# side by side on the one GPU, each from the shipped M v2 for $MINUTES minutes with the shipped M's
# options (reward weight 5, done weight 2, start share 0.25, windows of 300):
#   span1   scheduled sampling 0.3, steps drawn alone (the shipped M's recipe, on the new data)
#   span25  scheduled sampling 0.5 in runs of 25 steps
#   span50  scheduled sampling 0.5 in runs of 50 steps
# fidelity: each M as carracing-mdnrnn-v2 beside V v2 and the shipped dream controller (its base),
# the full benchmark (33 controllers × 8 tracks, 16 dreams, τ 1.0), all run at once.
set -u
. "$(dirname "$0")/common.sh"
OUT=${OUT:-/tmp/out}
W=${W:-/tmp/mh}
MINUTES=${MINUTES:-4}
VARIANTS=${VARIANTS:-"span1 span25 span50"}  # the Ms that train makes
FID_VARIANTS=${FID_VARIANTS:-$VARIANTS}       # the Ms fidelity judges; it also knows v2 (the shipped M)
DREAMS=${DREAMS:-16}                          # fidelity: dreams per controller
REAL_TRACKS=${REAL_TRACKS:-8}  # fidelity: real tracks per controller
TINY=${TINY:-}  # 1: a CPU smoke test of the flow (tiny sizes)
RUNS=${RUNS:-runs/mh${TINY:+-tiny}}  # where the Ms are kept (carried to the fidelity call)
mkdir -p "$OUT" "$W/logs" "$RUNS"
if [ -n "$TINY" ]; then EPS=2; TINYARG="--tiny"; DEV=cpu; FID="--quick"; WORKERS=2; else EPS=120; TINYARG=""; DEV=cuda; FID=""; WORKERS=15; fi
EPS_REAL=${EPS_REAL:-$EPS}    # train: episodes of the shipped real controller (e.g. 1200: much more competent driving)
EPS_DREAM=${EPS_DREAM:-$EPS}  # train: episodes of the iterate policy around the shipped dream controller
gs="python3 -m gdl_studio"

setup() {
  install_wheels || exit 1
  export PYTHONPATH=/tmp/site:$PWD
  build_native "$W/logs/build.log"
  # the v2 world under the names the agent policy and M's training look for
  init_world "$W/v2" v2
}

opts() {  # the M options of a variant
  case "$1" in
    span1) echo "--open-loop 0.3 --open-loop-span 1" ;;
    span25) echo "--open-loop 0.5 --open-loop-span 25" ;;
    span50) echo "--open-loop 0.5 --open-loop-span 50" ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
  esac
}

report() {  # into this call's $OUT: what the detached run has produced so far
  tail -n 4 "$W/logs/detached.log" "$W"/logs/collect-*.log "$W"/logs/m-*.log 2>/dev/null | cut -c1-200
  cp "$W/m-horizon-train.tgz" "$W"/fidelity-*.json "$W"/logs/fidelity-*.log "$OUT/" 2>/dev/null
  running "$W/detached.pid" && echo "still running" || echo "ended"
}

case "${1:-}" in
  train)
    setup
    t0=$SECONDS
    # the two sources share the cores in proportion to their episodes
    wr=$(( WORKERS * EPS_REAL / (EPS_REAL + EPS_DREAM) )); [ "$wr" -ge 1 ] || wr=1
    wd=$(( WORKERS - wr )); [ "$wd" -ge 1 ] || wd=1
    $gs train world-model collect --policy agent --models models --episodes $EPS_REAL --seed 5600000 \
      --workers $wr --out "$W/r-real" $TINYARG > "$W/logs/collect-real.log" 2>&1 &
    $gs train world-model collect --policy iterate --models "$W/v2" --controller carracing-controller-dream \
      --episodes $EPS_DREAM --seed 5700000 --workers $wd --out "$W/r-dream" $TINYARG > "$W/logs/collect-dream.log" 2>&1 &
    wait
    mkdir -p "$W/rollouts"
    # hard links, not copies: a thousand episodes of frames are gigabytes
    for f in "$W"/r-real/ep_*.npz; do n=${f##*/ep_}; ln -f "$f" "$W/rollouts/ep_1${n#?}"; done
    for f in "$W"/r-dream/ep_*.npz; do n=${f##*/ep_}; ln -f "$f" "$W/rollouts/ep_2${n#?}"; done
    echo "collected $(ls "$W/rollouts" | wc -l) episodes in $((SECONDS - t0)) s"
    tail -n 2 "$W"/logs/collect-*.log
    for v in $VARIANTS; do
      $gs train world-model mdn-rnn --device $DEV --max-minutes "$MINUTES" $TINYARG --data "$W/rollouts" \
        --vae "$W/v2/carracing-vae" --init "$W/v2/carracing-mdnrnn" --out "$W/m-$v" --ckpt "$W/ckpt-$v" \
        --seq-len 300 --reward-weight 5 --done-weight 2 --start-share 0.25 $(opts "$v") > "$W/logs/m-$v.log" 2>&1 &
    done
    wait
    echo "trained in $((SECONDS - t0)) s"
    for v in $VARIANTS; do
      grep -E "val loss" "$W/logs/m-$v.log" | tail -n 1
      rm -rf "${RUNS:?}/$v"; cp -r "$W/m-$v/carracing-mdnrnn" "$RUNS/$v"
    done
    tar czf "$W/m-horizon-train.tgz" -C "$(dirname "$RUNS")" "$(basename "$RUNS")" -C "$W" logs
    cp "$W/m-horizon-train.tgz" "$OUT/" 2>/dev/null || true
    ;;
  start)  # train (then fidelity with AND_FIDELITY=1) detached, so it outlives a device call; wait, report
    setsid nohup bash -c "bash '$0' train && { [ -z '${AND_FIDELITY:-}' ] || bash '$0' fidelity; }" \
      > "$W/logs/detached.log" 2>&1 < /dev/null &
    echo $! > "$W/detached.pid"
    wait_for "$W/detached.pid" "$2"; report ;;
  wait)  # a later call of the same lease: wait (returns early when the detached run ended), report
    wait_for "$W/detached.pid" "$2"; report ;;
  fidelity)
    setup
    t0=$SECONDS
    n=$(echo $FID_VARIANTS | wc -w)
    for v in $FID_VARIANTS; do
      d="$W/world-$v"; rm -rf "$d"; mkdir -p "$d"
      m="$RUNS/$v"; [ "$v" = v2 ] && m=models/carracing-mdnrnn-v2  # v2: the shipped M, for comparison
      cp -r models/carracing-vae-v2 "$d/"; cp -r "$m" "$d/carracing-mdnrnn-v2"; cp -r models/carracing-controller-dream "$d/"
      # the controller's card names the M it drives with by sha256 (else the shipped M v2 would be found first)
      python3 -c "
import json; from pathlib import Path
c = Path('$d/carracing-controller-dream/card.json'); card = json.loads(c.read_text())
card['world']['mdn_sha256'] = json.loads(Path('$d/carracing-mdnrnn-v2/card.json').read_text())['sha256']
c.write_text(json.dumps(card, indent=1))"
      $gs bench racing --fidelity $FID --real-tracks "$REAL_TRACKS" --dreams "$DREAMS" --workers $(( WORKERS / n > 0 ? WORKERS / n : 1 )) --device $DEV --models "$d" \
        --controller "$d/carracing-controller-dream" --json > "$W/fidelity-$v.json" 2> "$W/logs/fidelity-$v.log" &
    done
    wait
    echo "fidelity in $((SECONDS - t0)) s"
    for v in $FID_VARIANTS; do
      python3 -c "
import json, sys
d = json.load(open('$W/fidelity-$v.json'))
keys = ('rank_corr', 'rank_corr_working', 'real_reliability', 'real_reliability_working', 'dream_reliability',
        'dream_reliability_working', 'return_ratio',
        'teacher_forced.rank_corr', 'on_road', 'on_road_frames', 'z_nll.h1', 'z_nll.h10', 'z_nll.h50', 'base_real_mean')
print('$v', ' '.join(f'{k}={d.get(\"fidelity.\" + k, float(\"nan\")):.3f}' for k in keys))"
    done
    cp "$W"/fidelity-*.json "$W"/logs/fidelity-*.log "$OUT/" 2>/dev/null || true
    ;;
  *) echo "usage: $0 train|fidelity|start WAIT|wait WAIT"; exit 2 ;;
esac
