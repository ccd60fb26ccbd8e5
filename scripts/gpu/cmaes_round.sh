#!/usr/bin/env bash
# Continue CMA-ES on the Dream controller on a many-core lent machine.
#
# The training runs detached (setsid) so it outlives one device call; each call waits a while and
# snapshots the controller, the CMA-ES checkpoint and the log into $OUT.
#   bash scripts/gpu/cmaes_round.sh start WORKERS POPSIZE MAX_MINUTES WAIT_SECONDS
#   bash scripts/gpu/cmaes_round.sh wait WAIT_SECONDS        # returns early when training ended
#   bash scripts/gpu/cmaes_round.sh bench WORKERS            # waits for training to end, then scores
# Env: ROLLOUTS (tracks per candidate, default 4); CKPT_FROM (a CMA-ES checkpoint folder carried from an
# earlier lease, e.g. the ckpt/ of a returned controller.tgz: the run resumes from it instead of --init).
# Run from the repository root with .whl/ carried (cp312 wheels of gymnasium, Box2D, pygame, cma).
set -u
. "$(dirname "$0")/common.sh"
W=/tmp/wm
OUT=${OUT:-/tmp/out}
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site


snapshot() {
  tar czf "$OUT/controller.tgz" -C "$W" models/carracing-controller ckpt train.log 2>/dev/null
  grep "gen " "$W/train.log" | tail -n 4
  tail -n 2 "$W/train.log"
}

case "${1:-}" in
  start)
    workers=$2 popsize=$3 minutes=$4
    nproc; mkdir -p "$W/models"
    if [ -n "${CKPT_FROM:-}" ]; then rm -rf "$W/ckpt"; cp -r "$CKPT_FROM" "$W/ckpt"; fi
    cp -r models/carracing-vae models/carracing-mdnrnn models/carracing-controller "$W/models/"
    setsid nohup python3 -m gdl_studio train world-model controller --models "$W/models" --out "$W/models" \
      --ckpt "$W/ckpt" --init models/carracing-controller --workers "$workers" --popsize "$popsize" \
      --rollouts "${ROLLOUTS:-4}" --batch-envs 4 --generations 2000 --max-minutes "$minutes" \
      > "$W/train.log" 2>&1 < /dev/null &
    echo $! > "$W/train.pid"
    wait_for "$W/train.pid" "$5"; snapshot ;;
  wait)
    wait_for "$W/train.pid" "$2"; snapshot ;;
  bench)
    while running "$W/train.pid"; do sleep 5; done
    snapshot
    python3 -m gdl_studio bench racing --episodes 100 --workers "$2" --models "$W/models" --record --json \
      > "$W/bench.json" 2> "$W/bench.err"
    cat "$W/bench.json"; tail -n 3 "$W/bench.err"
    tar czf "$OUT/controller.tgz" -C "$W" models/carracing-controller ckpt train.log bench.json ;;
  *) echo "usage: $0 start|wait|bench ..."; exit 2 ;;
esac
