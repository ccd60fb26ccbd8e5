#!/usr/bin/env bash
# Ray backend on a lent many-core machine (Python 3.12, no internet), about 5 minutes:
#  1. installs the carried cp312 wheels (.whl/, made here by `python scripts/gpu/ray_wheels.py`:
#     Ray 2.60.0 repacked without its Java jars and RL/data libraries, its dependencies, gymnasium,
#     Box2D, pygame, cma; 61 MiB) and builds the native rasteriser;
#  2. `bench racing --backend ray --scaling --json`: env steps/s with 1, 2, 4, … workers, Ray vs the
#     local process pool (efficiency at the largest count, overhead per task) → $OUT/ray_scaling.json;
#  3. a Ray "cluster" started with `ray start --head` and the controller trained through
#     --ray-address for 2 generations, compared with the local backend: the logs must be identical.
# Run from the repository root:  bash scripts/gpu/ray_scaling.sh   (carry: .whl)
set -eu
export PYTHONUNBUFFERED=1 SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy PYGAME_HIDE_SUPPORT_PROMPT=1
export GDL_STUDIO_USER_DIR=/tmp/gdl-user OMP_NUM_THREADS=1
OUT="${OUT:-/tmp/ray-out}"; mkdir -p "$OUT"
WHL=${WHL:-.whl}   # where the carried wheels are
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$WHL"/*.whl
export PYTHONPATH="/tmp/site:$PWD" PATH="/tmp/site/bin:$PATH"
python3 setup.py -q build_ext --inplace >/dev/null 2>&1 || echo "native rasteriser not built (pygame draws)"
python3 -c "import ray, sys, os; print('ray', ray.__version__, 'python', sys.version.split()[0], 'cores', os.cpu_count())"

echo "== scaling"
python3 -m gdl_studio bench racing --backend ray --scaling --json > "$OUT/ray_scaling.json" 2> "$OUT/ray_scaling.err" \
  || { tail -n 20 "$OUT/ray_scaling.err"; exit 1; }
grep -E '"scaling\.(efficiency|overhead_ms_per_task|empty_task_ms|by_workers\.[0-9]+\.(local|ray)_steps_per_s|by_workers\.[0-9]+\.efficiency|renderer|cores)' "$OUT/ray_scaling.json"

echo "== cluster through --ray-address: same CMA-ES run as local"
RAY_worker_niceness=0 ray start --head --port=6390 --num-cpus="$(nproc)" --include-dashboard=false --disable-usage-stats > "$OUT/ray_start.log" 2>&1
trap 'ray stop --force >/dev/null 2>&1 || true' EXIT
MODELS=models
if [ ! -f models/carracing-vae/card.json ]; then  # a slim tree without weights: random-initialised V and M
  MODELS=/tmp/rmodels
  python3 -c "from pathlib import Path; from gdl_studio.racing.bench_scaling import _bench_models; print(_bench_models(Path('/nonexistent'), Path('$MODELS')))"
fi
args=(--popsize 15 --rollouts 2 --batch-envs 1 --generations 2 --max-steps 300 --seed 7 --models "$MODELS" --patience 0)
# each run's whole output goes to $OUT/train_*.log; the generation lines, warnings and errors are shown
# (a failed run shows its last lines: the earlier filter hid the error of the ~/.ray/auth_token case)
train() {  # NAME EXTRA-ARGS...
  local name=$1; shift
  if /usr/bin/time -f "$name %e s" python3 -m gdl_studio train world-model controller "${args[@]}" "$@" \
       > "$OUT/train_$name.log" 2>&1; then
    grep -E "gen |^$name |warning|error" "$OUT/train_$name.log" || true
  else
    echo "$name run failed:"; tail -n 15 "$OUT/train_$name.log"; return 1
  fi
}
train local --out /tmp/cl/lo --ckpt /tmp/cl/lc
train ray --out /tmp/cl/ro --ckpt /tmp/cl/rc --backend ray --ray-address 127.0.0.1:6390
python3 - <<'PY'
import csv, numpy as np
rows = lambda d: [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(open(f"/tmp/cl/{d}/controller_log.csv"))]
same_log = rows("lc") == rows("rc")
a, b = np.load("/tmp/cl/lc/cma_state.npz"), np.load("/tmp/cl/rc/cma_state.npz")
print("same log:", same_log, "| same CMA-ES mean and sigma:", bool(np.array_equal(a["mean"], b["mean"]) and a["sigma"] == b["sigma"]))
PY
echo "== bad address (expect one line, exit 2)"
python3 -m gdl_studio train world-model controller --tiny --models "$MODELS" --out /tmp/cl/x --ckpt /tmp/cl/x \
  --backend ray --ray-address 127.0.0.1:1 || echo "exit $?"
cp /tmp/cl/lc/controller_log.csv "$OUT/local_log.csv"; cp /tmp/cl/rc/controller_log.csv "$OUT/ray_log.csv"
