"""A recovery expert for the imitation driver, switched in by a gate (issue #13, point 5; a probe).

Session 36 found that after a crash the shipped ``carracing-controller-distilled`` stays on the grass for the rest of
the episode, and session 37 that the privileged teacher of ``racing_distill.py`` does too (full gas spins the rear
wheels on the grass and the car circles) unless its recovery mode is on (``--teacher '{"roff": 8}'``). Teaching the
recovery to the one MLP driver (``racing_distill.py --departures 0.5``) made its on-road driving worse. This probe
keeps the shipped driver untouched on the road and teaches the recovery to a second MLP, the **expert**, which drives
only while a **gate** says the car is off the road:

* ``--gate oracle``: the simulator's own distance (the car more than ``OFF`` units from its nearest tile's centre
  for 5 steps in a row; back when within ``BACK``): the ceiling of a learnt gate;
* ``--gate learnt``: a logistic regression on [z, h] fitted to that oracle on the states of the expert's rounds (every
  state of their episodes, on and off the road), with the same entry and exit counts (5 steps off, 3 steps on).

Each round drives ``--tracks`` training tracks (from 9,700,000; each round its own) with one forced departure in
every episode (``racing_distill.departure_plan``); while the gate is on, each step executes the teacher's action
with probability β = 0.5^round, else the expert's, and every gated state is labelled with the recovering teacher's
action. The expert (a 64-unit tanh MLP on [z, h], ``racing_distill.fit_mlp``) is refitted on all gated states so
far. After each round: the shipped driver with the expert on ``--valid`` validation tracks from ``--valid-first``,
with a departure in every episode, against the shipped driver alone on the same (departures show recovery; the
shipped driver's crashes are too rare to measure it). ``--crash-tracks``: both also on these tracks without
departures (the shipped driver's crash tracks of sessions 35–36's selection sets).

    python scripts/racing_recover.py --out runs/recover-expert --rounds 3 --tracks 32 --valid 24   # CPU, 2 workers

Writes ``OUT/log.jsonl``, ``OUT/expert-K.npy`` (each round's expert), ``OUT/gate.npz`` (the learnt gate) and
``OUT/data-x.npy``, ``data-y.npy`` (gated states and labels).

Later modes: ``--continue-from DIR`` teaches DIR's expert further with its logistic gate, stateless (session 37), or
with the app's road gate (``--teach-gate pixels:…``, ``--teach-departures``; session 39);
``--refit-gate DIR`` keeps DIR's expert and fits a new logistic gate to the oracle's held state (the car off the road
for ``--label-enter`` steps, until back), ``--start-steps`` adding the episodes' first steps to its data, then sweeps
``--thresholds`` on validation tracks (session 38). ``--sweep DIR`` keeps DIR's expert and drives the crash and
validation tracks at each of ``--gates``: the logistic gate with or without hysteresis, the oracle, or the app's road
gate ``pixels:OFF:BACK:LEAVE`` (``gdl_studio.racing.controller.RoadGate``, on the road share around the car in V's
frame; session 39). ``--export DIR --road-gate OFF:BACK:LEAVE:START`` writes a run's last expert with the driver as the
app's gated controller (``pack_gated``), which ``bench racing --controller`` and the Dream panel drive.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio
sys.path.insert(0, str(Path(__file__).resolve().parent))  # racing_distill

from racing_distill import (
    TEACHER,
    Teacher,
    _batches,
    departure_plan,
    fit_mlp,
    force_departures,
    return_stats,
    step_envs,
)

OFF, BACK = (
    8.0,
    4.0,
)  # the oracle gate: on after 5 steps farther than OFF from the nearest tile's centre; off within BACK
ENTER, LEAVE = 5, 3  # the learnt gate: on after ENTER steps predicted off the road, off after LEAVE predicted on it


def oracle_step(state: np.ndarray, count: np.ndarray, dist: np.ndarray, enter: int) -> tuple[np.ndarray, np.ndarray]:
    """One step of the oracle gate for a batch: (state, count) → the new (state, count). On after ``enter`` steps in
    a row farther than OFF from the nearest tile's centre (``dist``), off again once within BACK."""
    count = np.where(dist > OFF, count + 1, 0)
    return np.where(state, dist >= BACK, count >= enter), count


class Ep(NamedTuple):
    """One worker task: a lockstep batch of episodes."""

    seeds: list[int]
    driver: np.ndarray
    expert: np.ndarray | None  # None: the driver alone (no gate)
    beta: float  # while gated: the teacher's action with this probability, else the expert's
    teacher_p: dict
    rng_seed: int
    departures: float
    record: bool  # keep the gated states (features, teacher's label) and a sample of all states for the gate
    gate: tuple | str | None = None  # None: the oracle; (w, b): the learnt logistic gate on [z, h]; "pixels"
    threshold: float | None = None  # with (w, b): open where x·w + b > threshold, no entry counts; "pixels": OFF
    label_enter: int = ENTER  # the recorded "held" label: the oracle's state with this entry count (--refit-gate)
    record_start: int = 0  # with record: every state of the first steps too, not only every 4th (--start-steps)
    release: float | None = None  # with threshold: once open, the gate closes only after `leave` steps in a row
    leave: int = 1  # with its logit under `release` (--sweep; None: stateless); "pixels": BACK and LEAVE
    start: int = 0  # "pixels": closed for the episode's first START frames
    enter: int = ENTER  # "pixels": open after ENTER frames in a row under OFF


def reads_hud(expert: np.ndarray) -> bool:
    """Whether an expert's flat vector is an MLP on [z, h, the HUD gauges] (``--hud``) rather than on [z, h]: its
    length tells."""
    from gdl_studio.racing.controller import HIDDEN, HUD_INPUTS, hidden_units

    try:
        hidden_units(expert.size)
        return False
    except ValueError:
        hidden_units(expert.size, hidden=HIDDEN + HUD_INPUTS)  # ValueError for neither
        return True


def _episodes(task: Ep) -> dict:
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.controller import HIDDEN, HUD_INPUTS, RoadGate, raw_outputs, squash, unpack
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import hud_gauges, road_share
    from gdl_studio.racing.train_controller import _WORKER

    n = len(task.seeds)
    envs = [make_env() for _ in task.seeds]
    obs = [env.reset(seed=int(s))[0] for env, s in zip(envs, task.seeds)]
    teachers = [Teacher(env, task.teacher_p) for env in envs]
    agent = BatchAgent(_WORKER["vae"], _WORKER["mdn"], np.repeat(task.driver[None], n, axis=0))
    hud = task.expert is not None and reads_hud(task.expert)  # the expert also reads the HUD gauges
    expert = (
        unpack(np.repeat(task.expert[None], n, axis=0), hidden=HIDDEN + HUD_INPUTS * hud)
        if task.expert is not None
        else None
    )
    plan = departure_plan(n, task.departures, task.rng_seed)
    rng = np.random.default_rng([task.rng_seed, 3])
    totals, done = np.zeros(n), np.zeros(n, bool)
    gated, count = np.zeros(n, bool), np.zeros(n, int)
    held, held_count = np.zeros(n, bool), np.zeros(n, int)  # the oracle's state at label_enter, whatever the gate
    road_gate = (
        RoadGate([task.threshold, task.release, task.enter, task.leave, task.start]) if task.gate == "pixels" else None
    )
    gx, gy, ax, aoff, aheld = [], [], [], [], []
    gated_steps, steps = 0, 0
    false_steps, opened = 0, np.zeros(n, bool)  # gated while the label_enter oracle is not; episodes ever gated
    for t in range(1000):
        live = np.flatnonzero(~done)
        if live.size == 0:
            break
        a_teacher = np.stack([teachers[i].act() for i in range(n)])
        x = agent.features(np.stack(obs))
        xe = np.c_[x, np.stack([hud_gauges(o) for o in obs])] if hud else x  # the expert's inputs
        actions = agent.policy(x)
        dist = np.array([tc.distance() for tc in teachers])
        off = dist > OFF
        held, held_count = oracle_step(held, held_count, dist, task.label_enter)
        if expert is not None:
            if task.gate is None:  # the oracle
                gated, count = oracle_step(gated, count, dist, ENTER)
            elif road_gate is not None:  # the app's gate: the road share around the car in V's frame
                gated = road_gate.step(road_share(agent.frames).numpy())
            elif task.threshold is not None:  # the logistic gate on [z, h] (sessions 37–38), stateless
                w, b = task.gate
                logit = x @ w + b
                if task.release is None:
                    gated = logit > task.threshold
                else:  # hysteresis: open over threshold; closed after `leave` steps in a row under release
                    count = np.where(gated & (logit < task.release), count + 1, 0)
                    gated = np.where(gated, count < task.leave, logit > task.threshold)
                    count[~gated] = 0
            else:
                w, b = task.gate
                pred = x @ w + b > 0
                count = np.where(pred == gated, 0, count + 1)  # steps the prediction disagrees with the state
                flip = count >= np.where(gated, LEAVE, ENTER)
                gated = np.where(flip, ~gated, gated)
                count[flip] = 0
            if gated.any():
                a_expert = squash(raw_outputs(expert, xe))
                use = gated & (rng.random(n) >= task.beta)
                actions[use] = a_expert[use]
                actions[gated & ~use] = a_teacher[gated & ~use]
                if task.record:
                    g = np.flatnonzero(gated & ~done)
                    gx.append(xe[g].astype(np.float32))
                    gy.append(a_teacher[g])
            gated_steps += int((gated & ~done).sum())
            false_steps += int((gated & ~held & ~done).sum())
            opened |= gated & ~done
        if task.record and (t % 4 == 0 or t < task.record_start):
            ax.append(x[live].astype(np.float32))
            aoff.append(off[live])
            aheld.append(held[live])
        force_departures(actions, plan, t)
        agent.advance(actions)
        steps += step_envs(envs, obs, actions, live, totals, done)
    for env in envs:
        env.close()
    out = {
        "returns": totals.tolist(),
        "steps": steps,
        "gated_steps": gated_steps,
        "false_steps": false_steps,
        "opened": int(opened.sum()),
    }
    if task.record:
        out["gx"] = np.concatenate(gx) if gx else np.zeros((0, xe.shape[1]), np.float32)
        out["gy"] = np.concatenate(gy) if gy else np.zeros((0, 3), np.float32)
        out["ax"], out["aoff"], out["aheld"] = np.concatenate(ax), np.concatenate(aoff), np.concatenate(aheld)
    return out


def drive(pool, tasks: list[Ep]) -> tuple[np.ndarray, list[dict]]:
    res = pool.map(_episodes, tasks)
    return np.concatenate([r["returns"] for r in res]), res


def emit(log, row: dict) -> None:
    """A log line: printed and appended to OUT/log.jsonl."""
    print(json.dumps(row), flush=True)
    log.write(json.dumps(row) + "\n")
    log.flush()


def stats(v: np.ndarray) -> dict:
    return return_stats(v, "")


def fit_gate(x: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, float, dict]:
    """Logistic regression of the oracle's off-road flag on [z, h] (standardised inside, L2), on 80 % of the states;
    returns (w, b) in raw units and the held-out accuracy, recall and precision."""
    import torch

    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    cut = int(0.8 * len(x))
    tr, te = idx[:cut], idx[cut:]
    xt = torch.from_numpy(x[tr]).float()
    yt = torch.from_numpy(off[tr].astype(np.float32))
    mean, std = xt.mean(0), xt.std(0) + 1e-3
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.05)
    pos = float(yt.mean())
    for _ in range(800):
        logit = ((xt - mean) / std) @ w + b
        loss = (
            torch.nn.functional.binary_cross_entropy_with_logits(
                logit, yt, pos_weight=torch.tensor((1 - pos) / max(pos, 1e-6))
            )
            + 1e-4 * (w**2).sum()
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        w_raw = (w / std).double().numpy()
        b_raw = float(b - (w / std * mean).sum())
    pred = x[te] @ w_raw + b_raw > 0
    truth = off[te]
    quality = {
        "accuracy": round(float((pred == truth).mean()), 4),
        "recall": round(float((pred & truth).sum() / max(truth.sum(), 1)), 4),
        "precision": round(float((pred & truth).sum() / max(pred.sum(), 1)), 4),
        "off_share": round(float(truth.mean()), 4),
    }
    return w_raw, b_raw, quality


def main() -> int:
    from multiprocessing import get_context

    from gdl_studio.racing.train_controller import _worker_init
    from gdl_studio.racing.worlds import resolve_world

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", default="models/carracing-controller-distilled")
    ap.add_argument("--out", default="runs/recover-expert")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tracks", type=int, default=32)
    ap.add_argument("--first", type=int, default=9_700_000)
    ap.add_argument("--valid", type=int, default=24)
    ap.add_argument("--valid-first", type=int, default=6_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--fit-steps", type=int, default=3000)
    ap.add_argument("--teacher", default='{"roff": 8}', help="JSON overrides of the teacher's parameters")
    ap.add_argument("--crash-tracks", type=int, nargs="*", default=[])
    ap.add_argument(
        "--export",
        metavar="DIR",
        help="save the run in --out (its last expert) with --driver and --road-gate as a gated controller model "
        "DIR/carracing-controller-distilled (gdl_studio.racing.controller.pack_gated), nothing driven",
    )
    ap.add_argument(
        "--road-gate",
        default="0.2:0.5:5:50",
        metavar="OFF:BACK:LEAVE:START[:ENTER]",
        help="with --export: the app's gate (as --gates' pixels:OFF:BACK:LEAVE:START[:ENTER], ENTER default 5)",
    )
    ap.add_argument("--threshold", type=float, default=0.0, help="with --continue-from: the logistic gate's threshold")
    ap.add_argument(
        "--continue-from",
        metavar="DIR",
        help="go on from that run's last expert, its gated states and its logistic gate: each round gated statelessly "
        "(open wherever the gate's logit is over --threshold, no entry or exit counts), so that the "
        "expert's data hold the states where it will be switched in; validated with and without departures",
    )
    ap.add_argument(
        "--refit-gate",
        metavar="DIR",
        help="keep that run's last expert and fit a new gate: drive --rounds × --tracks training tracks with the "
        "oracle gate and --departures, fit the logistic gate to the oracle's held state with --label-enter (the car "
        "off the road for that many steps, until back within 4) instead of the instantaneous off-road flag, then "
        "drive the validation tracks with and without departures at each of --thresholds",
    )
    ap.add_argument("--label-enter", type=int, default=ENTER, help="with --refit-gate: the held label's entry count")
    ap.add_argument(
        "--teach-gate",
        metavar="SPEC",
        help="with --continue-from: gate the rounds with this --gates spec (e.g. the app's pixels:0.2:0.5:10:50) "
        "instead of the run's logistic gate at --threshold",
    )
    ap.add_argument(
        "--teach-departures",
        type=float,
        default=1.0,
        help="with --continue-from: the share of training episodes with a forced departure",
    )
    ap.add_argument(
        "--hud",
        action="store_true",
        help="with --teach-gate and no --continue-from: teach a new expert from scratch (round 0 the teacher alone) "
        "that also reads the HUD gauges (preprocess.hud_gauges: speed, wheel, gyro); later modes see it by its size",
    )
    ap.add_argument("--departures", type=float, default=0.5, help="with --refit-gate: share of training departures")
    ap.add_argument("--thresholds", type=float, nargs="*", default=[1.0, 2.0, 3.0])
    ap.add_argument(
        "--start-steps",
        type=int,
        default=0,
        help="with --refit-gate: the gate's data hold every state of each episode's first START_STEPS steps (the "
        "zoom-in at the start), not only every 4th",
    )
    ap.add_argument(
        "--valid-departures", type=int, default=32, help="with --refit-gate or --sweep: tracks with departures"
    )
    ap.add_argument(
        "--sweep",
        metavar="DIR",
        help="keep that run's expert and gate and drive --crash-tracks and the validation tracks (with and without "
        "departures) at each of --gates",
    )
    ap.add_argument(
        "--gates",
        nargs="*",
        default=["3", "3:0:10"],
        help="with --sweep: gates as THRESHOLD or THRESHOLD:RELEASE:LEAVE (open over THRESHOLD; once open, closed "
        "after LEAVE steps in a row with the logit under RELEASE), or oracle (the simulator's distance)",
    )
    args = ap.parse_args()
    if args.export:
        return export(args)
    teacher_p = {**TEACHER, **json.loads(args.teacher)}
    driver, _ = road_driver(Path(args.driver))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models_dir = str(resolve_world("carracing-controller").models_dir())
    valid = list(range(args.valid_first, args.valid_first + args.valid))
    (out / "command.txt").write_text("python " + " ".join(sys.argv) + "\n")  # for the exported model's card
    log = open(out / "log.jsonl", "a")
    t0 = time.perf_counter()
    xs, ys, gxs, goffs = [], [], [], []
    expert: np.ndarray | None = None
    train_steps = 0  # env steps of the rounds' data (validation not counted)

    def vtasks(seeds, exp, deps, gate=None, threshold=None, release=None, leave=1, start=0, enter=ENTER):
        return [
            Ep(
                b,
                driver,
                exp,
                0.0,
                teacher_p,
                500 + k,
                deps,
                False,
                gate,
                threshold,
                args.label_enter,
                0,
                release,
                leave,
                start,
                enter,
            )
            for k, b in enumerate(_batches(seeds, args.batch))
        ]

    if args.continue_from or args.hud:
        return continue_rounds(args, out, models_dir, driver, teacher_p, valid, vtasks, log, t0)
    if args.refit_gate:
        return refit_gate(args, out, models_dir, driver, teacher_p, valid, vtasks, log, t0)
    if args.sweep:
        return sweep(args, out, models_dir, valid, vtasks, log, t0)

    with get_context("spawn").Pool(args.workers, _worker_init, (models_dir,)) as pool:
        alone, _ = drive(pool, vtasks(valid, None, 1.0))
        row0 = {"driver_alone_departures": stats(alone), "valid_tracks": [valid[0], len(valid)]}
        emit(log, row0)
        for rnd in range(args.rounds):
            beta = 0.5**rnd
            seeds = list(range(args.first + 1000 * rnd, args.first + 1000 * rnd + args.tracks))
            tasks = [
                Ep(b, driver, expert if expert is not None else driver, beta, teacher_p, 1000 * rnd + k, 1.0, True)
                for k, b in enumerate(_batches(seeds, args.batch))
            ]
            driven, res = drive(pool, tasks)
            xs += [r["gx"] for r in res]
            ys += [r["gy"] for r in res]
            gxs += [r["ax"] for r in res]
            goffs += [r["aoff"] for r in res]
            x, y = np.concatenate(xs), np.concatenate(ys)
            expert = fit_mlp(x, y, expert, 64, args.fit_steps)
            np.save(out / f"expert-{rnd}.npy", expert)
            with_expert, vres = drive(pool, vtasks(valid, expert, 1.0))
            train_steps += sum(r["steps"] for r in res)
            row = {
                "round": rnd,
                "beta": beta,
                "train_env_steps": train_steps,
                "driven": stats(driven),
                "gated_states": len(x),
                "valid_with_expert_departures": stats(with_expert),
                "valid_gated_steps": sum(r["gated_steps"] for r in vres),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            emit(log, row)
        np.save(out / "data-x.npy", x)
        np.save(out / "data-y.npy", y)
        w, b, quality = fit_gate(np.concatenate(gxs), np.concatenate(goffs))
        np.savez(out / "gate.npz", w=w, b=b)
        learnt, lres = drive(pool, vtasks(valid, expert, 1.0, (w, b)))
        row = {
            "gate": quality,
            "valid_learnt_gate_departures": stats(learnt),
            "valid_gated_steps": sum(r["gated_steps"] for r in lres),
        }
        emit(log, row)
        if args.crash_tracks:
            a, _ = drive(pool, vtasks(args.crash_tracks, None, 0.0))
            o, _ = drive(pool, vtasks(args.crash_tracks, expert, 0.0))
            lg, _ = drive(pool, vtasks(args.crash_tracks, expert, 0.0, (w, b)))
            row = {
                "crash_tracks": args.crash_tracks,
                "alone": a.round(1).tolist(),
                "oracle_gate": o.round(1).tolist(),
                "learnt_gate": lg.round(1).tolist(),
            }
            emit(log, row)
    return 0


def road_driver(path: Path) -> tuple[np.ndarray, object]:
    """The MLP that drives on the road, and its card: the model at ``path``, or a gated model's driver (the shipped
    ``carracing-controller-distilled`` is gated since session 39)."""
    from gdl_studio.racing.controller import gated_units, split_gated
    from gdl_studio.racing.models_io import controller_params

    flat, card = controller_params(path)
    return (split_gated(flat)[0] if gated_units(flat) is not None else flat), card


def last_expert(run: Path) -> np.ndarray:
    """The last round's expert a run saved (``expert-K.npy`` with the highest K)."""
    last = max(int(p.stem.split("-")[1]) for p in run.glob("expert-*.npy"))
    return np.load(run / f"expert-{last}.npy")


def copy_gate(src: Path, out: Path) -> tuple | None:
    """A run's logistic gate copied into ``out``: (w, b); None where it has none."""
    import shutil

    if not (src / "gate.npz").exists():  # a run taught under the road gate only (--hud)
        return None
    shutil.copy(src / "gate.npz", out / "gate.npz")
    gate = np.load(out / "gate.npz")
    return gate["w"], float(gate["b"])


def continue_rounds(args, out: Path, models_dir: str, driver, teacher_p, valid, vtasks, log, t0) -> int:
    """``--continue-from DIR``: DAgger rounds for DIR's expert with its logistic gate, stateless, at ``--threshold``, or
    with the app's road gate ``--teach-gate``."""
    from multiprocessing import get_context

    from gdl_studio.racing.controller import HIDDEN, HUD_INPUTS, mlp_param_count
    from gdl_studio.racing.train_controller import _worker_init

    if args.hud:  # a new expert on [z, h, gauges]: round 0 gathers the teacher's actions alone (β = 1)
        if args.continue_from or not args.teach_gate:
            raise SystemExit("--hud teaches a new expert under --teach-gate: no --continue-from")
        expert, wb, first_beta = None, None, 1.0
        xs, ys = [], []
    else:
        src = Path(args.continue_from)
        expert, wb, first_beta = last_expert(src), copy_gate(src, out), 0.5
        xs, ys = [np.load(src / "data-x.npy")], [np.load(src / "data-y.npy")]
    gate_args = parse_gate(args.teach_gate, wb) if args.teach_gate else (wb, args.threshold)
    placeholder = np.zeros(mlp_param_count(64, hidden=HIDDEN + HUD_INPUTS))  # round 0's expert: never executed
    train_steps = 0
    with get_context("spawn").Pool(args.workers, _worker_init, (models_dir,)) as pool:
        for rnd in range(args.rounds):
            beta = first_beta * 0.5**rnd
            seeds = list(range(args.first + 1000 * rnd, args.first + 1000 * rnd + args.tracks))
            tasks = [
                vtasks([0], expert if expert is not None else placeholder, args.teach_departures, *gate_args)[
                    0
                ]._replace(seeds=b, beta=beta, rng_seed=1000 * rnd + k, record=True)
                for k, b in enumerate(_batches(seeds, args.batch))
            ]
            driven, res = drive(pool, tasks)
            train_steps += sum(r["steps"] for r in res)
            xs += [r["gx"] for r in res]
            ys += [r["gy"] for r in res]
            x, y = np.concatenate(xs), np.concatenate(ys)
            expert = fit_mlp(x, y, expert, 64, args.fit_steps)
            np.save(out / f"expert-{rnd}.npy", expert)
            dep, _ = drive(pool, vtasks(valid, expert, 1.0, *gate_args))
            plain, _ = drive(pool, vtasks(valid, expert, 0.0, *gate_args))
            row = {
                "round": rnd,
                "beta": beta,
                "gate": spec_name(gate_args),
                "teach_departures": args.teach_departures,
                "train_env_steps": train_steps,
                "driven": stats(driven),
                "gated_states": len(x),
                "valid_departures": stats(dep),
                "valid_plain": stats(plain),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            emit(log, row)
    np.save(out / "data-x.npy", x)
    np.save(out / "data-y.npy", y)
    return 0


def gate_row(plain, pres: list, dep, dres: list, base_plain, t0: float) -> dict:
    """One gate's validation figures as logged: plain tracks (and against the driver alone on them), departures."""
    return {
        "valid_plain": stats(plain),
        "plain_tracks_opened": sum(r["opened"] for r in pres),
        "plain_false_steps": sum(r["false_steps"] for r in pres),
        "plain_changed": int((plain != base_plain).sum()),
        "plain_paired_mean": round(float((plain - base_plain).mean()), 2),
        "valid_departures": stats(dep),
        "departures_gated_steps": sum(r["gated_steps"] for r in dres),
        "departures_false_steps": sum(r["false_steps"] for r in dres),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def refit_gate(args, out: Path, models_dir: str, driver, teacher_p, valid, vtasks, log, t0) -> int:
    """``--refit-gate DIR``: DIR's last expert with a gate fitted to the oracle's held state (see ``--help``)."""
    from multiprocessing import get_context

    from gdl_studio.racing.train_controller import _worker_init

    src = Path(args.refit_gate)
    expert = last_expert(src)
    np.save(out / "expert-0.npy", expert)
    xs, helds, offs = [], [], []
    train_steps = 0
    with get_context("spawn").Pool(args.workers, _worker_init, (models_dir,)) as pool:
        for rnd in range(args.rounds):
            seeds = list(range(args.first + 1000 * rnd, args.first + 1000 * rnd + args.tracks))
            tasks = [
                Ep(
                    b,
                    driver,
                    expert,
                    0.0,
                    teacher_p,
                    1000 * rnd + k,
                    args.departures,
                    True,
                    label_enter=args.label_enter,
                    record_start=args.start_steps,
                )
                for k, b in enumerate(_batches(seeds, args.batch))
            ]
            driven, res = drive(pool, tasks)
            train_steps += sum(r["steps"] for r in res)
            xs += [r["ax"] for r in res]
            helds += [r["aheld"] for r in res]
            offs += [r["aoff"] for r in res]
            emit(log, {"gather": rnd, "driven": stats(driven), "train_env_steps": train_steps})
        x, held, off = np.concatenate(xs), np.concatenate(helds), np.concatenate(offs)
        w, b, quality = fit_gate(x, held)
        logit = x @ w + b
        quality["held_share"] = round(float(held.mean()), 4)
        for t in args.thresholds:  # on the training states: opening on states neither held nor off, by threshold
            quality[f"open_not_held_t{t:g}"] = round(float(((logit > t) & ~held).mean()), 5)
            quality[f"open_not_off_t{t:g}"] = round(float(((logit > t) & ~off & ~held).mean()), 5)
        np.savez(out / "gate.npz", w=w, b=b)
        wb = (w, b)
        row: dict = {"round": 0, "label_enter": args.label_enter, "gate": quality, "train_env_steps": train_steps}
        emit(log, row)
        dvalid = valid[: args.valid_departures]
        base_plain, _ = drive(pool, vtasks(valid, None, 0.0))
        base_dep, _ = drive(pool, vtasks(dvalid, None, 1.0))
        emit(log, {"driver_alone_plain": stats(base_plain), "driver_alone_departures": stats(base_dep)})
        for t in args.thresholds:
            plain, pres = drive(pool, vtasks(valid, expert, 0.0, wb, t))
            dep, dres = drive(pool, vtasks(dvalid, expert, 1.0, wb, t))
            emit(log, {"threshold": t} | gate_row(plain, pres, dep, dres, base_plain, t0))
    return 0


def parse_gate(spec: str, wb: tuple) -> tuple:
    """``--gates``' spec → :class:`Ep`'s (gate, threshold, release, leave[, start, enter]): THRESHOLD or
    THRESHOLD:RELEASE:LEAVE for the run's logistic gate (``wb``), ``oracle`` → (),
    ``pixels:OFF:BACK:LEAVE[:START[:ENTER]]`` for the app's road gate (the road share around the car in V's frame: on
    after ENTER frames in a row under OFF, default 5; off after LEAVE frames in a row at BACK or more; closed in the
    first START frames, default 0)."""
    if spec == "oracle":
        return ()
    if spec.startswith("pixels:"):
        cut, back, leave, *rest = spec.split(":")[1:]
        start, enter = (int(rest[0]) if rest else 0), (int(rest[1]) if len(rest) > 1 else ENTER)
        return "pixels", float(cut), float(back), int(leave), start, enter
    parts = spec.split(":")
    if len(parts) == 1:
        return wb, float(parts[0]), None, 1
    if len(parts) != 3:
        raise ValueError(
            f"a gate is THRESHOLD or THRESHOLD:RELEASE:LEAVE, oracle or pixels:OFF:BACK:LEAVE, not {spec!r}"
        )
    return wb, float(parts[0]), float(parts[1]), int(parts[2])


def spec_name(spec: tuple) -> list:
    """A gate spec as logged: without the logistic gate's weights."""
    return ["oracle"] if not spec else ["logistic" if isinstance(spec[0], tuple) else spec[0], *spec[1:]]


def sweep(args, out: Path, models_dir: str, valid, vtasks, log, t0) -> int:
    """``--sweep DIR``: DIR's expert and gate at each of ``--gates``, on the crash and validation tracks."""
    from multiprocessing import get_context

    from gdl_studio.racing.train_controller import _worker_init

    src = Path(args.sweep)
    expert = last_expert(src)
    np.save(out / "expert-0.npy", expert)
    wb = copy_gate(src, out)
    specs = [parse_gate(g, wb) for g in args.gates]
    dvalid = valid[: args.valid_departures]
    with get_context("spawn").Pool(args.workers, _worker_init, (models_dir,)) as pool:
        if args.crash_tracks:
            alone, _ = drive(pool, vtasks(args.crash_tracks, None, 0.0))
            emit(log, {"crash_tracks": args.crash_tracks, "alone": alone.round(1).tolist()})
            for spec in specs:
                got, res = drive(pool, vtasks(args.crash_tracks, expert, 0.0, *spec))
                row = {"gate": spec_name(spec), "crash": got.round(1).tolist()}
                emit(log, row | {"gated": [r["gated_steps"] for r in res]})
        base_plain, _ = drive(pool, vtasks(valid, None, 0.0)) if valid else (np.zeros(0), None)
        base_dep, _ = drive(pool, vtasks(dvalid, None, 1.0)) if dvalid else (np.zeros(0), None)
        if valid:
            emit(log, {"driver_alone_plain": stats(base_plain), "driver_alone_departures": stats(base_dep)})
        for spec in specs if valid else []:
            plain, pres = drive(pool, vtasks(valid, expert, 0.0, *spec))
            dep, dres = drive(pool, vtasks(dvalid, expert, 1.0, *spec))
            emit(log, {"gate": spec_name(spec)} | gate_row(plain, pres, dep, dres, base_plain, t0))
    return 0


def export(args) -> int:
    """``--export DIR``: the driver, the run's last expert and the road gate ``--road-gate`` as one gated controller
    model (the app's :class:`gdl_studio.racing.controller.RoadGate`), with a card that names the runs."""
    import shlex

    from gdl_studio.core.registry import read_card
    from gdl_studio.racing.controller import pack_gated
    from gdl_studio.racing.models_io import save_controller

    run = Path(args.out)
    chain = [run]  # the run, and the runs it went on from (--continue-from, --refit-gate, --sweep), newest first
    while (chain[-1] / "command.txt").exists():
        cmd = (chain[-1] / "command.txt").read_text().split()
        parent = [cmd[k + 1] for k, c in enumerate(cmd) if c in ("--continue-from", "--refit-gate", "--sweep")]
        if not parent:
            break
        chain.append(Path(parent[0]))

    def rows(r: Path) -> list:
        return [json.loads(line) for line in (r / "log.jsonl").read_text().splitlines() if line.strip()]

    driver, driver_card = road_driver(Path(args.driver))
    chain = [r for r in chain if (r / "command.txt").exists()]  # a parent run not on this machine is left out
    taught = [r for r in chain if not {"--refit-gate", "--sweep"} & set((r / "command.txt").read_text().split())]
    if args.road_gate.count(":") not in (3, 4):
        raise ValueError(f"--road-gate is OFF:BACK:LEAVE:START[:ENTER], not {args.road_gate!r}")
    _, off, back, leave, start, enter = parse_gate("pixels:" + args.road_gate, ())  # as --gates reads it
    expert = last_expert(run)
    hud = reads_hud(expert)
    flat = pack_gated(driver, expert, off, back, enter, leave, start, hud=hud)
    card = {k: v for k, v in driver_card.data.items() if k in ("world", "task")} | {
        "display_name": "Imitation driver with recovery",  # short: the Driver list keeps every label whole
        "data": {
            "driver": f"the MLP that drives on the road in {args.driver} (sha256 "
            f"{read_card(Path(args.driver)).data['sha256']})",
            "expert": "DAgger on gymnasium CarRacing-v3 with forced departures (in every episode, or the share "
            "--teach-departures gives in the training command): the recovering teacher's actions on the gated states "
            f"of the rounds of {', '.join(map(str, reversed(taught)))} (each round its own training tracks, from "
            "--first); inputs "
            + ("[z, h] and the HUD gauges (speed, wheel, gyro: preprocess.hud_gauges)" if hud else "[z, h]"),
            "gate": f"the road share around the car in V's frame (preprocess.road_share): the expert drives from "
            f"{enter} frames in a row under {off:g} until {leave} frames in a row at {back:g} or more, never in "
            f"an episode's first {start} frames; nothing fitted",
        },
        "split": "the gate's settings chosen on validation tracks (the sweep's log); the bench's tracks "
        "(1,000,000…) and 7,000,000… never driven in training or selection",
        "metrics": {str(r): rows(r) for r in chain if (r / "log.jsonl").exists()},
        "training_command": " && ".join(
            (r / "command.txt").read_text().strip() for r in reversed(chain) if (r / "command.txt").exists()
        ),
        "export_command": "python " + shlex.join(sys.argv),
        "optimizer": "the driver as shipped; the expert a 64-unit tanh MLP fitted by minibatch Adam to the teacher's "
        "actions on all gated states so far (racing_distill.fit_mlp), warm-started each round",
        "teacher": {**TEACHER, **json.loads(args.teacher)},
    }
    save_controller(flat, Path(args.export), card, name="carracing-controller-distilled")
    print(f"saved {Path(args.export) / 'carracing-controller-distilled'} (road gate {args.road_gate})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
