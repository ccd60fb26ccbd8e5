"""Driving in the real game and inside the world model's dream, one frame per ``next()``.

Both are plain generators: the work for a frame happens when it is pulled, so a consumer cancels
by not pulling. A :class:`DriveControls` object, shared with the UI, lets a person take the wheel
(``controls.human_action = (steer, gas, brake)``; ``None`` hands it back to the controller) and
change the dream temperature while the generator runs.

* :func:`dream_frames` — the MDN-RNN steps in latent space from a random z or an encoded real
  frame; V decodes each z into a 64×64 frame; reward and episode end come from M's heads.
* :func:`real_frames` — the controller drives CarRacing-v3; each step also yields V's
  reconstruction of what it sees and M's reward prediction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np


@dataclass
class DriveControls:
    """Settings the UI may change while a generator runs (plain attributes, read every frame).

    ``human_action``: None (the controller drives) or (steer, gas, brake); ``temperature``: τ
    for dream sampling (0.1–1.5 in the app).
    """

    temperature: float = 1.0
    human_action: tuple[float, float, float] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_action(self, action) -> None:
        """Take the wheel with ``action`` (steer, gas, brake), or hand it back with None."""
        with self._lock:
            if action is None:
                self.human_action = None
            else:
                steer, gas, brake = (float(v) for v in action)
                self.human_action = (steer, gas, brake)

    def action(self):
        with self._lock:
            return self.human_action


ActionSource = Callable[[int], "np.ndarray | None"]


@dataclass
class DreamFrame:
    """One dream step: the decoded frame and what produced it."""

    step: int
    frame: np.ndarray  # (64, 64, 3) uint8
    z: np.ndarray  # (32,) the latent that was decoded
    action: np.ndarray  # (3,) the action taken from this frame
    human: bool  # True when the action came from the person
    reward: float  # M's predicted reward for (z, action)
    total: float
    done_probability: float
    done: bool
    temperature: float
    recovering: bool = False  # a gated controller's recovery expert drove (not the person, not the road driver)


@dataclass
class RealFrame:
    """One real step: the observation, V's view of it and the action taken."""

    step: int
    obs: np.ndarray  # (96, 96, 3) uint8 as the game renders it
    reconstruction: np.ndarray  # (64, 64, 3) uint8, V's decode of the encoded frame
    z: np.ndarray  # (32,)
    action: np.ndarray  # (3,)
    human: bool
    reward: float  # the game's reward for this step
    predicted_reward: float  # M's prediction for (z, action)
    total: float
    done: bool
    recovering: bool = False  # a gated controller's recovery expert drove (not the person, not the road driver)


def _override(controls: DriveControls | None, override: ActionSource | None, step: int):
    if override is not None:
        a = override(step)
        if a is not None:
            return np.asarray(a, dtype=np.float32)
    if controls is not None:
        a = controls.action()
        if a is not None:
            return np.asarray(a, dtype=np.float32)
    return None


def dream_frames(
    world,
    seed: int = 0,
    start_z: np.ndarray | None = None,
    start_obs: np.ndarray | None = None,
    temperature: float = 1.0,
    controls: DriveControls | None = None,
    override: ActionSource | None = None,
    max_steps: int = 1000,
    stop_on_done: bool = True,
    done_threshold: float = 0.5,
    min_steps: int = 20,
) -> Iterator[DreamFrame]:
    """Yield dream frames driven by the controller (or the person) until done or ``max_steps``.

    The start is ``start_z``, else the encoding of ``start_obs`` (a 96×96 observation or a 64×64
    frame), else z ~ N(0, I). ``controls.temperature`` (if given) overrides ``temperature`` every
    frame. The dream ends when M's episode-end probability passes ``done_threshold`` (not
    before ``min_steps`` frames). With the same seed, start and actions the frames are identical.
    """
    import torch

    from gdl_studio.racing.mdn_rnn import sample_mixture
    from gdl_studio.racing.preprocess import road_share, to_tensor

    gen = torch.Generator().manual_seed(int(seed))
    if start_z is not None:
        z = torch.as_tensor(np.asarray(start_z, np.float32)).view(1, -1)
    elif start_obs is not None:
        z = torch.from_numpy(world.encode_obs(np.asarray(start_obs))).view(1, -1)
    else:
        z = torch.randn((1, world.mdn.config.z_size), generator=gen)
    state = world.mdn.initial_state(1)
    controller = world.controller
    if controller is not None:
        controller.reset()
    total = 0.0
    for step in range(max_steps):
        with torch.inference_mode():
            frame = world.decode(z.numpy())[0]
            h = state[0][0]
            action = _override(controls, override, step)
            human = action is not None
            # a gated controller's switch reads the dreamt frame as it reads a real one (a dream has no HUD)
            reads = controller is not None and controller.reads_frame
            road = road_share(to_tensor(frame[None])).numpy() if reads else None
            if controller is None:
                action = np.array([0.0, 0.3, 0.0], np.float32) if action is None else action
            elif human:
                controller.watch(road)
            else:
                action = controller.act(z.numpy(), h.numpy(), road=road)[0]
            tau = float(controls.temperature) if controls is not None else float(temperature)
            out, state = world.mdn.step(z, torch.from_numpy(np.asarray(action, np.float32)).view(1, -1), state)
            reward = float(out.reward[0])
            p_done = float(torch.sigmoid(out.done_logit[0]))
            next_z = sample_mixture(out.logpi, out.mu, out.logsigma, tau, gen)
        total += reward
        done = stop_on_done and step + 1 >= min_steps and p_done > done_threshold
        recovering = not human and controller is not None and controller.recovering
        yield DreamFrame(
            step,
            frame,
            z[0].numpy().copy(),
            np.asarray(action, np.float32),
            human,
            reward,
            total,
            p_done,
            done,
            tau,
            recovering,
        )
        if done:
            return
        z = next_z


def real_frames(
    world,
    seed: int = 0,
    controls: DriveControls | None = None,
    override: ActionSource | None = None,
    max_steps: int = 1000,
    fast: bool = True,
) -> Iterator[RealFrame]:
    """Yield the controller (or the person) driving one CarRacing-v3 episode on track ``seed``."""
    import torch

    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import hud_gauges, preprocess, road_share, to_tensor

    env = make_env(fast=fast)
    try:
        obs, _ = env.reset(seed=int(seed))
        state = world.mdn.initial_state(1)
        world.controller.reset()
        total = 0.0
        for step in range(max_steps):
            with torch.inference_mode():
                frames = to_tensor(preprocess(obs)[None])
                mu, _ = world.vae.encode(frames)
                recon = world.decode(mu.numpy())[0]
                action = _override(controls, override, step)
                human = action is not None
                road = road_share(frames).numpy() if world.controller.reads_frame else None
                if human:  # the gate still counts the frames the person drives
                    world.controller.watch(road)
                else:
                    hud = hud_gauges(obs)[None] if road is not None else None
                    action = world.controller.act(mu.numpy(), state[0][0].numpy(), road=road, hud=hud)[0]
                out, state = world.mdn.step(mu, torch.from_numpy(np.asarray(action, np.float32)).view(1, -1), state)
            shown = obs
            obs, reward, terminated, truncated, _ = env.step(np.asarray(action, np.float32))
            total += float(reward)
            done = bool(terminated or truncated or step == max_steps - 1)
            yield RealFrame(
                step,
                shown,
                recon,
                mu[0].numpy().copy(),
                np.asarray(action, np.float32),
                human,
                float(reward),
                float(out.reward[0]),
                total,
                done,
                not human and world.controller.recovering,
            )
            if done:
                return
    finally:
        env.close()
