"""Save one of the fidelity bench's perturbed drivers as a personal controller (session 14's weak driver).

    GDL_STUDIO_USER_DIR=/tmp/weak/user python make_weak_driver.py 14    # → personal model "weak-14"

``fidelity.controller_set(dream driver, 33, seed 0)[INDEX]``: the same controllers as ``bench racing --fidelity``.
"""

import sys

import numpy as np
import torch

from gdl_studio.core.personal import save_personal_model
from gdl_studio.racing.fidelity import controller_set
from gdl_studio.racing.models_io import controller_params

idx = int(sys.argv[1])
params, card = controller_params("carracing-controller-dream")
c = controller_set(params, 33, 0)[idx]
d = {
    "name": f"weak-{idx}",
    "display_name": f"weak driver {idx}",
    "family": card.family,
    "architecture": dict(card.architecture),
    "base_model": card.name,
    "dtype": "float32",
    "task": card.data.get("task"),
    "data": {"source": f"fidelity.controller_set(dream driver, 33, seed 0)[{idx}]"},
    **({"world": card.data["world"]} if card.data.get("world") else {}),
}
saved = save_personal_model({"params": torch.from_numpy(c.astype(np.float32))}, d)
print(saved.name, float(np.linalg.norm(c - params)))
