#!/usr/bin/env bash
# Issue #13 (session 30): a dream for a driver its world has never seen. The imitation-trained driver taught in the
# dream driver's world (V v2 + M v4; stage A of scripts/gpu/distill_world.sh, carried in A as that script says)
# drives the real game at ~920, but M v4 dreams it off the road (its data hold no driving of that pace). Here:
# EPISODES rollouts of that driver with the iterate policy's exploration (collect.py: parameter and correlated action
# noise, a share of random policies; tracks from SEED), then two Ms trained on them from M v4, side by side on the GPU
# for MINUTES each:
# span1 (scheduled sampling P 0.3, single steps: M v2's recipe) and span25 (P 0.5 in runs of 25: session 10's).
# The dreaming M of the driver's world is then one of these behind M v4's reader (mdn_rnn.ReadMDNRNN.from_pair,
# built on the CPU afterwards), so the driver reads exactly the h it reads in the real game.
#   A=runs/v4a-carry bash scripts/gpu/driver_world.sh start WAIT_SECONDS | wait WAIT_SECONDS
# Env: W (/tmp/drw; a new folder per run, or the same one to train more Ms on its rollouts: collect keeps the
# episodes it finds), EPISODES (400), SHARE (0.85: agent episodes), SEED (5950000), WORKERS (16), MINUTES (4),
# LATENT (sample: M learns V's sampled z, the paper's; mean: V's μ, what the driver reads in the real game).
# The Ms are W/m-spanN-LATENT. Run from the repository root with .whl/ and A carried.
# Session 31: DRIVER (carracing-controller-distilled from A; carracing-controller-dream: the shipped dream driver, A
# not needed) and VARIANTS (default "span1-LATENT span25-LATENT"): each spanN-LATENT[-joint][-scratch] trains one M,
# all at once on the one GPU; -joint gives it a joint mixture (mdn-rnn --mixture joint: M v4's LSTM and reward and
# episode-end heads, a new mixture head); -scratch starts from random weights instead of M v4.
# Session 32: SWERVE (0: none) more episodes of the swerve policy (collect.py: the driver with its exploration noise,
# and now and then the wheel held hard to one side for 5-25 steps, so the car leaves the road), tracks from
# SWERVE_SEED (5980000), collected into W/roll-swerve and trained on beside the others (linked into W/roll as
# ep_1NNNNN); a variant ending in -v5 starts from M v5's dreamer before its reward refit (the session-31 log's
# dreamer-span1-mean-joint.safetensors) instead of M v4.
# Session 33: a variant with -rollN (e.g. span1-mean-joint-v5-roll30) adds mdn-rnn --rollout-horizon N (the multi-step
# loss: N steps on M's own samples with their gradient, scored against the real trajectory); -wX sets its weight.
# Session 34: -fF adds --rollout-focus F (that share of windows placed around a departure from the road), -mseW
# --rollout-mse W (the expected latent's squared error along the stretch), e.g. span1-mean-joint-v5-roll30-f0.5-mse8.
set -u
. "$(dirname "$0")/common.sh"
W=${W:-/tmp/drw}
OUT=${OUT:-/tmp/out}
EPISODES=${EPISODES:-400} SHARE=${SHARE:-0.85} SEED=${SEED:-5950000} WORKERS=${WORKERS:-16} MINUTES=${MINUTES:-4}
A=${A:-runs/v4a-carry} LATENT=${LATENT:-sample} DRIVER=${DRIVER:-carracing-controller-distilled}
SWERVE=${SWERVE:-0} SWERVE_SEED=${SWERVE_SEED:-5980000}
LOG31=resources/logs/world-model-v2/2026-12-06-joint
VARIANTS=${VARIANTS:-"span1-$LATENT span25-$LATENT"}
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site:$PWD

chain() {  # what runs detached: every step logs into $W
  local gs="python3 -m gdl_studio train world-model" mw="$W/models" v
  init_world "$mw" v2 models/carracing-mdnrnn-v4 || return 1
  [ "$DRIVER" = carracing-controller-dream ] || cp -r "$A/$DRIVER" "$mw/" || return 1
  $gs collect --policy iterate --agent-share "$SHARE" --models "$mw" --controller "$DRIVER" \
    --episodes "$EPISODES" --seed "$SEED" --workers "$WORKERS" --out "$W/roll" > "$W/collect.log" 2>&1 || return 1
  if [ "$SWERVE" -gt 0 ]; then
    $gs collect --policy swerve --models "$mw" --controller "$DRIVER" --episodes "$SWERVE" --seed "$SWERVE_SEED" \
      --workers "$WORKERS" --out "$W/roll-swerve" > "$W/collect-swerve.log" 2>&1 || return 1
    local f n
    for f in "$W"/roll-swerve/ep_*.npz; do
      n=${f##*/ep_}; ln -sf "$f" "$W/roll/ep_1${n#?}"
    done
  fi
  mkdir -p "$W/init-v5/carracing-mdnrnn"
  cp "$LOG31/dreamer-card.json" "$W/init-v5/carracing-mdnrnn/card.json"
  cp "$LOG31/dreamer-span1-mean-joint.safetensors" "$W/init-v5/carracing-mdnrnn/carracing-mdnrnn.safetensors"
  local common="--device cuda --max-minutes $MINUTES --data $W/roll --vae $mw/carracing-vae \
    --reward-weight 5 --done-weight 2 --start-share 0.25 --seq-len 300"
  for v in $VARIANTS; do  # spanN-LATENT[-joint][-scratch]
    local span=${v%%-*} rest=${v#*-} opts init="--init $mw/carracing-mdnrnn"
    case $span in span1) opts="--open-loop 0.3" ;; *) opts="--open-loop 0.5 --open-loop-span ${span#span}" ;; esac
    case $rest in *-scratch*) init="" ;; *-v5*) init="--init $W/init-v5/carracing-mdnrnn" ;; esac
    case $rest in *-joint*) opts="$opts --mixture joint" ;; esac
    case $rest in *-roll*) local h=${rest##*-roll}; opts="$opts --rollout-horizon ${h%%-*}" ;; esac
    case $rest in *-w[0-9]*) local w=${rest##*-w}; opts="$opts --rollout-weight ${w%%-*}" ;; esac
    case $rest in *-f[0-9]*) local f=${rest##*-f}; opts="$opts --rollout-focus ${f%%-*}" ;; esac
    case $rest in *-mse[0-9]*) local q=${rest##*-mse}; opts="$opts --rollout-mse ${q%%-*}" ;; esac
    $gs mdn-rnn $common $init $opts --latent "${rest%%-*}" --out "$W/m-$v" --ckpt "$W/ck-$v" > "$W/m-$v.log" 2>&1 &
  done
  wait
}

snapshot() {
  (cd "$W" && tar czf "$OUT/driver-world.tgz" collect*.log chain.log m-span*.log m-span*/carracing-mdnrnn 2>/dev/null)
  tail -n 2 "$W/collect.log" "$W/collect-swerve.log" 2>/dev/null | cut -c1-200
  for v in $VARIANTS; do tail -n 2 "$W/m-$v.log" 2>/dev/null | cut -c1-250; done
}

if [ "${1:-}" = start ]; then
  nproc
  export W EPISODES SHARE SEED WORKERS MINUTES A LATENT DRIVER VARIANTS SWERVE SWERVE_SEED LOG31
  export -f init_world
fi
detach_or_wait "$@"
