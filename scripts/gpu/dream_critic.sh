#!/usr/bin/env bash
# Dream CMA-ES with a critic M (issue #13), on one lent H200, detached; each call waits and snapshots.
#   bash scripts/gpu/dream_critic.sh start WAIT_SECONDS   # set up, start, wait, snapshot
#   bash scripts/gpu/dream_critic.sh wait WAIT_SECONDS
# The controller drives with the shipped v2 world (runs/init-v2: carracing-vae-v2, carracing-mdnrnn-v2
# under the round names) and starts from the shipped dream-trained driver; CRITIC (carried, e.g.
# runs/m3: an M trained on the same V from other rollouts) dreams the same starts, and each candidate
# keeps the lower of the two mean returns. Then the real check on 32 tracks from seed 6,000,000 (not
# the bench's) and the bench's 100 stock episodes. Needs .whl carried (gymnasium, Box2D, pygame, cma …).
set -u
. "$(dirname "$0")/common.sh"
# CRITIC= (empty): no critic, the v2 M alone judges (TAU sets the dream temperature)
# M_DIR: the M the controller drives and dreams with (default the shipped v2 M; e.g. runs/mh/span25,
# an M of scripts/gpu/m_horizon.sh, carried), beside V v2
W=${W:-/tmp/dc}; OUT=${OUT:-/tmp/out}; CRITIC=${CRITIC-runs/m3}; MINUTES=${MINUTES:-4.5}; TAU=${TAU:-1.15}
M_DIR=${M_DIR:-models/carracing-mdnrnn-v2}
WORKERS=${WORKERS:-15}; EXTRA=${EXTRA:-}
mkdir -p "$W" "$OUT"
snapshot() {
  tar czf "$OUT/dream-critic.tgz" -C "$W" out ckpt/dream_log.csv train.log score-32.json score-100.json 2>/dev/null
  grep "gen " "$W/train.log" | tail -n 3; tail -n 2 "$W/train.log"; cat "$W"/score-*.json 2>/dev/null | grep -E '"score\.(mean|std|min|max|episodes|first_seed)"'
}
driver() {
  local gs="python3 -m gdl_studio" m=runs/init-v2 c="$W/out/carracing-controller-dream"
  $gs train world-model dream-controller --models $m --out "$W/out" --ckpt "$W/ckpt" --init $m/carracing-controller-dream \
    ${CRITIC:+--critic-mdn "$CRITIC"} --sigma-max 0.5 --tau "$TAU" --generations 400 --max-minutes "$MINUTES" --device cuda $EXTRA \
    > "$W/train.log" 2>&1 || return
  $gs bench racing --episodes 32 --seed-base 6000000 --workers "$WORKERS" --models $m --controller "$c" --json > "$W/score-32.json" 2> "$W/score-32.log"
  $gs bench racing --episodes 100 --workers "$WORKERS" --models $m --controller "$c" --json > "$W/score-100.json" 2> "$W/score-100.log"
}
case "${1:-}" in
  start)
    install_wheels || exit 1
    export PYTHONPATH=/tmp/site:$PWD
    build_native "$W/build.log"
    init_world runs/init-v2 v2 "$M_DIR"
    setsid nohup bash "$0" driver > "$W/driver.log" 2>&1 < /dev/null &
    echo $! > "$W/pid"; wait_for "$W/pid" "$2"; snapshot ;;
  driver) export PYTHONPATH=/tmp/site:$PWD; driver ;;
  wait) wait_for "$W/pid" "$2"; snapshot ;;
  *) echo "usage: $0 start|wait SECONDS"; exit 2 ;;
esac
