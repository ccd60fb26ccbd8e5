#!/usr/bin/env bash
# Session 34: a candidate dreamer (an mdn-rnn --out's carracing-mdnrnn) made into a world the dream driver can be
# benched and trained in, as M v5 was (session 31): its reward head refitted in closed form on session 22's real
# returns behind M v4's reader (racing_value_equiv.py reward --read-world, ~75 s on 2 cores), then two model folders:
#   OUT/world  carracing-vae -> V v2, carracing-mdnrnn -> the refit   (dream-controller --models)
#   OUT/bench  carracing-vae-v2, carracing-mdnrnn-v5 -> the same, and a copy of the dream driver whose card names the
#              refit's sha256 (bench racing --models OUT/bench --controller OUT/bench/carracing-controller-dream; with
#              the shipped driver's card the shipped M v5, whose sha256 it names, would be preferred over OUT/bench's)
#   [RIDGE=1e12] bash resources/logs/world-model-v2/2026-12-06-rollout-world/probes/world.sh DREAMER OUT
# (RIDGE=1e12: the ridge so large that the head stays as trained; the world of M's own reward head)
# Run from the repository root.
set -eu
dreamer=$1 out=$2
tr=resources/logs/world-model-v2/2026-12-05-trust-region/h100
mkdir -p "$out/world" "$out/bench"
python3 scripts/racing_value_equiv.py reward --real-train $tr/real-train.npz --real-valid $tr/real-valid.npz \
  --mdn "$dreamer" --read-world ${RIDGE:+--ridge $RIDGE} --out "$out/rw" > "$out/reward.json" 2> "$out/reward.log"
ln -sfn "$PWD/models/carracing-vae-v2" "$out/world/carracing-vae"
ln -sfn "$PWD/$out/rw/carracing-mdnrnn" "$out/world/carracing-mdnrnn"
ln -sfn "$PWD/models/carracing-vae-v2" "$out/bench/carracing-vae-v2"
ln -sfn "$PWD/$out/rw/carracing-mdnrnn" "$out/bench/carracing-mdnrnn-v5"
rm -rf "$out/bench/carracing-controller-dream"
cp -r models/carracing-controller-dream "$out/bench/"
python3 - "$out" <<'PY'
import json, sys
card = f"{sys.argv[1]}/bench/carracing-controller-dream/card.json"
c = json.load(open(card))
c["world"]["mdn_sha256"] = json.load(open(f"{sys.argv[1]}/rw/carracing-mdnrnn/card.json"))["sha256"]
json.dump(c, open(card, "w"), indent=1)
PY
tail -n 3 "$out/reward.log"
