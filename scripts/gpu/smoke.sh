#!/usr/bin/env bash
# GPU smoke test of the world-model pipeline on a lent machine (a few minutes): builds the native
# rasteriser with that machine's Python, checks its frames against stock CarRacing-v3, then runs
# tiny collect → vae (CUDA, then resumed) → mdn-rnn (CUDA). Run from the repository root with .whl/
# carried (cp312 wheels of gymnasium, Box2D, pygame, cma).
set -eu
export PYTHONUNBUFFERED=1 SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy PYGAME_HIDE_SUPPORT_PROMPT=1
export GDL_STUDIO_USER_DIR=/tmp/gdl-user OMP_NUM_THREADS=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site
python3 setup.py -q build_ext --inplace 2>&1 | grep -v -i "deprecat\|license\|\*\*\*\|^!!\|^\s*$\|See https\|corresp\|By 20" || true
ls gdl_studio/racing/_fastraster*.so
python3 -m gdl_studio bench racing --speed --steps 150 --tracks 2 --json | grep -E "speedup\"|frames_different|renderer|steps_per_s\""
W=/tmp/smoke
python3 -m gdl_studio train world-model collect --tiny --out $W/r --workers 4 | tail -n 2
python3 -m gdl_studio train world-model vae --tiny --device cuda --data $W/r --out $W/m --ckpt $W/c | tail -n 2
python3 -m gdl_studio train world-model vae --device cuda --data $W/r --out $W/m --ckpt $W/c --max-frames 512 --batch 32 --epochs 3 | grep -E "resumed|epoch 3 val|wrote"
python3 -m gdl_studio train world-model mdn-rnn --tiny --device cuda --data $W/r --out $W/m --ckpt $W/c | tail -n 2
ls $W/m
