# What the racing scripts in scripts/gpu share (sourced, not run):  . "$(dirname "$0")/common.sh"
# They run from the repository root of a lent machine, with the cp312 wheels carried in .whl/.
export PYTHONUNBUFFERED=1 SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy PYGAME_HIDE_SUPPORT_PROMPT=1
export GDL_STUDIO_USER_DIR=/tmp/gdl-user OMP_NUM_THREADS=1

install_wheels() {  # the carried wheels into /tmp/site (put it on PYTHONPATH); TINY=1 (a CPU smoke test) skips it
  [ -n "${TINY:-}" ] && return 0
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
}

prepare_once() {  # the wheels into /tmp/site and the native rasteriser, once per lease (later calls skip both)
  if [ ! -f /tmp/site/.done ]; then
    install_wheels || return 1
    touch /tmp/site/.done
  fi
  ls gdl_studio/racing/_fastraster*.so >/dev/null 2>&1 || build_native /dev/null
}

build_native() {  # build_native LOG: the native frame rasteriser (without it the fast renderer draws with pygame, ~2x slower)
  python3 setup.py -q build_ext --inplace > "$1" 2>&1 || echo "native rasteriser not built"
}

init_world() {  # init_world DIR TAG [M_DIR]: carracing-vae-TAG, an M (default carracing-mdnrnn-TAG) and the shipped
                # dream driver under the names a round's models folder has (carracing-vae, carracing-mdnrnn, …)
  rm -rf "$1"; mkdir -p "$1"
  cp -r "models/carracing-vae-$2" "$1/carracing-vae"
  cp -r "${3:-models/carracing-mdnrnn-$2}" "$1/carracing-mdnrnn"
  cp -r models/carracing-controller-dream "$1/"
}

world_dirs() {  # world_dirs CONTROLLER: "VAE_DIR MDN_DIR", the V and M its card names (racing.worlds.resolve_world);
                # exported, so a detached `chain` can call it
  python3 -c "import sys; from gdl_studio.racing.worlds import resolve_world as r
w = r(sys.argv[1]); print(w.vae_dir.resolve(), w.mdn_dir.resolve())" "$1"
}
export -f world_dirs

choose_distilled() {  # choose_distilled CANDIDATE: the imitation-trained driver CANDIDATE (a model folder) against the
  # shipped one on $SELECT fresh validation tracks from $SELECT_FIRST ($WORKERS workers), by the rule declared before
  # scoring: it replaces the shipped one only with a higher mean and no more episodes under 800 (written into its
  # card as `selection`). Only a replacement is scored on the stock env, $EPISODES episodes on the bench's tracks
  # (1,000,000…) and on 7,000,000…. Writes $W/select.json, decision.json and bench-*.json. Exported, for a detached
  # `chain`.
  local name=carracing-controller-distilled cand=$1
  python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks "$SELECT" \
    --workers "$WORKERS" "models/$name" "$cand" > "$W/select.json" 2> "$W/select.log" || return 1
  python3 - "$W/select.json" "$cand/card.json" > "$W/decision.json" <<'PY' || return 1
import json, sys
import numpy as np
d = json.load(open(sys.argv[1]))
stats = [{"mean": round(float(np.mean(r)), 1), "std": round(float(np.std(r)), 1), "min": round(float(np.min(r)), 1),
          "under_800": int((np.asarray(r) < 800).sum())} for r in d["returns"]]
shipped, new = stats
replace = new["mean"] > shipped["mean"] and new["under_800"] <= shipped["under_800"]
n, first = len(d["returns"][0]), d["first_track"]
sel = {"tracks": f"{n} validation tracks from {first:,}", "rule": "higher mean and no more episodes under 800 "
       "than the driver shipped before", "this": new, "shipped_before": shipped, "replaced": replace}
card = json.load(open(sys.argv[2]))
card["selection"] = sel
json.dump(card, open(sys.argv[2], "w"), indent=2)
print(json.dumps(sel))
PY
  grep -q '"replaced": true' "$W/decision.json" || return 0  # kept the shipped driver: no test set is driven
  rm -rf "models/$name" && cp -r "$cand" "models/$name"
  for base in 1000000 7000000; do
    python3 -m gdl_studio bench racing --episodes "$EPISODES" --seed-base "$base" --workers "$WORKERS" \
      --controller "$name" --json > "$W/bench-$base.json" 2> "$W/bench-$base.log"
  done
}
export -f choose_distilled

chosen_report() {  # what choose_distilled wrote: the scores' summary, the decision and any stock scores
  tail -n 2 "$W/select.log" 2>/dev/null; cat "$W/decision.json" 2>/dev/null
  stock_summary "$W"/bench-*.json
}

stock_summary() {  # stock_summary FILE…: each non-empty `bench racing --json` score's score.* figures, one line a file
  local f
  for f in "$@"; do [ -s "$f" ] && python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
print(sys.argv[1], {k: round(v, 1) for k, v in d.items() if k.startswith('score.') and isinstance(v, (int, float))})" \
    "$f"; done
}

spread_rule() {  # spread_rule SELECT_JSON NAME…: the rule of sessions 41–43 on a `racing_value_equiv.py score` file
  # whose first driver is the shipped one and the others are NAME…: a candidate passes with a smaller std, a mean at
  # most 2.0 below and no more episodes under 800. One line per candidate on stderr; on stdout the passing one with
  # the smallest std, or "none". Exported, for a detached `chain`.
  python3 - "$@" <<'PY'
import json, sys
import numpy as np
r = [np.asarray(x, float) for x in json.load(open(sys.argv[1]))["returns"]]
ship, passed = r[0], []
for name, b in zip(sys.argv[2:], r[1:]):
    ok = b.std() < ship.std() and b.mean() >= ship.mean() - 2.0 and (b < 800).sum() <= (ship < 800).sum()
    print(f"{name}: {b.mean():.1f} ± {b.std():.1f}, {(b < 800).sum()} under 800, min {b.min():.1f}; shipped "
          f"{ship.mean():.1f} ± {ship.std():.1f}, {(ship < 800).sum()}, min {ship.min():.1f}: "
          f"{'passes' if ok else 'fails'}", file=sys.stderr)
    if ok:
        passed.append((b.std(), name))
print(min(passed)[1] if passed else "none")
PY
}
export -f spread_rule

running() {  # running PIDFILE: whether the process it names is alive
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_for() {  # wait_for PIDFILE SECONDS: sleep until then, or until that process ends
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ] && running "$1"; do sleep 5; done
}

detach_or_wait() {  # detach_or_wait start|wait SECONDS: with start, run the caller's `chain` function detached (setsid,
                    # so it outlives the device call; export what it reads first); then wait for it and call `snapshot`
  case "${1:-}" in
    start)
      export -f chain
      setsid nohup bash -c chain > "$W/chain.log" 2>&1 < /dev/null &
      echo $! > "$W/chain.pid" ;;
    wait) ;;
    *) echo "usage: $0 start|wait WAIT_SECONDS"; exit 2 ;;
  esac
  wait_for "$W/chain.pid" "${2:-0}"; snapshot
}
