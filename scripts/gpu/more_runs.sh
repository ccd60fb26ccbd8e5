#!/usr/bin/env bash
# Session 42 (rules declared in resources/logs/world-model-v2/2026-12-07-more-runs/README.md before anything ran):
# four more independent runs of session 27's imitation recipe in parallel on the device's 16 cores (4 workers each;
# two with the shipped teacher, two with the alat-90 teacher of session 36; each on its own training tracks), the
# average of each run's rounds 2–5 exported, and candidate D: the shipped gated controller whose road driver is the
# average of all six runs (the shipped driver's two runs and these four, one share each; swap_driver.py
# --donor-runs 2). Then D against the shipped driver on 512 fresh selection tracks; only a D that passes drives the
# two test sets (100 stock episodes each), once.
# Session 43 (2026-12-07-more-runs-2/README.md) ran the same chain with other runs, donor weight and selection tracks:
#   RUN_FIRSTS="10000000 …" RUN_TEACHERS="shipped … 90 …" DONOR_RUNS=6 CAND=cand-e SELECT_FIRST=6009296 STOP_AFTER=swap
# (RUN_TEACHERS: "shipped", a corner limit alat, or teacher overrides as JSON without spaces per run; STOP_AFTER=swap
# ends the chain once the candidates are built, so their selection can run elsewhere.)
# Session 44 (2026-12-07-seen-horizon/README.md): CAND_ALONE names a second candidate whose road driver averages only
# this chain's runs; the selection then scores the shipped driver, CAND and CAND_ALONE, and spread_rule picks one.
#   bash scripts/gpu/more_runs.sh start WAIT_SECONDS
#   bash scripts/gpu/more_runs.sh wait WAIT_SECONDS     # returns early when everything ended
# Every call snapshots the runs' logs, students, exports, candidate and scores into $OUT/more-runs.tgz (the gathered
# states stay on the machine). Run from the repository root with .whl/ carried. A chain started again skips the runs
# whose export exists.
set -u
. "$(dirname "$0")/common.sh"
W=${W:-/tmp/mr}
OUT=${OUT:-/tmp/out}
WORKERS=${WORKERS:-16} SELECT_FIRST=${SELECT_FIRST:-6008784} SELECT=${SELECT:-512} EPISODES=${EPISODES:-100}
RUN_WORKERS=${RUN_WORKERS:-4} SEQUENTIAL=${SEQUENTIAL:-}  # on a 2-core CPU: RUN_WORKERS=2 WORKERS=2 SEQUENTIAL=1 TINY=1
RUN_FIRSTS=${RUN_FIRSTS:-8500000 8600000 8700000 9500000} RUN_TEACHERS=${RUN_TEACHERS:-shipped shipped 90 90}
DONOR_RUNS=${DONOR_RUNS:-2} CAND=${CAND:-cand-d} CAND_ALONE=${CAND_ALONE:-} STOP_AFTER=${STOP_AFTER:-}
mkdir -p "$W" "$OUT"
prepare_once || exit 1
export PYTHONPATH=/tmp/site:$PWD

chain() {  # what runs detached: every step logs into $W
  local R=resources/logs/world-model-v2/2026-12-06-distill-ensemble D=resources/logs/world-model-v2/2026-12-07-margin-driver
  local S=models/carracing-controller-distilled k pids=() exports=()
  local -a firsts teachers
  read -r -a firsts <<< "$RUN_FIRSTS"
  for k in $RUN_TEACHERS; do
    case "$k" in
      shipped) teachers+=('{}') ;;
      '{'*) teachers+=("$k") ;;
      *) teachers+=("{\"alat\": $k}") ;;
    esac
  done
  for k in "${!firsts[@]}"; do
    [ -f "$W/ens-$k/carracing-controller-distilled/card.json" ] && continue  # done before (a resumed CPU chain)
    python3 scripts/racing_distill.py --student-hidden 64 --init-student "$R/session26-round6" \
      --replay "$R/session26-run" 9200000 24 --beta0 0.25 --out "$W/run-$k" --rounds 6 --tracks 32 \
      --first "${firsts[$k]}" --valid 16 --batch 4 --workers "$RUN_WORKERS" --fit-steps 4000 \
      --teacher "${teachers[$k]}" > "$W/run-$k.txt" 2>&1 &
    pids+=($!)
    [ -n "$SEQUENTIAL" ] && { wait $! || echo "run $k failed" >> "$W/chain.err"; }
  done
  for pid in "${pids[@]}"; do wait "$pid" || echo "run $pid failed" >> "$W/chain.err"; done
  pids=()
  for k in "${!firsts[@]}"; do
    exports+=("$W/ens-$k/carracing-controller-distilled")
    [ -f "$W/ens-$k/carracing-controller-distilled/card.json" ] && continue
    python3 scripts/racing_distill.py --export-ensemble "$W/run-$k:2" "$W/run-$k:3" "$W/run-$k:4" "$W/run-$k:5" \
      --valid 32 --workers "$RUN_WORKERS" --out "$W/ens-$k" --teacher "${teachers[$k]}" > "$W/ens-$k.txt" 2>&1 &
    pids+=($!)
    [ -n "$SEQUENTIAL" ] && { wait $! || echo "export $k failed" >> "$W/chain.err"; }
  done
  for pid in "${pids[@]}"; do wait "$pid" || echo "export $pid failed" >> "$W/chain.err"; done
  python3 "$D/swap_driver.py" "${exports[@]}" "$S" "$W/$CAND" \
    --average-with-donor --donor-runs "$DONOR_RUNS" > "$W/swap.txt" 2>&1 || return 1
  local cands=("$CAND")
  if [ -n "$CAND_ALONE" ]; then
    python3 "$D/swap_driver.py" "${exports[@]}" "$S" "$W/$CAND_ALONE" >> "$W/swap.txt" 2>&1 || return 1
    cands+=("$CAND_ALONE")
  fi
  [ "$STOP_AFTER" = swap ] && return 0
  local c chosen paths=()
  for c in "${cands[@]}"; do paths+=("$W/$c/carracing-controller-distilled"); done
  python3 scripts/racing_value_equiv.py score --models models --first "$SELECT_FIRST" --tracks "$SELECT" \
    --workers "$WORKERS" "$S" "${paths[@]}" > "$W/select.json" 2> "$W/select.log" || return 1
  # the declared rule (common.sh): against the shipped driver on these tracks, a smaller std, a mean at most 2.0
  # below and no more episodes under 800; of several that pass, the smallest std
  chosen=$(spread_rule "$W/select.json" "${cands[@]}" 2> "$W/decision.txt") || return 1
  [ "$chosen" = none ] && return 0  # none passed: no test set is driven
  echo "chosen: $chosen" >> "$W/decision.txt"
  for base in 1000000 7000000; do
    python3 -m gdl_studio bench racing --episodes "$EPISODES" --seed-base "$base" --workers "$WORKERS" \
      --controller "$W/$chosen/carracing-controller-distilled" --json > "$W/test-$base.json" 2> "$W/test-$base.log"
  done
}

snapshot() {
  tar czf "$OUT/more-runs.tgz" -C "$W" --exclude='*.npy' . 2>/dev/null
  local f
  for f in "$W"/run-*.txt; do tail -n 2 "$f" 2>/dev/null | cut -c1-200; done
  cat "$W/chain.err" "$W/swap.txt" 2>/dev/null; tail -n 3 "$W/select.log" 2>/dev/null; cat "$W/decision.txt" 2>/dev/null
  stock_summary "$W"/test-*.json
}

if [ "${1:-}" = start ]; then
  nproc
  export W WORKERS SELECT_FIRST SELECT EPISODES RUN_WORKERS SEQUENTIAL RUN_FIRSTS RUN_TEACHERS DONOR_RUNS CAND CAND_ALONE
  export STOP_AFTER
fi
detach_or_wait "$@"
