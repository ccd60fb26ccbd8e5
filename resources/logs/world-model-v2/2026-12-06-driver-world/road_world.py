"""dream-road of a controller in its world, with M_DIR dreaming behind the world's M as reader (ReadMDNRNN)."""

import sys

sys.path.insert(0, ".")
from pathlib import Path

from gdl_studio.racing.fidelity import DREAM_ROAD_SEED_BASE, dream_returns, first_frame_latents, road_figures
from gdl_studio.racing.mdn_rnn import ReadMDNRNN
from gdl_studio.racing.models_io import controller_params, load_dir
from gdl_studio.racing.worlds import load_world_for

ctrl, mdir, n, off, sd = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
c = Path(ctrl) if "/" in ctrl else ctrl
params, _ = controller_params(c)
world = load_world_for(c)
mdn = world.mdn if mdir == "-" else ReadMDNRNN.from_pair(world.mdn, load_dir(mdir))
z0 = first_frame_latents(world.vae, [DREAM_ROAD_SEED_BASE + off + i for i in range(n)])
ret, road, _ = dream_returns(
    mdn,
    [params],
    z0,
    float(sys.argv[6]) if len(sys.argv) > 6 else 1.0,
    1000,
    sd,
    "cpu",
    decoder=world.vae.decode,
    road_every=10,
    done_threshold=2.0,
)
print(
    ctrl.split("/")[-2:],
    mdir.split("/")[-2:],
    n,
    off,
    sd,
    road_figures(road[0]),
    "return",
    round(float(ret.mean()), 1),
    round(float(ret.std()), 1),
    flush=True,
)
