import sys
import time

sys.path.insert(0, ".")
import gdl_studio.racing.dream_batch as db
from gdl_studio.racing.fidelity import DREAM_ROAD_SEED_BASE, dream_returns, first_frame_latents, road_figures
from gdl_studio.racing.models_io import controller_params
from gdl_studio.racing.worlds import load_world_for

ctrl = sys.argv[1]
mode = sys.argv[2]
n = int(sys.argv[3])
off = int(sys.argv[4])
sd = int(sys.argv[5])
params, _ = controller_params(ctrl)
world = load_world_for(ctrl)
vae = world.vae.eval()
z0 = first_frame_latents(vae, [DREAM_ROAD_SEED_BASE + off + i for i in range(n)])
orig = db._sample
cnt = [0]


def samp(out, tau, gen):
    z = orig(out, tau, gen)
    cnt[0] += 1
    if mode == "every" or (mode.startswith("k") and cnt[0] % int(mode[1:]) == 0):
        mu, _ = vae.encode(vae.decode(z))
        return mu
    return z


db._sample = samp
t = time.time()
ret, road, _ = dream_returns(
    world.mdn, [params], z0, 1.0, 1000, sd, "cpu", decoder=vae.decode, road_every=10, done_threshold=2.0
)
print(
    ctrl,
    mode,
    n,
    off,
    sd,
    road_figures(road[0]),
    "return",
    round(float(ret.mean()), 1),
    round(float(ret.std()), 1),
    f"{time.time() - t:.0f}s",
    flush=True,
)
