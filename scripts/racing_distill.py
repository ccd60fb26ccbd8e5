"""A privileged driver taught to the world model's features by DAgger (issue #13, point 5).

Both shipped CMA-ES drivers sit in a slow basin (``scripts/racing_bias_probe.py``): about 92 % of the tiles in
1,000 steps, so they can never finish a lap, and 906 needs a finished lap. This script teaches a faster driver by
DAgger (Ross et al. 2011):

* the **teacher** reads the simulator's state (the track's centre line, the car's pose and speed):
  pure pursuit on a look-ahead point for the wheel, and a speed plan for gas and brake (the highest
  speed from which every corner ahead can still be braked down to its own limit, ``sqrt(a_lat / κ)``).
  It never reaches the controller: it only labels states;
* the **student** sees only what the app's controllers see, V's z and M's h. By default it is the linear
  controller (the 867 parameters CMA-ES searches, started from ``--world``'s controller); with
  ``--student-hidden H`` it is a tanh MLP with H units (:class:`gdl_studio.racing.controller.MLPController`).
  Round 0 drives with the teacher; each later round drives with a per-step mix of the student (share ``1 − β``,
  β = 0.5^round) and the teacher, labels every visited state with the teacher's action, adds them to the data
  and refits the student (least squares on the squashed actions);
* each round's student is scored on validation tracks from 6,000,000 (not the bench's, not the tracks of
  ``--first``); the best round is kept.

``--rows`` teaches only some outputs of the linear student (``12``: gas and brake on the start's own wheel). Probes:
``--fit-probe`` (how much of the teacher's actions a linear map of [z, h], and with ``--mlp-probe H …`` an MLP,
explains on held-out tracks) and ``--hybrid`` (the start's wheel driven with the teacher's own pedals).

Outcomes: session 25 (``resources/logs/world-model-v2/2026-12-05-distill/``): the teacher scores 921.8 (min 905.8)
on the 32 validation tracks, a linear map of [z, h] explains R² 0.68 of its steering, and no linear student
drives. Session 26 (``2026-12-05-distill-mlp/``): a 64-unit MLP explains 0.83, and its DAgger student laps at the
teacher's pace (round 6: 914.2 on 64 validation tracks; 898.5 ± 87.2 on the bench's 100 episodes, a few crashes).
Session 27 (``2026-12-06-distill-ensemble/``): DAgger continued from round 6 (its data replayed, 6 more rounds of
32 tracks), and the average of rounds 2–5 (``--export-ensemble``, one 256-unit MLP), chosen among 4 candidates on 128
new validation tracks (919.2 ± 8.9): the shipped ``carracing-controller-distilled``, 909.8 ± 74.8 on the bench's
100 episodes and 917.2 ± 22.5 on 100 tracks from 7,000,000. Session 28 (``2026-12-06-distill-device/``): 128 tracks
a round on the device, 512-unit students and a teacher that cuts gas while steering all failed to beat it on 256
more validation tracks; ``--trace`` shows where its crashes come from (straight or right steering in sharp left
corners), and ``--fit-probe`` what the student lacks: the yaw rate (steering R² 0.83 → 0.97), which the frame's HUD
shows (``preprocess.hud_gauges``) below the rows V sees; a student that also reads it (``--gyro``) drove no better.
Session 35 (``2026-12-06-dart/``): ``--steer-noise`` (DART) on session 27's recipe; the averages of rounds 2–5 crash
more, not less (8 and 20 of 256 validation tracks under 800 at σ 0.1 and 0.2, against the shipped driver's 4).
Session 36 (``2026-12-07-focus/``): failure-focused rounds (``--seed-data``, ``--focus-below``, ``--focus-share``;
the driver alone on 128 tracks a round, only its episodes under 900 kept, 20 % of every minibatch from them) keep
all four of the shipped driver's crashes on 256 fresh validation tracks and add five (907.9 ± 72.9 against 912.2 ±
53.0); refitting the 256-unit average as one network crashes more before any focus data. A teacher with slower
corners (``--teacher '{"alat": 90}'``) in session 27's recipe: 914.7 ± 22.9 against 915.3 ± 33.4 on 256 more, the
same two tracks under 800 for both. Session 37 (``2026-12-07-recovery/``): after a crash neither the driver nor the
teacher comes back (full gas spins the rear wheels on the grass); the teacher's recovery mode (``--teacher
'{"roff": 8}'``) does, and ``--departures`` puts the way back into the data, but one MLP taught both drives worse on
the road; ``scripts/racing_recover.py`` teaches the recovery to a second MLP behind a gate instead.

Run on a CPU (2 workers) or the device's 16 cores::

    python scripts/racing_distill.py --student-hidden 64 --out runs/distill-mlp64-r8 --rounds 8 --tracks 24 \
        --valid 32 --batch 4 --workers 2          # the shipped MLP driver's run (847 s on 2 cores)
    python scripts/racing_distill.py … the same … --export-round 6  # its round 6 as the model (the shipped one)
    python scripts/racing_distill.py --teacher-only --tracks 12 --workers 2   # the teacher's own score
    python scripts/racing_distill.py --fit-probe --first 9300000 --tracks 16 --mlp-probe 64 256
    python scripts/racing_distill.py --trace models/carracing-controller-distilled 6000290   # where it leaves the road

    # session 27: DAgger continued from session 26's round 6 (β = 0.25 · 0.5^round), whose run's data collection is
    # re-driven first (--replay; its rounds are kept in the logs folder), then the average of rounds 2–5
    R=resources/logs/world-model-v2/2026-12-06-distill-ensemble
    python scripts/racing_distill.py --student-hidden 64 --init-student $R/session26-round6 \
        --replay $R/session26-run 9200000 24 --beta0 0.25 --out runs/distill-cont-cpu --rounds 6 --tracks 32 \
        --first 9400000 --valid 64 --batch 4 --workers 2 --fit-steps 4000       # 1,317 s on 2 cores
    python scripts/racing_distill.py --export-ensemble runs/distill-cont-cpu:2 runs/distill-cont-cpu:3 \
        runs/distill-cont-cpu:4 runs/distill-cont-cpu:5 --valid-first 6000064 --valid 128 --out runs/distill-ens
    # the same on the device's 16 cores, 128 tracks a round: scripts/gpu/distill_chain.sh

    # session 36: failure-focused rounds continuing a copy of that run (runs/focus-ens; its log folder's README)
    python scripts/racing_distill.py --student-hidden 64 --out runs/focus-ens --rounds 10 --drive-average 4 \
        --beta0 0 --focus-below 900 --focus-share 0.2 --tracks 128 --first 9600000 --valid 32 --batch 4 --workers 2
    # at the device's scale, with the choice against the shipped driver: scripts/gpu/distill_focus.sh

Writes ``OUT/round-K.npz`` (each round's student), ``OUT/log.jsonl``, ``OUT/data.npy``/``labels.npy`` (every state
gathered and its label) and, at the end, the best round's student as a controller model with its card:
``OUT/carracing-controller-distilled`` (the MLP; copy it into ``models/``) or ``OUT/carracing-controller``
(linear: a start for ``gdl-studio train world-model controller --init``). The same command run again on the same
``OUT`` resumes after the last finished round. ``--export-round K`` saves round K of an earlier run instead.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

# the teacher's parameters, tuned on tracks 9,100,000–9,100,011 only (never a validation or bench track)
TEACHER = {
    "look0": 5,  # look-ahead tiles at rest …
    "lookv": 0.06,  # … plus this many per unit of speed
    "ks": 1.5,  # wheel per radian of heading error to the look-ahead point
    "kd": 0.28,  # wheel per unit of yaw rate (damping)
    "win": 5,  # tiles over which the track's curvature is averaged
    "alat": 105.0,  # lateral acceleration allowed in a corner: v_corner = sqrt(alat / κ)
    "adec": 28.0,  # deceleration assumed when braking for a corner ahead
    "vmax": 100.0,
    "gas": 0.8,
    "brake": 0.3,
    "margin": 3.0,  # brake only above the planned speed plus this
    "horizon": 40,  # tiles ahead considered by the speed plan
    "gcut": 0.0,  # gas scaled by (1 − gcut |steer|)
    "kg": 0.2,  # gas = gas · clip(kg (v_plan − v), 0, 1)
    "kb": 0.05,  # brake = brake · clip(kb (v − v_plan − margin), 0, 1)
    # recovery (session 37; 0 = off, as every run before it): farther than ``roff`` from the nearest tile's centre
    # (the road's half-width is 6.7), steer for the tile ``rlook`` ahead with gain ``rks`` and hold the speed near
    # ``rv`` with gas ``rgas`` (full gas on the grass spins the rear wheels and the car circles)
    "roff": 0.0,
    "rlook": 2,
    "rks": 2.0,
    "rgas": 0.3,
    "rv": 15.0,
    "rbrake": 0.3,  # … braking with this above rv + 10
}


class Teacher:
    """Pure pursuit plus a braking-distance speed plan, from the simulator's own state."""

    def __init__(self, env, params: dict) -> None:
        u = env.unwrapped
        self.u, self.p = u, params
        self.track = np.array([[t[2], t[3]] for t in u.track])
        n = len(self.track)
        seg = np.roll(self.track, -1, 0) - self.track
        self.seglen = np.linalg.norm(seg, axis=1)
        head = np.arctan2(seg[:, 1], seg[:, 0])
        turn = np.abs(np.angle(np.exp(1j * (np.roll(head, -1) - head))))
        w = int(params["win"])
        turn = np.convolve(np.concatenate([turn, turn[:w]]), np.ones(w) / w, "valid")[:n]
        kappa = turn / self.seglen.mean()
        self.vcorner = np.sqrt(params["alat"] / np.maximum(kappa, 1e-6))
        self.i = 0

    def act(self) -> np.ndarray:
        p, car = self.p, self.u.car
        pos = np.array(car.hull.position)
        ang = car.hull.angle
        speed = float(np.linalg.norm(car.hull.linearVelocity))
        n = len(self.track)
        near = [(self.i + k) % n for k in range(-5, 30)]  # the track may pass close to itself
        d = np.linalg.norm(self.track[near] - pos, axis=1)
        self.i = near[int(np.argmin(d))]
        if d.min() > 8.0:  # off the road: nearest tile anywhere
            self.i = int(np.argmin(np.linalg.norm(self.track - pos, axis=1)))
        i = self.i
        fwd = np.array([-math.sin(ang), math.cos(ang)])
        if p["roff"] > 0 and self.distance() > p["roff"]:  # off the road: back onto it
            to = self.track[(i + int(p["rlook"])) % n] - pos
            err = math.atan2(fwd[0] * to[1] - fwd[1] * to[0], fwd @ to)
            gas = p["rgas"] if speed < p["rv"] else 0.0
            brake = p["rbrake"] if speed > p["rv"] + 10.0 else 0.0
            return np.array([float(np.clip(-p["rks"] * err, -1, 1)), gas, brake], dtype=np.float32)
        target = self.track[(i + int(round(p["look0"] + p["lookv"] * speed))) % n]
        to = target - pos
        err = math.atan2(fwd[0] * to[1] - fwd[1] * to[0], fwd @ to)  # > 0: target to the left
        steer = float(np.clip(-p["ks"] * err + p["kd"] * car.hull.angularVelocity, -1, 1))
        vplan, dist = p["vmax"], 0.0
        for k in range(1, int(p["horizon"])):
            j = (i + k) % n
            dist += self.seglen[j]
            vplan = min(vplan, math.sqrt(self.vcorner[j] ** 2 + 2 * p["adec"] * dist))
        gas = p["gas"] * max(0.0, 1.0 - p["gcut"] * abs(steer)) * float(np.clip(p["kg"] * (vplan - speed), 0, 1))
        brake = p["brake"] * float(np.clip(p["kb"] * (speed - vplan - p["margin"]), 0, 1))
        return np.array([steer, gas, brake], dtype=np.float32)

    def distance(self) -> float:
        """The car's distance from its nearest tile's centre (after :meth:`act` has found that tile)."""
        return float(np.linalg.norm(self.track[self.i] - np.array(self.u.car.hull.position)))

    def state(self) -> np.ndarray:
        """What the teacher reads besides the look-ahead (after :meth:`act`, at its nearest tile): the car's signed
        offset from the centre line (> 0: left of it), its heading error against the road (radians, > 0: pointing
        left of it), speed, yaw rate and sideways velocity (> 0: sliding left)."""
        car, n = self.u.car, len(self.track)
        pos, ang = np.array(car.hull.position), car.hull.angle
        fwd, left = np.array([-math.sin(ang), math.cos(ang)]), np.array([-math.cos(ang), -math.sin(ang)])
        a, b = self.track[self.i], self.track[(self.i + 1) % n]
        road = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
        offset = float(road[0] * (pos - a)[1] - road[1] * (pos - a)[0])
        heading = math.atan2(road[0] * fwd[1] - road[1] * fwd[0], float(road @ fwd))
        vel = np.array(car.hull.linearVelocity)
        speed = float(np.linalg.norm(vel))
        return np.array([offset, heading, speed, car.hull.angularVelocity, float(vel @ left)], dtype=np.float32)


DISTILLED_NAME = "carracing-controller-distilled"
STATE_NAMES = ("offset", "heading", "speed", "yaw_rate", "side_velocity")  # Teacher.state's columns
HUD_NAMES = ("hud_speed", "hud_steer", "hud_gyro")  # preprocess.hud_gauges' columns


# ---------------------------------------------------------------- rollouts (worker side)
def _batches(seeds: list[int], size: int) -> list[list[int]]:
    """``seeds`` in worker tasks of ``size`` environments each."""
    return [seeds[k : k + size] for k in range(0, len(seeds), size)]


class Task(NamedTuple):
    """One worker task of :func:`_rollout`: a lockstep batch of episodes."""

    seeds: list[int]
    params: np.ndarray | None  # the student (None: the teacher drives alone)
    beta: float  # per step, the teacher's action is executed with this probability, else the student's
    teacher_p: dict
    rng_seed: int = 0  # the mixing draws
    record: bool = False  # keep each state's features [z, h] and the teacher's label
    rows: tuple[int, ...] = (0, 1, 2)  # outputs taught; the others are always the student's
    gyro: bool = False  # the student also reads the HUD's gyroscope bar (one more input)
    probe: bool = False  # with record, also keep each state's Teacher.state and HUD gauges (--fit-probe)
    noise: tuple[float, float] = (0.0, 0.0)  # (σ, ρ) of AR(1) noise on the executed steering (DART)
    departures: float = 0.0  # the share of episodes given one forced departure (see departure_plan)


DEPARTURE = {"first": 100, "last": 850, "steps": (8, 30), "gas": 0.5}  # when, how long, and the gas held


def departure_plan(n: int, share: float, rng_seed: int) -> np.ndarray:
    """``--departures``: for each of ``n`` episodes, the steps ``[start, end)`` of its one forced departure (full lock
    to a random side and gas ``DEPARTURE["gas"]``, whatever the driver does) and the side (±1); ``end`` 0 for the
    episodes without one (each has one with probability ``share``). Its own random stream, so the mixing draws and
    the noise stay as they were."""
    rng = np.random.default_rng([rng_seed, 11])
    has = rng.random(n) < share
    start = rng.integers(DEPARTURE["first"], DEPARTURE["last"], n)
    length = rng.integers(*DEPARTURE["steps"], n, endpoint=True)
    side = rng.choice([-1.0, 1.0], n)
    return np.c_[start, np.where(has, start + length, 0), side]


def force_departures(actions: np.ndarray, plan: np.ndarray, t: int) -> None:
    """Overwrite, in place, the actions of the episodes that are inside their forced departure at step ``t``."""
    forced = (plan[:, 0] <= t) & (t < plan[:, 1])
    actions[forced] = np.c_[plan[forced, 2], np.full((forced.sum(), 2), [DEPARTURE["gas"], 0.0])]


def step_envs(envs, obs: list, actions: np.ndarray, live: np.ndarray, totals: np.ndarray, done: np.ndarray) -> int:
    """One step of the live episodes of a lockstep batch: ``obs``, ``totals`` and ``done`` updated in place; returns
    the number of env steps taken."""
    for i in live:
        o, r, term, trunc, _ = envs[i].step(actions[i])
        totals[i] += r
        obs[i] = o
        done[i] |= term or trunc
    return len(live)


def _rollout(task: Task) -> dict:
    """Episodes on ``seeds`` in lockstep; each step executes the teacher's action with probability β,
    else the student's; returns features [z, h], the teacher's labels and each episode's return.
    Runs in a worker of :func:`gdl_studio.racing.train_controller._worker_init` (V and M loaded)."""
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.controller import HIDDEN, param_count, raw_outputs, squash, unpack
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import hud_gauges
    from gdl_studio.racing.train_controller import _WORKER

    seeds, params, beta, teacher_p, rng_seed, record, rows, gyro, probe, (sigma, rho), departures = task
    # the noise is DART's (Laskey et al. 2017): the labels stay the teacher's clean action
    rng = np.random.default_rng(rng_seed)
    envs = [make_env() for _ in seeds]
    obs = [env.reset(seed=int(s))[0] for env, s in zip(envs, seeds)]
    teachers = [Teacher(env, teacher_p) for env in envs]
    n = len(seeds)
    totals = np.zeros(n)
    done = np.zeros(n, bool)
    feats, labels, states, slots = [], [], [], []
    # the teacher alone needs neither V nor M; without a student its controller rows are never used
    agent = None
    gyro_parts = None
    if params is not None or record:
        student = np.zeros(param_count()) if (params is None or gyro) else params
        agent = BatchAgent(_WORKER["vae"], _WORKER["mdn"], np.repeat(student[None], n, axis=0))
        if gyro and params is not None:
            gyro_parts = unpack(np.repeat(params[None], n, axis=0), hidden=HIDDEN + 1)
    untaught = [r for r in range(3) if r not in rows]  # outputs not taught: always the student's
    if sigma > 0 and agent is None:
        raise ValueError("steering noise is for recorded data collection (a student or record)")
    noise = np.zeros(n)
    noise_rng = np.random.default_rng([rng_seed, 7])  # its own stream: σ 0 leaves the mixing draws as they were
    plan = departure_plan(n, departures, rng_seed)
    steps = 0
    for t in range(1000):
        live = np.flatnonzero(~done)
        if live.size == 0:
            break
        a_teacher = np.stack([teachers[i].act() for i in range(n)])
        actions = a_teacher.copy()
        if agent is not None:
            x = agent.features(np.stack(obs))
            if gyro:
                x = np.c_[x, [hud_gauges(o)[2] for o in obs]]
            if params is not None:
                a_student = agent.policy(x) if gyro_parts is None else squash(raw_outputs(gyro_parts, x))
                use = rng.random(n) >= beta
                actions[use] = a_student[use]
                actions[:, untaught] = a_student[:, untaught]
            if record:
                feats.append(x[live].astype(np.float32))
                labels.append(a_teacher[live])
                slots.append(live)
                if probe:
                    states.append(np.stack([np.r_[teachers[i].state(), hud_gauges(obs[i])] for i in live]))
            if sigma > 0:
                noise = rho * noise + math.sqrt(1.0 - rho * rho) * sigma * noise_rng.standard_normal(n)
                actions[:, 0] = np.clip(actions[:, 0] + noise, -1.0, 1.0)
        force_departures(actions, plan, t)
        if agent is not None:
            agent.advance(actions)
        steps += step_envs(envs, obs, actions, live, totals, done)
    for env in envs:
        env.close()
    out = {"returns": totals.tolist(), "steps": steps}
    if record and feats:
        out["x"], out["y"] = np.concatenate(feats), np.concatenate(labels)
        out["slot"] = np.concatenate(slots)  # which of `seeds` each state was driven on
        if probe:
            out["s"] = np.concatenate(states)
    return out


def collect(
    pool,
    run: Run,
    student,
    beta: float,
    rnd: int,
    first: int,
    tracks: int,
    batch: int,
    teacher_p: dict,
    rows,
    gyro=False,
    noise: tuple[float, float] = (0.0, 0.0),
    focus_below: float | None = None,
    departures: float = 0.0,
):
    """Round ``rnd``'s data collection: tracks ``first + 1000·rnd`` … (``tracks`` of them, ``batch`` a worker task)
    driven by ``student`` mixed with the teacher at ``beta``, every state labelled and added to ``run``. The mixing
    seeds are ``1000·rnd + task``, so a replay (:func:`replay`) gathers the same states. ``noise`` (σ, ρ): AR(1)
    noise on the executed steering (--steer-noise). ``departures``: the share of episodes with a forced departure
    (--departures). ``focus_below``: keep only the episodes whose driven return is
    under it, added as focus states (--focus-below). Returns the driven returns."""
    seeds = list(range(first + 1000 * rnd, first + 1000 * rnd + tracks))
    tasks = [
        Task(b, student, beta, teacher_p, 1000 * rnd + k, True, rows, gyro, noise=noise, departures=departures)
        for k, b in enumerate(_batches(seeds, batch))
    ]
    res = pool.map(_rollout, tasks)
    run.env_steps += sum(r["steps"] for r in res)
    if focus_below is None:
        run.add(np.concatenate([r["x"] for r in res]), np.concatenate([r["y"] for r in res]))
    else:
        for r in res:
            keep = (np.asarray(r["returns"]) < focus_below)[r["slot"]]
            run.add(r["x"][keep], r["y"][keep], focus=True)
    return np.concatenate([r["returns"] for r in res])


def drive_alone(pool, params, seeds: list[int], args, teacher_p: dict, rows) -> tuple[np.ndarray, int]:
    """``params`` driving ``seeds`` alone (no teacher, nothing recorded): the returns and the env steps."""
    gyro = getattr(args, "gyro", False)
    res = pool.map(
        _rollout, [Task(b, params, 0.0, teacher_p, rows=rows, gyro=gyro) for b in _batches(seeds, args.batch)]
    )
    return np.concatenate([r["returns"] for r in res]), sum(r["steps"] for r in res)


def return_stats(v: np.ndarray, prefix: str = "valid") -> dict:
    """Mean, spread, minimum and crash count (under 800) of some returns, as a log line's fields (``prefix_mean``
    …; with prefix "" plain ``mean`` …)."""
    pre = f"{prefix}_" if prefix else ""
    return {
        f"{pre}mean": round(float(v.mean()), 1),
        f"{pre}std": round(float(v.std()), 1),
        f"{pre}min": round(float(v.min()), 1),
        f"{pre}under_800": int((v < 800).sum()),
    }


def read_log(run: Path) -> list[dict]:
    """A run's ``log.jsonl``, one dict a round ([] if there is none yet)."""
    log = run / "log.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []


# ---------------------------------------------------------------- fitting
def fit_mlp(
    x: np.ndarray,
    y: np.ndarray,
    prev: np.ndarray | None,
    hidden: int,
    steps: int = 4000,
    focus: np.ndarray | None = None,
    share: float = 0.0,
) -> np.ndarray:
    """The MLP student by minibatch Adam on the squashed actions (warm-started from ``prev``), as the flat
    parameters of :class:`gdl_studio.racing.controller.MLPController` (standardisation folded into the first
    layer, so it takes raw features). On the GPU where there is one (the device's runs). ``focus`` (a mask over
    the states) and ``share``: that share of every minibatch is drawn from the focus states (--focus-share)."""
    import torch

    from gdl_studio.racing.controller import Z_SIZE, unpack

    torch.manual_seed(0)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    xt, yt = torch.from_numpy(x.astype(np.float32)).to(dev), torch.from_numpy(y.astype(np.float32)).to(dev)
    mean, std = xt.mean(0), xt.std(0) + 1e-3
    l1, l2 = torch.nn.Linear(xt.shape[1], hidden).to(dev), torch.nn.Linear(hidden, 3).to(dev)
    if prev is not None:  # prev is in raw units: back to standardised ones
        p_w1, p_b1, p_w2, p_b2 = (
            torch.from_numpy(np.asarray(a[0], np.float32)).to(dev)
            for a in unpack(prev[None], hidden=x.shape[1] - Z_SIZE)
        )
        with torch.no_grad():
            l1.weight.copy_(p_w1 * std)
            l1.bias.copy_(p_b1 + (p_w1 * mean).sum(1))
            l2.weight.copy_(p_w2)
            l2.bias.copy_(p_b2)
    params = [*l1.parameters(), *l2.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3, weight_decay=1e-5)
    xs = (xt - mean) / std
    gen = torch.Generator().manual_seed(0)
    hard = torch.from_numpy(np.flatnonzero(focus)) if focus is not None else torch.zeros(0, dtype=torch.long)
    n_hard = int(round(2048 * share)) if len(hard) else 0
    for _ in range(steps):
        idx = torch.randint(0, len(xs), (2048 - n_hard,), generator=gen)
        if n_hard:
            idx = torch.cat([idx, hard[torch.randint(0, len(hard), (n_hard,), generator=gen)]])
        idx = idx.to(dev)
        a = torch.tanh(l2(torch.tanh(l1(xs[idx]))))
        yb = yt[idx]
        brake = torch.where(yb[:, 2] > 0, a[:, 2], a[:, 2].clamp(0, 1))
        pred = torch.stack([a[:, 0], (a[:, 1] + 1) / 2, brake], 1)
        loss = ((pred - yb) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    extra = f" ({len(hard)} focus states, {share:.0%} of each minibatch)" if n_hard else ""
    print(f"  fit (MLP {hidden}): loss {loss.item():.4f} on {len(x)} states{extra}", flush=True)
    with torch.no_grad():
        w1 = l1.weight / std
        b1 = l1.bias - (w1 * mean).sum(1)
        return torch.cat([w1.ravel(), b1, l2.weight.ravel(), l2.bias]).double().cpu().numpy()


def fit(
    x: np.ndarray,
    y: np.ndarray,
    init: np.ndarray,
    rows: tuple[int, ...] = (0, 1, 2),
    epochs: int = 600,
    l2: float = 1e-4,
) -> np.ndarray:
    """Least squares between squash(W x + b) and the teacher's actions (inputs standardised inside)."""
    import torch

    from gdl_studio.racing.controller import LinearController

    start = LinearController(init)
    xt = torch.from_numpy(x.astype(np.float32))
    yt = torch.from_numpy(y.astype(np.float32))
    mean, std = xt.mean(0), xt.std(0) + 1e-3
    xs = (xt - mean) / std
    w0 = torch.from_numpy(start.weight.astype(np.float32)) * std  # in standardised units
    b0 = torch.from_numpy(start.bias.astype(np.float32)) + (w0 / std * mean).sum(1)
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = torch.optim.Adam([w, b], lr=0.02)
    for _ in range(epochs):
        raw = xs @ w.T + b
        a = torch.tanh(raw)
        # brake: clip(tanh, 0, 1) has no gradient below 0, so where the teacher brakes, fit tanh itself
        brake = torch.where(yt[:, 2] > 0, a[:, 2], a[:, 2].clamp(0, 1))
        pred = torch.stack([a[:, 0], (a[:, 1] + 1) / 2, brake], 1)
        loss = ((pred - yt) ** 2)[:, list(rows)].mean() + l2 * (w[list(rows)] ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        fixed = [r for r in range(3) if r not in rows]
        w[fixed], b[fixed] = w0[fixed], b0[fixed]
        w_raw = w / std
        b_raw = b - (w_raw * mean).sum(1)
    print(f"  fit: loss {loss.item():.4f} on {len(x)} states", flush=True)
    return np.concatenate([w_raw.numpy().ravel(), b_raw.numpy()]).astype(np.float64)


def hybrid(ctx, args, models_dir: str, init: np.ndarray, teacher_p: dict) -> int:
    seeds = list(range(args.valid_first, args.valid_first + args.valid))
    from gdl_studio.racing.train_controller import _worker_init

    with ctx.Pool(args.workers, _worker_init, (models_dir,)) as pool:
        runs = [
            pool.map(_rollout, [Task(b, init, beta, teacher_p, rows=rows) for b in _batches(seeds, args.batch)])
            for beta, rows in ((0.0, (0, 1, 2)), (1.0, (1, 2)))
        ]
    base, mixed = (np.concatenate([r["returns"] for r in res]) for res in runs)
    d = mixed - base
    print(
        json.dumps(
            {
                "tracks_from": seeds[0],
                "start": base.round(1).tolist(),
                "hybrid": mixed.round(1).tolist(),
                "start_mean": round(float(base.mean()), 1),
                "hybrid_mean": round(float(mixed.mean()), 1),
                "paired": round(float(d.mean()), 1),
                "se": round(float(d.std() / np.sqrt(len(d))), 1),
            }
        )
    )
    return 0


def mlp_r2(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray, hidden: int) -> list[float]:
    """Held-out R² of a one-hidden-layer tanh MLP of [z, h] (plain regression on the actions, Adam, full batch):
    how much of the teacher a non-linear map of the same features could explain."""
    import torch

    torch.manual_seed(0)
    xt, yt = torch.from_numpy(xtr.astype(np.float32)), torch.from_numpy(ytr.astype(np.float32))
    mean, std = xt.mean(0), xt.std(0) + 1e-3
    net = torch.nn.Sequential(torch.nn.Linear(xt.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 3))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    xs = (xt - mean) / std
    for _ in range(1500):
        loss = ((net(xs) - yt) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = net((torch.from_numpy(xte.astype(np.float32)) - mean) / std).numpy()
    return (1 - ((pred - yte) ** 2).mean(0) / yte.var(0)).astype(float).round(3).tolist()


def fit_probe(ctx, args, models_dir: str, init: np.ndarray, teacher_p: dict) -> int:
    from gdl_studio.racing.controller import Z_SIZE, LinearController
    from gdl_studio.racing.train_controller import _worker_init

    train = _batches(list(range(args.first, args.first + args.tracks)), args.batch)
    held = _batches(list(range(args.first + 100_000, args.first + 100_008)), args.batch)
    with ctx.Pool(args.workers, _worker_init, (models_dir,)) as pool:
        res = pool.map(_rollout, [Task(b, None, 1.0, teacher_p, record=True, probe=True) for b in train + held])
    n_train = len(train)
    xtr, ytr = np.concatenate([r["x"] for r in res[:n_train]]), np.concatenate([r["y"] for r in res[:n_train]])
    xte, yte = np.concatenate([r["x"] for r in res[n_train:]]), np.concatenate([r["y"] for r in res[n_train:]])
    p = fit(xtr, ytr, init, epochs=1500)
    out = {
        "train_states": len(xtr),
        "held_out_states": len(xte),
        "label_std": yte.std(0).astype(float).round(3).tolist(),
    }
    pred = LinearController(p).act(xte[:, :Z_SIZE], xte[:, Z_SIZE:])
    out["squashed_fit_r2"] = (1 - ((pred - yte) ** 2).mean(0) / yte.var(0)).astype(float).round(3).tolist()
    for cols, name in ((slice(0, Z_SIZE), "ols_z_r2"), (slice(None), "ols_zh_r2")):
        a, b = np.c_[xtr[:, cols], np.ones(len(xtr))], np.c_[xte[:, cols], np.ones(len(xte))]
        coef = np.linalg.lstsq(a, ytr, rcond=None)[0]
        out[name] = (1 - ((b @ coef - yte) ** 2).mean(0) / yte.var(0)).round(3).tolist()
    str_, ste = np.concatenate([r["s"] for r in res[:n_train]]), np.concatenate([r["s"] for r in res[n_train:]])
    for hidden in args.mlp_probe:
        out[f"mlp{hidden}_zh_r2"] = mlp_r2(xtr, ytr, xte, yte, hidden)
        # the same with some of the simulator's state added as inputs (Teacher.state): how much of what is left is
        # information the features lack
        out[f"mlp{hidden}_zh_state_r2"] = mlp_r2(np.c_[xtr, str_[:, :5]], ytr, np.c_[xte, ste[:, :5]], yte, hidden)
        for k, name in enumerate(STATE_NAMES + HUD_NAMES):
            out[f"mlp{hidden}_zh_{name}_r2"] = mlp_r2(np.c_[xtr, str_[:, k]], ytr, np.c_[xte, ste[:, k]], yte, hidden)
        # what the observation shows of them: the three HUD gauges together
        out[f"mlp{hidden}_zh_hud_r2"] = mlp_r2(np.c_[xtr, str_[:, 5:]], ytr, np.c_[xte, ste[:, 5:]], yte, hidden)
        out["hud_gyro_vs_yaw_rate_corr"] = round(float(np.corrcoef(ste[:, 7], ste[:, 3])[0, 1]), 3)
    print(json.dumps(out))
    return 0


def main() -> int:
    from multiprocessing import get_context

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", default="carracing-controller", help="a controller whose V and M the student uses")
    ap.add_argument("--out", default="runs/distill")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tracks", type=int, default=32, help="training tracks per round")
    ap.add_argument("--first", type=int, default=9_200_000, help="first training track (each round its own)")
    ap.add_argument("--valid", type=int, default=32, help="validation tracks (from --valid-first)")
    ap.add_argument("--batch", type=int, default=4, help="environments per worker task")
    ap.add_argument("--teacher-only", action="store_true", help="score the teacher alone on --tracks tracks")
    ap.add_argument("--teacher-first", type=int, default=9_100_000, help="first track of --teacher-only")
    ap.add_argument(
        "--rows", default="012", help="outputs taught (0 steer, 1 gas, 2 brake); the others stay the start's"
    )
    ap.add_argument(
        "--hybrid",
        action="store_true",
        help="the start as shipped against the start steering with the teacher's "
        "gas and brake, paired on --valid validation tracks (the ceiling of teaching --rows 12)",
    )
    ap.add_argument(
        "--fit-probe",
        action="store_true",
        help="how well a linear map of [z, h] (or z alone) fits the teacher's "
        "actions on its own states: R² on 8 held-out tracks after fitting on --tracks tracks; with --mlp-probe "
        "also MLPs of [z, h] and of [z, h] plus the simulator's state (Teacher.state: all of it, and each column)",
    )
    ap.add_argument(
        "--mlp-probe",
        type=int,
        nargs="*",
        default=[],
        metavar="HIDDEN",
        help="with --fit-probe: also the held-out R² of tanh MLPs of these hidden widths",
    )
    ap.add_argument(
        "--student-hidden",
        type=int,
        default=0,
        help="0: the app's linear controller as the student; H: a tanh MLP with H hidden units "
        "(saved as OUT/carracing-controller-distilled)",
    )
    ap.add_argument(
        "--export-round",
        type=int,
        help="save round K of the run in --out as its student (with the run's other arguments, for its card)",
    )
    ap.add_argument("--teacher", default="{}", help="JSON overrides of the teacher's parameters")
    ap.add_argument(
        "--init-student",
        help="start the student from this controller model (a folder; e.g. models/carracing-controller-distilled) "
        "instead of from --world's controller (linear) or from scratch (MLP)",
    )
    ap.add_argument("--beta0", type=float, default=1.0, help="β = beta0 · 0.5^round (1: round 0 is the teacher's)")
    ap.add_argument("--valid-first", type=int, default=6_000_000, help="first validation track")
    ap.add_argument(
        "--replay",
        nargs=3,
        metavar=("DIR", "FIRST", "TRACKS"),
        help="before round 0, rebuild an earlier run's data: each of its rounds K (DIR/log.jsonl) re-driven on its "
        "tracks (FIRST + 1000·K, TRACKS of them) by its round K−1 student (DIR/round-(K−1).npz; the teacher alone "
        "for K = 0) at its β, with its mixing seeds (the same --batch gives the same states)",
    )
    ap.add_argument(
        "--export-ensemble",
        nargs="+",
        metavar="DIR:K",
        help="save the average of these rounds' students (round K of the run in DIR; one MLP whose raw outputs are "
        "their mean) as OUT's driver, after scoring it on --valid validation tracks from --valid-first",
    )
    ap.add_argument(
        "--scored",
        help="with --export-ensemble: a `racing_value_equiv.py score` output (JSON) that drove this very average "
        "(an entry of a snapshots .npz equal to it), whose validation returns the card takes instead of driving again",
    )
    ap.add_argument(
        "--drive-average",
        type=int,
        default=1,
        metavar="K",
        help="MLP students: each round's data are driven, and each round is validated and kept, as the average of "
        "the last K rounds' students (controller.average_mlps), not the last student alone",
    )
    ap.add_argument("--fit-steps", type=int, default=4000, help="Adam steps of each MLP refit (minibatches of 2,048)")
    ap.add_argument(
        "--gyro",
        action="store_true",
        help="MLP students: also read the HUD's gyroscope bar from the frame (preprocess.hud_gauges; one more "
        "input after [z, h]); an experiment: the run's students are kept as rounds, not saved as an app model",
    )
    ap.add_argument(
        "--steer-noise",
        type=float,
        nargs=2,
        default=(0.0, 0.0),
        metavar=("SIGMA", "RHO"),
        help="DART: while gathering each round's data (not --replay's), add AR(1) noise of stationary std SIGMA and "
        "step correlation RHO to the executed steering, so the states include recoveries from the student's kind of "
        "drift; labels stay the teacher's clean actions",
    )
    ap.add_argument(
        "--departures",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="while gathering each round's data (not --replay's; and in --teacher-only), this share of the episodes "
        "get one forced departure (departure_plan: full lock to a random side for 8–30 steps at a random time), so "
        "the states include the car off the road and the way back; for a teacher that recovers, --teacher "
        "'{\"roff\": 8}'",
    )
    ap.add_argument(
        "--seed-data",
        metavar="DIR",
        help="a fresh run starts with another run's gathered states and labels (DIR/data.npy, labels.npy), so its "
        "refits keep them",
    )
    ap.add_argument(
        "--focus-below",
        type=float,
        metavar="RETURN",
        help="failure-focused rounds: of each round's episodes keep only those whose driven return is under RETURN "
        "(the student's own failures, with β = 0: --beta0 0); their states become focus states",
    )
    ap.add_argument(
        "--focus-share",
        type=float,
        default=0.0,
        help="MLP refits draw this share of every minibatch from the focus states (--focus-below)",
    )
    ap.add_argument(
        "--trace",
        nargs=2,
        metavar=("CONTROLLER", "TRACK"),
        help="drive this controller model (a folder) alone on this track and print, every 4th step around the "
        "first step 10 or more units off the centre line, its actions beside the teacher's on the same state",
    )
    args = ap.parse_args()
    teacher_p = {**TEACHER, **json.loads(args.teacher)}
    rows = tuple(int(c) for c in args.rows)
    ctx = get_context("spawn")

    from gdl_studio.racing.train_controller import _worker_init, initial_from_model
    from gdl_studio.racing.worlds import resolve_world

    world = resolve_world(args.world)
    models_dir = str(world.models_dir())

    if args.teacher_only:
        seeds = list(range(args.teacher_first, args.teacher_first + args.tracks))
        with ctx.Pool(args.workers, _worker_init, (models_dir,)) as pool:
            tasks = [
                Task(b, None, 1.0, teacher_p, k, departures=args.departures)
                for k, b in enumerate(_batches(seeds, args.batch))
            ]
            res = pool.map(_rollout, tasks)
        r = np.concatenate([x["returns"] for x in res])
        print(json.dumps({"teacher_mean": r.mean(), "min": r.min(), "returns": r.round(1).tolist()}))
        return 0

    init, _ = initial_from_model(Path("models") / args.world)
    if args.fit_probe:
        return fit_probe(ctx, args, models_dir, init, teacher_p)
    if args.hybrid:
        return hybrid(ctx, args, models_dir, init, teacher_p)
    if args.export_round is not None:
        return export_round(args, world, teacher_p)
    if args.trace:
        return trace(world, Path(args.trace[0]), int(args.trace[1]), teacher_p)
    if args.export_ensemble:
        return export_ensemble(ctx, args, world, models_dir, teacher_p, rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    valid = list(range(args.valid_first, args.valid_first + args.valid))
    params: np.ndarray | None = init.copy()
    if args.student_hidden:
        if len(rows) < 3:
            raise SystemExit("--student-hidden teaches every output (no --rows)")
        params = None
    elif args.drive_average > 1:
        raise SystemExit("--drive-average averages MLP students (--student-hidden)")
    if args.init_student:
        from gdl_studio.racing.controller import hidden_units
        from gdl_studio.racing.models_io import controller_params

        params, _ = controller_params(Path(args.init_student))
        if hidden_units(params.size) != args.student_hidden:
            raise SystemExit(f"--init-student has {hidden_units(params.size)} hidden units, not --student-hidden's")
    if args.gyro:
        if not args.student_hidden or args.drive_average > 1 or args.replay:
            raise SystemExit("--gyro takes an MLP student (--student-hidden) without --drive-average or --replay")
        if params is not None:  # the start's MLP with a zero weight on the new input
            from gdl_studio.racing.controller import unpack

            w1, b1, w2, b2 = (np.asarray(a[0]) for a in unpack(params[None]))
            w1 = np.c_[w1, np.zeros(len(w1))]
            params = np.concatenate([w1.ravel(), b1, w2.ravel(), b2])
    run = Run.resume(out, params)
    t0 = time.perf_counter() - run.seconds
    with ctx.Pool(args.workers, _worker_init, (models_dir,)) as pool:
        if args.replay and not run.rows:
            replay(pool, run, args, teacher_p, rows)
        if args.seed_data and not run.rows:
            run.seed(Path(args.seed_data))
            print(f"seeded with {args.seed_data}'s {run.states} states", flush=True)
        for rnd in range(run.next_round, args.rounds):
            beta = args.beta0 * 0.5**rnd
            # round 0 of a fresh run is the teacher's alone (β = 1): no student drives, none is needed
            student = run.params if (beta < 1.0 or len(rows) < 3 or args.init_student or rnd) else None
            if args.drive_average > 1 and run.rows:
                student = run.average(run.last(args.drive_average))
            driven = collect(
                pool,
                run,
                student,
                beta,
                rnd,
                args.first,
                args.tracks,
                args.batch,
                teacher_p,
                rows,
                args.gyro,
                tuple(args.steer_noise),
                args.focus_below,
                args.departures,
            )
            x, y = run.data()
            if args.student_hidden:
                run.params = fit_mlp(
                    x, y, run.params, args.student_hidden, args.fit_steps, run.focus(), args.focus_share
                )
            else:
                assert run.params is not None
                run.params = fit(x, y, run.params, rows)
            del x, y
            kept, members = run.params, [rnd]
            if args.drive_average > 1:
                members = run.last(args.drive_average - 1) + [rnd]
                kept = run.average(members[:-1], run.params)
            v, steps = drive_alone(pool, kept, valid, args, teacher_p, rows)
            run.env_steps += steps
            row = {
                "round": rnd,
                "beta": beta,
                "driven_mean": round(float(driven.mean()), 1),
                "driven_under_800": int((driven < 800).sum()),
                "states": run.states,
                **({"focus_states": int(run.focus().sum())} if args.focus_below is not None else {}),
                **return_stats(v),
                "valid_tracks": [valid[0], len(valid)],  # best() compares only rounds validated on the same tracks
                "env_steps": run.env_steps,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            if len(members) > 1:
                row["members"] = members  # validated: the average of these rounds' students
            run.commit(rnd, row)  # the round's student, data and log line: a killed run resumes after it
            print(json.dumps(row), flush=True)
    if args.gyro:
        print("--gyro: the rounds are in OUT (round-K.npz); the app's controllers have no HUD input to save them as")
        return 0
    best = run.best()
    label = f"average of rounds {best['members']}" if "members" in best else best["round"]
    keep(args, world, best["params"], label, best["valid_mean"], run.env_steps, run.seconds, teacher_p, out)
    return 0


def trace(world, controller: Path, track: int, teacher_p: dict, far: float = 10.0) -> int:
    """``--trace CONTROLLER TRACK``: where and how a driver leaves the road. Each step: the return so far, the car's
    distance from the centre line and speed, the driver's action, the teacher's action on the same state (not
    executed), the nearest tile and the teacher's corner speed there. Then the whole episode: the nearest tile every
    50 steps, and the steps the car drove the wrong way round the track (its velocity against the direction of the
    track at its nearest tile, at a speed over 5)."""
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.models_io import controller_params, load_world_model_from

    wm = load_world_model_from(world.models_dir())
    params, _ = controller_params(controller)
    env = make_env()
    obs = env.reset(seed=track)[0]
    teacher = Teacher(env, teacher_p)
    agent = BatchAgent(wm.vae, wm.mdn, params[None])
    total, rows, wrong = 0.0, [], []
    for step in range(1000):
        a_teacher = teacher.act()
        a = agent.policy(agent.features(obs[None]))[0]
        agent.advance(a[None])
        car = env.unwrapped.car
        off = float(np.linalg.norm(teacher.track - np.array(car.hull.position), axis=1).min())
        vel = np.array(car.hull.linearVelocity)
        speed = float(np.linalg.norm(vel))
        i = int(teacher.i)
        tangent = teacher.track[(i + 1) % len(teacher.track)] - teacher.track[i]
        wrong.append(speed > 5.0 and float(tangent @ vel) < 0.0)
        obs, r, term, trunc, _ = env.step(a)
        total += float(r)
        rows.append((step, total, off, speed, *a, *a_teacher, teacher.i, float(teacher.vcorner[teacher.i])))
        if term or trunc:
            break
    env.close()
    first = next((row[0] for row in rows if row[2] >= far), None)
    print(
        f"track {track}: return {total:.1f} in {len(rows)} steps ({len(teacher.track)} tiles); first step "
        f"{far:g}+ off the centre line: {first}"
    )
    if first is not None:
        print("step  return   off  speed | steer   gas brake | teacher: steer   gas brake | tile  v_corner")
        for row in rows[max(0, first - 40) : first + 8 : 4]:
            print(
                "{:4d} {:7.1f} {:5.1f} {:6.1f} | {:5.2f} {:5.2f} {:5.2f} |          {:5.2f} {:5.2f} {:5.2f} | "
                "{:4d} {:9.1f}".format(*row)
            )
    print("nearest tile every 50 steps:", " ".join(str(row[10]) for row in rows[::50]))
    first_wrong = next((k for k, w in enumerate(wrong) if w), None)
    print(f"steps driving the wrong way: {sum(wrong)} of {len(rows)} (first: {first_wrong})")
    return 0


def replay(pool, run: Run, args, teacher_p: dict, rows: tuple[int, ...]) -> None:
    """``--replay DIR FIRST TRACKS``: an earlier run's data collection done again with its own students, added to
    ``run``'s data (nothing is refitted here)."""
    src, first, tracks = Path(args.replay[0]), int(args.replay[1]), int(args.replay[2])
    for row in read_log(src):
        k = row["round"]
        student = None if k == 0 else load_round(src / f"round-{k - 1}.npz")
        driven = collect(pool, run, student, row["beta"], k, first, tracks, args.batch, teacher_p, rows).mean()
        print(f"replayed {src} round {k}: {run.states} states (driven {driven:.1f})", flush=True)


def load_round(path: Path) -> np.ndarray:
    """A round's student: ``params`` (the flat vector), or the ``w1, b1, w2, b2`` of runs before 8c6862c."""
    with np.load(path) as d:
        if "params" in d.files:
            return d["params"]
        return np.concatenate([d[k].ravel() for k in ("w1", "b1", "w2", "b2")]).astype(np.float64)


class Run:
    """A DAgger run's state in ``OUT``, resumable after any finished round: ``round-K.npz`` (each round's student),
    ``log.jsonl`` (one line per round) and ``data.npy``/``labels.npy`` (every state gathered so far and the
    teacher's labels; float32, about 1.2 kB a state, rewritten each round) and, once there are any, ``focus.npy``
    (which states --focus-below kept)."""

    def __init__(self, out: Path, params: np.ndarray | None) -> None:
        self.out, self.params = out, params
        self.rows: list[dict] = []
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._f: list[np.ndarray] = []
        self.env_steps = 0

    @classmethod
    def resume(cls, out: Path, params: np.ndarray | None) -> Run:
        run = cls(out, params)
        run.rows = read_log(out)
        if run.rows:
            last = run.rows[-1]["round"]
            run.params = run._round(last)
            n = run.rows[-1]["states"]  # the data are written before the log line: a kill between leaves more
            run._x, run._y = [np.load(out / "data.npy")[:n]], [np.load(out / "labels.npy")[:n]]
            if len(run._x[0]) != n:
                raise SystemExit(f"{out}: data.npy holds fewer than round {last}'s {n} states")
            focus = out / "focus.npy"
            run._f = [np.load(focus)[:n] if focus.exists() else np.zeros(n, bool)]
            run.env_steps = run.rows[-1]["env_steps"]
            print(f"resuming {out} after round {last} ({run.states} states)", flush=True)
        return run

    @property
    def next_round(self) -> int:
        return self.rows[-1]["round"] + 1 if self.rows else 0

    @property
    def seconds(self) -> float:
        return float(self.rows[-1]["seconds"]) if self.rows else 0.0

    @property
    def states(self) -> int:
        return int(sum(len(x) for x in self._x))

    def add(self, x: np.ndarray, y: np.ndarray, focus: bool = False) -> None:
        self._x.append(x.astype(np.float32))
        self._y.append(y.astype(np.float32))
        self._f.append(np.full(len(x), focus))

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        self._x, self._y = [np.concatenate(self._x)], [np.concatenate(self._y)]
        return self._x[0], self._y[0]

    def focus(self) -> np.ndarray:
        """Which states --focus-below kept (a mask over :meth:`data`'s rows)."""
        self._f = [np.concatenate(self._f)] if self._f else [np.zeros(0, bool)]
        return self._f[0]

    def seed(self, src: Path) -> None:
        """``--seed-data``: another run's gathered states and labels as this run's first data (not focus states)."""
        self.add(np.load(src / "data.npy"), np.load(src / "labels.npy"))

    def commit(self, rnd: int, row: dict) -> None:
        assert self.params is not None
        np.savez(self.out / f"round-{rnd}.npz", params=self.params)
        x, y = self.data()
        files = [("data", x), ("labels", y)] + ([("focus", self.focus())] if self.focus().any() else [])
        for name, a in files:  # written aside, then renamed: never half a file
            np.save(self.out / f"{name}.tmp.npy", a)
            (self.out / f"{name}.tmp.npy").replace(self.out / f"{name}.npy")
        with open(self.out / "log.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        self.rows.append(row)

    def _round(self, rnd: int) -> np.ndarray:
        return load_round(self.out / f"round-{rnd}.npz")

    def last(self, k: int) -> list[int]:
        """The last ``k`` finished rounds (fewer at the start)."""
        return [r["round"] for r in self.rows[-k:]] if k > 0 else []

    def average(self, rounds: list[int], new: np.ndarray | None = None) -> np.ndarray:
        """The average of these rounds' students (and ``new``) as one MLP."""
        from gdl_studio.racing.controller import average_mlps

        return average_mlps([self._round(r) for r in rounds] + ([] if new is None else [new]))

    def best(self) -> dict:
        """The round with the best validation mean (its row and what was validated: its student, or the average
        of its ``members``), among the rounds validated on the same tracks as the last one (a run resumed with
        another --valid, or continuing another run's log, keeps its earlier rounds out of the comparison; rows
        written before ``valid_tracks`` was logged count as the same)."""
        last = self.rows[-1].get("valid_tracks")
        row = max(
            (r for r in self.rows if r.get("valid_tracks", last) == last),
            key=lambda r: r["valid_mean"],
        )
        params = self.average(row["members"]) if "members" in row else self._round(row["round"])
        return {**row, "params": params}


def keep(
    args,
    world,
    params,
    rnd: int | str,
    valid_mean: float,
    env_steps: int,
    seconds: float,
    teacher_p,
    out: Path,
    extra: dict | None = None,
):
    """Save the kept student as a controller model with its card: the MLP as ``OUT/carracing-controller-distilled``
    (its own model), the linear one as ``OUT/carracing-controller`` (a start for ``train world-model controller
    --init``)."""
    from gdl_studio.core.registry import read_card
    from gdl_studio.racing.controller import hidden_units
    from gdl_studio.racing.models_io import save_controller

    argv = list(sys.argv)
    if "--export-round" in argv:  # the card names the training run, not the export
        k = argv.index("--export-round")
        del argv[k : k + 2]
    card = {
        "data": {
            "source": "DAgger on gymnasium CarRacing-v3: a privileged pure-pursuit teacher's actions on the states "
            f"visited by teacher/student mixes, tracks {args.first}+ (each round its own {args.tracks})",
            "vae_sha256": read_card(world.vae_dir).data["sha256"],
            "mdn_sha256": read_card(world.mdn_dir).data["sha256"],
        },
        "split": f"student chosen by its return on {args.valid} validation tracks from {args.valid_first:,} (one "
        "per round); the bench's tracks (1,000,000…) and 7,000,000… were never driven in training or selection",
        "metrics": {
            "selected_round": rnd,
            "valid_mean": round(valid_mean, 1),
            "env_steps": env_steps,
            "train_seconds": round(seconds, 1),
            "cpu_workers": args.workers,
        },
        "training_command": "python " + shlex.join(argv),
        "optimizer": "DAgger with a least-squares student (Adam on the squashed actions)",
        "teacher": teacher_p,
    }
    if args.init_student:
        card["init"] = {"student": str(args.init_student), "beta0": args.beta0}
    extra = dict(extra or {})
    if "data_source" in extra:
        card["data"]["source"] = extra.pop("data_source")
    card.update(extra)
    if args.replay:
        card["data"]["replayed"] = (
            f"{args.replay[0]}'s data collection re-driven with its own students first (tracks {args.replay[1]}+, "
            f"{args.replay[2]} a round)"
        )
    if hidden_units(params.size):  # the MLP student: its own model, carracing-controller-distilled
        card["display_name"] = "Imitation-trained driver (MLP)"
        card["world"] = {
            "vae": world.vae,
            "mdn": world.mdn,
            "vae_sha256": card["data"]["vae_sha256"],
            "mdn_sha256": card["data"]["mdn_sha256"],
        }
        card["task"] = (
            "drive CarRacing-v3 through V and M (Dream panel); imitates a driver that reads the simulator's "
            "state, from V's latent and M's hidden state only"
        )
        card["optimizer"] = extra.get("optimizer") or (
            f"DAgger (β = {args.beta0:g} · 0.5^round): a tanh MLP with {args.student_hidden} units fitted by "
            f"minibatch Adam ({args.fit_steps} steps of 2,048) to the teacher's actions on all states gathered so "
            "far, warm-started each round"
            + (
                f"; the rounds whose log line names members drove, and were validated as, the average of the last "
                f"{args.drive_average} rounds' students"
                if args.drive_average > 1
                else ""
            )
            + (
                "; DART: AR(1) noise of std {:g} and step correlation {:g} on the executed steering while each "
                "round's data were gathered (labels: the teacher's clean actions)".format(*args.steer_noise)
                if args.steer_noise[0] > 0
                else ""
            )
            + (
                f"; departures: {args.departures:.0%} of each round's episodes got one forced departure "
                "(departure_plan: full lock to a random side for 8–30 steps), the teacher labelling the way back"
                if args.departures > 0
                else ""
            )
        )
        save_controller(params, out, card, name=DISTILLED_NAME)
        print(f"kept round {rnd}: {valid_mean:.1f} on {args.valid} validation tracks -> {out / DISTILLED_NAME}")
        return
    save_controller(params, out, card)  # OUT/carracing-controller
    print(f"kept round {rnd}: {valid_mean:.1f} on {args.valid} validation tracks", flush=True)


def export_round(args, world, teacher_p) -> int:
    """``--export-round K``: save round K of the run in ``--out`` (its ``round-K.npz`` and ``log.jsonl``) as the
    kept student, e.g. for a run from before the student was saved at the end."""
    out = Path(args.out)
    rows = read_log(out)
    row = next(r for r in rows if r["round"] == args.export_round)
    params = load_round(out / f"round-{args.export_round}.npz")
    last = rows[-1]
    keep(args, world, params, args.export_round, row["valid_mean"], last["env_steps"], last["seconds"], teacher_p, out)
    return 0


def export_ensemble(ctx, args, world, models_dir: str, teacher_p: dict, rows: tuple[int, ...]) -> int:
    """``--export-ensemble DIR:K …``: the average of these students (:func:`average_mlps`), scored on the validation
    tracks and saved as ``OUT``'s driver."""
    from gdl_studio.racing.controller import average_mlps
    from gdl_studio.racing.train_controller import _worker_init

    specs = [spec.rsplit(":", 1) for spec in args.export_ensemble]
    params = average_mlps([load_round(Path(d) / f"round-{k}.npz") for d, k in specs])
    runs = sorted({d for d, _ in specs})
    logs = {d: read_log(Path(d)) for d in runs}
    t0 = time.perf_counter()
    if args.scored:
        v, args.valid_first = _scored(Path(args.scored), params)
        args.valid = len(v)  # for the card's split
        val_steps = 0  # driven (and counted) by the scoring run, not here; the card names it
    else:
        valid = list(range(args.valid_first, args.valid_first + args.valid))
        with ctx.Pool(args.workers, _worker_init, (models_dir,)) as pool:
            v, val_steps = drive_alone(pool, params, valid, args, teacher_p, rows)
    print(json.dumps({"ensemble": args.export_ensemble, **return_stats(v)}), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # env steps: every run named (a run that replayed another counts the replay too) and this validation
    steps = sum(logs[d][-1]["env_steps"] for d in runs) + val_steps
    seconds = sum(logs[d][-1]["seconds"] for d in runs) + time.perf_counter() - t0
    ensemble = {
        "members": args.export_ensemble,
        "how": "one MLP whose raw outputs are the mean of the members' (hidden layers side by side)",
        "validation_scored_by": args.scored or "this command",
        "member_rounds": {
            d: [r for r in logs[d] if any(k == str(r["round"]) for dd, k in specs if dd == d)] for d in runs
        },
        "member_runs": {d: _run_card(Path(d)) for d in runs},
    }
    keep(
        args,
        world,
        params,
        " + ".join(args.export_ensemble),
        float(v.mean()),
        steps,
        seconds,
        teacher_p,
        out,
        extra={
            "ensemble": ensemble,
            "data_source": "DAgger on gymnasium CarRacing-v3 (a privileged pure-pursuit teacher's actions on the "
            f"states its students visited): the runs {', '.join(runs)}, whose rounds are the members",
            "optimizer": f"the average of {len(specs)} DAgger students (rounds of the runs in ensemble.member_runs, "
            "each fitted as their optimizer says)",
            "split": f"chosen by its return on {args.valid} validation tracks from {args.valid_first:,}; the members' "
            "runs chose nothing on them; the bench's tracks (1,000,000…) and 7,000,000… were never driven in "
            "training or selection",
        },
    )
    return 0


def _run_card(run: Path) -> dict:
    """What a run's own saved driver's card says about how it was trained (its command, optimizer, data, start)."""
    path = run / DISTILLED_NAME / "card.json"
    if not path.exists():
        return {}
    card = json.loads(path.read_text())
    return {k: card[k] for k in ("training_command", "optimizer", "init", "data") if k in card}


def _scored(path: Path, params: np.ndarray) -> tuple[np.ndarray, int]:
    """The returns and first track of ``params`` in a ``racing_value_equiv.py score`` output, found by comparing
    the vectors."""
    scored = json.loads(path.read_text())
    for name, returns in zip(scored["controllers"], scored["returns"], strict=True):
        npz, _, key = name.rpartition(":")
        if npz.endswith(".npz"):
            with np.load(npz) as d:
                if key in d.files and d[key].shape == params.shape and np.array_equal(d[key], params):
                    return np.asarray(returns), int(scored["first_track"])
    raise SystemExit(f"{path} did not drive this average")


if __name__ == "__main__":
    raise SystemExit(main())
