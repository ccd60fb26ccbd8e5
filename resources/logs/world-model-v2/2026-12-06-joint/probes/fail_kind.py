import sys

import numpy as np
import torch

sys.path.insert(0, ".")
import gdl_studio.racing.dream_batch as db
from gdl_studio.racing.controller import raw_outputs
from gdl_studio.racing.fidelity import DREAM_ROAD_SEED_BASE, first_frame_latents
from gdl_studio.racing.models_io import controller_params
from gdl_studio.racing.models_io import load_dir as _load_dir
from gdl_studio.racing.worlds import load_world_for

M_V4 = _load_dir("models/carracing-mdnrnn-v4")  # the world these probes ran in (before M v5 shipped)
torch.set_num_threads(2)
world = load_world_for("carracing-controller-dream")
vae = world.vae.eval()
mdn = M_V4
n, off, sd = 200, 1000, 11
p, _ = controller_params("carracing-controller-dream")
z = torch.from_numpy(first_frame_latents(vae, [DREAM_ROAD_SEED_BASE + off + i for i in range(n)]).astype(np.float32))
parts = db.controller_tensors(np.repeat(p[None], n, 0), 32, 256, "cpu")
gen = torch.Generator().manual_seed(sd)
state = mdn.initial_state(n)
onr, grey_all, steer, gas = [], [], [], []


def grey_share(f):
    r, g, b = f[:, 0], f[:, 1], f[:, 2]
    grey = ((g - r).abs() < 0.08) & ((g - b).abs() < 0.08) & (g > 0.25) & (g < 0.6)
    return grey[:, :50].float().mean(dim=(1, 2)).numpy()  # above the dashboard


with torch.inference_mode():
    for t in range(1000):
        if t % 10 == 0:
            f = vae.decode(z).float()
            onr.append(db.on_road(f))
            grey_all.append(grey_share(f))
        a = db.squash_torch(raw_outputs(parts, torch.cat([z, state[0][0]], 1)))
        if t % 10 == 0:
            steer.append(a[:, 0].numpy().copy())
            gas.append(a[:, 1].numpy().copy())
        out, state = mdn.step(z, a, state)
        z = db._sample(out, 1.0, gen)
onr = np.array(onr).T
grey_all = np.array(grey_all).T
steer = np.array(steer).T
gas = np.array(gas).T
frac = onr.mean(1)
fail = frac < 0.95
print("on_road", (~fail).mean())
first = [int(np.argmin(o)) if not o.all() else -1 for o in onr]
ff = np.array([f for f, bad in zip(first, fail) if bad])
print("failing dreams:", fail.sum(), "first off-road check (frame):", np.percentile(ff * 10, [10, 25, 50, 75, 90]))
g_at = np.array([grey_all[i, first[i]] for i in range(n) if fail[i]])
print("road share of the frame at the first off-road check: pct", np.percentile(g_at, [10, 25, 50, 75, 90]).round(3))
print("road share in on-road frames overall: pct", np.percentile(grey_all[onr], [10, 25, 50, 75, 90]).round(3))
# later: frames after failure: road share
late = np.array([grey_all[i, first[i] :].mean() for i in range(n) if fail[i]])
print("mean road share after first failure, pct", np.percentile(late, [10, 25, 50, 75, 90]).round(3))
print("off-road checks per failing dream", np.percentile((~onr[fail]).sum(1), [10, 25, 50, 75, 90]))
print(f"gas mean on-road {gas[onr].mean():.3f}, steer abs {np.abs(steer[onr]).mean():.3f}")
np.savez("/tmp/p31/fail_kind.npz", onr=onr, grey=grey_all, steer=steer, gas=gas)
