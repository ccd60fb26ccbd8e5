"""The V + M + C agent, stepped for a batch of environments in lockstep.

At each step: frames → μ from V's encoder (z_t), a_t = C([z_t, h_t]), then
h_{t+1} = LSTM(z_t, a_t, h_t) (M's heads are not needed to drive). Each environment of the batch
may use its own controller parameters, so a CMA-ES worker can evaluate several candidates and
several tracks in one batched pass through V and M.
"""

from __future__ import annotations

import numpy as np
import torch

from gdl_studio.racing.controller import RoadGate, needs_hud, raw_outputs, squash, take_rows, unpack
from gdl_studio.racing.preprocess import hud_gauges, preprocess, road_share, to_tensor


class BatchAgent:
    """Drives ``batch`` environments with V, M and per-environment controllers (all linear, all MLPs of one
    width, or all gated controllers of one shape: :mod:`gdl_studio.racing.controller`)."""

    def __init__(self, vae, mdn, params: np.ndarray, z_size: int = 32, predict_reward: bool = False) -> None:
        self.vae, self.mdn = vae, mdn
        # M's reward head on the real frames it was fed (teacher-forced), per step, when asked
        self.predict_reward = predict_reward
        self.predicted = np.zeros(0, dtype=np.float32)
        self.z_size = z_size
        self.hidden = mdn.config.hidden
        params = np.atleast_2d(np.asarray(params, dtype=np.float64))
        self.parts = unpack(params, z_size, self.hidden)
        self.gate = RoadGate(self.parts[2]) if len(self.parts) == 3 else None  # gated controllers' switches
        self.expert: np.ndarray | None = None  # where they are open this step
        self.reads_hud = needs_hud(self.parts)  # their experts or governors read the HUD gauges
        self.hud: np.ndarray | None = None  # this step's gauges (B, 3), when they do
        self.frames = torch.zeros(0)  # the last frames V encoded (B, 3, 64, 64)
        self.batch = len(params)
        self.reset()

    def reset(self) -> None:
        """Zero the LSTM state of every environment."""
        self.state = self.mdn.initial_state(self.batch)
        self.h = np.zeros((self.batch, self.hidden), dtype=np.float32)
        self.last_z = np.zeros((self.batch, self.z_size), dtype=np.float32)
        self._mu = torch.zeros(self.batch, self.z_size)  # V's μ of the last frames, for advance()
        if self.gate is not None:
            self.gate.reset()
        self.expert = None
        self.hud = None

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Observations (B, 96, 96, 3) uint8 → actions (B, 3); advances the LSTM state."""
        actions = self.policy(self.features(obs))
        self.advance(actions)
        return actions

    @torch.inference_mode()
    def features(self, obs: np.ndarray) -> np.ndarray:
        """The controllers' input [z_t, h_t] (B, z + hidden), float64, for observations (B, 96, 96, 3) uint8.
        :meth:`advance` must follow with the actions taken before the next call. Gated controllers' switches read
        these frames (one step of their state), and their experts the HUD gauges where they read them."""
        frames = self.frames = to_tensor(preprocess(obs))
        self._mu, _ = self.vae.encode(frames)
        if self.gate is not None:
            self.expert = self.gate.step(road_share(frames).numpy())
            if self.reads_hud:
                self.hud = np.stack([hud_gauges(o) for o in obs]).astype(np.float64)
        self.last_z = self._mu.numpy()
        return np.concatenate([self.last_z, self.h], axis=1).astype(np.float64)

    def policy(self, x: np.ndarray) -> np.ndarray:
        """Each environment's controller on its features ``x`` → actions (B, 3) float32."""
        return squash(raw_outputs(self.parts, x, self.expert, self.hud))

    @torch.inference_mode()
    def advance(self, actions: np.ndarray) -> None:
        """h_{t+1} = LSTM(z_t, a_t, h_t) for the actions taken (the controllers' own, or others)."""
        a = torch.from_numpy(np.asarray(actions, dtype=np.float32))
        if self.predict_reward:  # r̂_t from the state after this step, as M was trained (the reward of this step)
            out, self.state = self.mdn.step(self._mu, a, self.state)
            self.predicted = out.reward.numpy().copy()
        else:  # only the LSTM the controllers read (a ReadMDNRNN's dynamics LSTM is not needed here)
            self.state = self.mdn.read_step(self._mu, a, self.state)
        self.h = self.state[0][0].numpy().copy()

    def keep(self, index: np.ndarray) -> None:
        """Keep only the environments in ``index`` (others finished), preserving their state."""
        idx = torch.as_tensor(index, dtype=torch.long)
        self.state = tuple(s[:, idx].contiguous() for s in self.state)
        self.h = self.h[index]
        self.last_z = self.last_z[index]
        self.parts = take_rows(self.parts, index)
        if self.gate is not None:
            self.gate.keep(index)
            self.expert = self.expert[index] if self.expert is not None else None
            self.hud = self.hud[index] if self.hud is not None else None
        self.batch = len(index)


def run_episodes(
    make_env,
    vae,
    mdn,
    params: np.ndarray,
    seeds: list[int],
    max_steps: int = 1000,
    patience: int | None = None,
    predicted: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Total reward of each (params[i], seeds[i]) episode, run in lockstep; also env steps used.

    ``predicted`` (an array of ``len(seeds)``): filled with the sum over each episode of M's
    predicted reward, its reward head fed the real frames (teacher-forced), for comparison with
    the real total.

    ``patience``: end an episode early once no new road tile was reached for that many steps,
    booking the −0.1 per remaining step it would have cost (an estimate used only to speed up
    CMA-ES; scores reported by the bench never use it).
    """
    params = np.atleast_2d(params)
    n = len(seeds)
    envs = [make_env() for _ in range(n)]
    obs = np.stack([env.reset(seed=int(s))[0] for env, s in zip(envs, seeds)])
    agent = BatchAgent(vae, mdn, params, predict_reward=predicted is not None)
    if predicted is not None:
        predicted[:] = 0.0
    totals = np.zeros(n, dtype=np.float64)
    since_tile = np.zeros(n, dtype=np.int64)
    alive = np.arange(n)
    steps_used = 0
    for t in range(max_steps):
        actions = agent.act(obs)
        if predicted is not None:
            predicted[alive] += agent.predicted
        next_obs, keep = [], []
        for j, i in enumerate(alive):
            o, r, terminated, truncated, _ = envs[i].step(actions[j])
            steps_used += 1
            totals[i] += r
            since_tile[i] = 0 if r > 0 else since_tile[i] + 1
            done = terminated or truncated or t == max_steps - 1
            if not done and patience is not None and since_tile[i] >= patience:
                totals[i] += -0.1 * (max_steps - 1 - t)
                done = True
            if not done:
                keep.append(j)
                next_obs.append(o)
        if not keep:
            break
        keep_arr = np.asarray(keep)
        alive = alive[keep_arr]
        agent.keep(keep_arr)
        obs = np.stack(next_obs)
    for env in envs:
        env.close()
    return totals, steps_used
