#!/usr/bin/env bash
# GPU round 1 (lent H100, 16 cores): train the music and ink models on the GPU while collecting
# CarRacing rollouts on 12 CPU workers. Run from the repository root with data/ and .whl/ present.
set -u
export PYTHONUNBUFFERED=1 SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy PYGAME_HIDE_SUPPORT_PROMPT=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" logs
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__)"
python3 -m gdl_studio train music-lstm --device cuda --max-minutes 8 > logs/music-lstm.log 2>&1 &
python3 -m gdl_studio train music-transformer --device cuda --max-minutes 8 > logs/music-transformer.log 2>&1 &
python3 -m gdl_studio train vrnn --device cuda --max-minutes 8 > logs/vrnn.log 2>&1 &
python3 -m gdl_studio train rnn-gmm --device cuda --max-minutes 8 > logs/rnn-gmm.log 2>&1 &
( python3 -m gdl_studio bench racing --speed --json > logs/racing-speed.json 2> logs/racing-speed.err;
  timeout 420 python3 -m gdl_studio train world-model collect --episodes 480 --workers 12 > logs/collect.log 2>&1 ) &
wait
ls data/racing/rollouts | wc -l
tar czf "$OUT/models1.tgz" models
tar czf "$OUT/logs1.tgz" logs
tail -n 4 logs/*.log
