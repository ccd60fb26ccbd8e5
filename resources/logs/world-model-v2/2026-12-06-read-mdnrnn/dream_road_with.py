"""`bench racing --dream-road`'s figure (50 starts from tracks 3,020,000…, τ 1.0, 1,000 steps, every 10th frame
checked, the episode-end head ignored) for a controller in its own world, or with another M dreaming:

    python resources/logs/world-model-v2/2026-12-06-read-mdnrnn/dream_road_with.py CONTROLLER [M_DIR]

M_DIR: a ReadMDNRNN is used as it is; a plain M becomes the dreamer of a ReadMDNRNN whose reader is the
world's M (the controller reads the h it reads in the real game). Session 29, run from the repository root.
"""

import sys

sys.path.insert(0, ".")
from gdl_studio.racing.fidelity import DREAM_ROAD_SEED_BASE, dream_returns, first_frame_latents, road_figures
from gdl_studio.racing.mdn_rnn import ReadMDNRNN
from gdl_studio.racing.models_io import controller_params, load_dir
from gdl_studio.racing.worlds import load_world_for

ctrl = sys.argv[1]
mdn_dir = sys.argv[2] if len(sys.argv) > 2 else None
params, _ = controller_params(ctrl)
world = load_world_for(ctrl)
z0 = first_frame_latents(world.vae, [DREAM_ROAD_SEED_BASE + i for i in range(50)])
mdn = load_dir(mdn_dir) if mdn_dir else world.mdn
if mdn_dir and not isinstance(mdn, ReadMDNRNN):
    mdn = ReadMDNRNN.from_pair(world.mdn, mdn)
ret, road, _ = dream_returns(
    mdn, [params], z0, 1.0, 1000, 0, "cpu", decoder=world.vae.decode, road_every=10, done_threshold=2.0
)
print(ctrl, mdn_dir, road_figures(road[0]), "return", round(float(ret.mean()), 1), round(float(ret.std()), 1))
