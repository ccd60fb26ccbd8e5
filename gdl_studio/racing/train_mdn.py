"""Train M (the MDN-RNN) on latent sequences; resumable, early-stopped on validation.

First every rollout is encoded with the trained V into μ and log σ² (fp16), cached in
``series.npz`` beside the checkpoint together with the actions, rewards and episode ends, and
keyed by V's sha256 (a new V re-encodes). Training then draws random windows of ``seq_len``
steps; as in the paper, z is sampled from N(μ, σ²) afresh each time a window is used. Inputs
(z_t, a_t) predict z_{t+1}, the reward r_t (clipped to [-1, 5]) and termination after a_t.
Every 20th episode is held out for validation, as for V.

Options for a dream that holds up over long horizons (each is off by default, i.e. the paper's M):

* ``reward_weight`` / ``done_weight`` / ``done_pos_weight`` — weight the reward and episode-end
  heads so they matter beside the 32 latent dimensions' NLL (episode ends are rare);
* ``start_share`` — the fraction of windows that begin at an episode's first step, where the
  dream begins too (M's state is zero there, as in the dream);
* ``open_loop`` — scheduled sampling: at each step the input latent is, with this probability,
  M's own sample of it (drawn from its previous prediction, no gradient) instead of the
  encoded frame, so M learns to continue from its own imperfect predictions; ``open_loop_span``
  makes those steps come in runs of that many (the same share of steps), so M is trained on
  open-loop stretches as long as the run instead of single steps;
* ``rollout_horizon`` / ``rollout_weight`` — a multi-step loss: from a random step of each batch's
  windows M runs ``rollout_horizon`` steps on its own samples *with* their gradient (the component
  is drawn without one; its mean and σ carry it, the reparameterisation), and every step's mixture is
  scored against the real trajectory. Unlike scheduled sampling, whose own samples carry no gradient,
  this credits an early prediction with what it does to later ones, so the wheel's effect, which
  builds up over many steps, enters the loss directly (:func:`rollout_loss`); ``rollout_focus`` places
  that share of each batch's windows so a departure from the road (V's decoding of the frames, as
  ``dream_batch.on_road`` reads it) falls inside the multi-step stretch, where it is rare otherwise;
  ``rollout_mse`` also scores the stretch's expected latents by their squared error;
* ``hidden`` — the LSTM size; ``init`` — start from a trained M (same size), e.g. the previous
  round's;
* ``latent`` — what M learns: V's sampled z (the paper's) or V's mean μ; ``mixture`` — one mixture per
  latent dimension (the paper's) or one joint mixture over the whole z (``mdn_rnn.MDNConfig``); an
  ``init`` M with the other kind of mixture gives everything but its mixture head.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdl_studio.core.errors import UserError

REWARD_CLIP = (-1.0, 5.0)


@dataclass
class MDNTrainConfig:
    """Settings of one ``train world-model mdn-rnn`` run."""

    data: Path
    vae: Path
    out: Path
    ckpt: Path
    device: str = "auto"
    epochs: int = 100
    batch: int = 64
    seq_len: int = 200
    lr: float = 1e-3
    max_minutes: float | None = None
    max_episodes: int | None = None
    patience: int = 6
    seed: int = 0
    fp16: bool = True
    command: str = ""
    reward_weight: float = 1.0
    done_weight: float = 1.0
    done_pos_weight: float = 1.0
    start_share: float = 0.0
    open_loop: float = 0.0
    open_loop_span: int = 1
    rollout_horizon: int = 0  # multi-step loss over this many own-sample steps with their gradient (0: off)
    rollout_weight: float = 1.0
    rollout_mse: float = 0.0  # weight of the expected latent's squared error in the rollout loss
    rollout_focus: float = 0.0  # share of windows placed around a departure from the road (needs rollout_horizon)
    hidden: int = 256
    init: Path | None = None
    latent: str = "sample"  # what M is fed and predicts: "sample" z ~ N(μ, σ²) of V (the paper's), or "mean" μ
    mixture: str = "dim"  # M's mixture over z: per dimension (the paper's) or "joint" (mdn_rnn.MDNConfig)


def encode_series(data: Path, vae_dir: Path, cache: Path, device, max_episodes: int | None = None, log=print) -> dict:
    """Encode all rollouts with V into a cached series file (reused while V is unchanged)."""
    import torch

    from gdl_studio.core.registry import read_card
    from gdl_studio.racing.collect import list_episodes
    from gdl_studio.racing.models_io import load_dir

    try:
        card = read_card(vae_dir)
    except Exception as exc:
        raise UserError(f"no trained VAE in {vae_dir} ({exc}); run `gdl-studio train world-model vae` first") from None
    files = list_episodes(data)[: max_episodes or None]
    if not files:
        raise UserError(f"no rollouts in {data}; run `gdl-studio train world-model collect` first")
    key = f"{card.data['sha256']}:{len(files)}"
    cached = _read_keyed(cache, key)
    if cached is not None:
        log(f"mdn-rnn: using cached latents {cache}")
        return cached
    vae = load_dir(vae_dir).to(device)
    mus, logvars, actions, rewards, terms, lengths = [], [], [], [], [], []
    t0 = time.perf_counter()
    for n, path in enumerate(files, 1):
        with np.load(path) as d:
            frames, act, rew, term = d["frames"], d["actions"], d["rewards"], d["terminated"]
        with torch.inference_mode():
            for start in range(0, len(frames), 1024):
                x = torch.from_numpy(frames[start : start + 1024]).to(device).permute(0, 3, 1, 2).float().div_(255.0)
                mu, logvar = vae.encode(x)
                mus.append(mu.half().cpu().numpy())
                logvars.append(logvar.half().cpu().numpy())
        actions.append(act)
        rewards.append(rew)
        terms.append(term)
        lengths.append(len(act))
        if n % max(1, len(files) // 10) == 0:
            log(f"  encoded {n}/{len(files)} episodes ({time.perf_counter() - t0:.0f}s)")
    series = {
        "key": np.array(key),
        "mu": np.concatenate(mus),
        "logvar": np.concatenate(logvars),
        "actions": np.concatenate(actions).astype(np.float32),
        "rewards": np.concatenate(rewards).astype(np.float32),
        "terminated": np.concatenate(terms).astype(bool),
        "lengths": np.asarray(lengths, np.int64),
    }
    _write_keyed(cache, key, series)
    log(f"mdn-rnn: encoded {len(files)} episodes → {cache}")
    return series


def _read_keyed(cache: Path | None, key: str) -> dict | None:
    """The arrays of the .npz ``cache`` when it exists and was written under ``key`` (``_write_keyed``), else None."""
    if cache is None or not cache.is_file():
        return None
    with np.load(cache) as d:
        return {k: d[k] for k in d.files} if str(d["key"]) == key else None


def _write_keyed(cache: Path, key: str, arrays: dict) -> None:
    """Write ``arrays`` to the .npz ``cache`` atomically, under ``key`` (its "key" entry)."""
    from gdl_studio.core.atomic import atomic_path

    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=False, **{**arrays, "key": np.array(key)})


def training_latents(mu, logvar, latent: str, gen=None):
    """The latent series M is fed and learns to predict: ``"sample"``, z ~ N(μ, σ²) from V's posterior (the
    paper's: V's noise becomes part of what M predicts), or ``"mean"``, μ itself (what a driver reads in the
    real game). ``gen``: the CPU generator of the noise (drawn for "sample" only)."""
    import torch

    if latent == "mean":
        return mu
    if latent != "sample":
        raise ValueError(f"latent must be 'sample' or 'mean', not {latent!r}")
    eps = torch.randn(mu.shape, generator=gen).to(mu.device)
    return mu + eps * torch.exp(0.5 * logvar)


class SeriesSampler:
    """Random fixed-length windows (with masks) from a set of episodes of a series."""

    def __init__(self, series: dict, episodes: list[int], seq_len: int) -> None:
        lengths = series["lengths"]
        step_off = np.concatenate([[0], np.cumsum(lengths)])
        frame_off = np.concatenate([[0], np.cumsum(lengths + 1)])
        self.series, self.seq_len = series, seq_len
        self.episodes = [(int(step_off[e]), int(frame_off[e]), int(lengths[e])) for e in episodes if lengths[e] > 0]
        self.total_steps = sum(n for _, _, n in self.episodes)

    def windows(self, rng: np.random.Generator, count: int, start_share: float = 0.0):
        """``count`` random windows → dict of numpy arrays (count, L, …) and a mask (count, L).

        A share ``start_share`` of them begins at the first step of its episode.
        """
        out = self._empty(count)
        picks = rng.integers(0, len(self.episodes), count)
        for row, e in enumerate(picks):
            n = self.episodes[e][2]
            start = (
                0 if start_share and rng.random() < start_share else int(rng.integers(0, max(1, n - self.seq_len + 1)))
            )
            self._fill(out, row, e, start)
        return out

    def departures(self, road: np.ndarray) -> np.ndarray:
        """(episode, step) pairs, one per departure: frame ``step`` is the first off the road after one on it.
        ``road`` holds a flag per frame of the whole series (episode frames back to back, as ``mu``)."""
        found = []
        for e, (_, fo, n) in enumerate(self.episodes):
            on = road[fo : fo + n + 1]
            steps = np.flatnonzero(on[:-1] & ~on[1:]) + 1
            found += [(e, int(d)) for d in steps]
        return np.asarray(found, np.int64).reshape(-1, 2)

    def windows_around(self, rng: np.random.Generator, events: np.ndarray, count: int, at: int, horizon: int):
        """``count`` windows, each placed so that the frame of one of ``events`` (:meth:`departures`) comes
        1 to ``horizon`` steps after window position ``at`` (where :func:`rollout_loss` starts), when the
        episode leaves room for it; same arrays as :meth:`windows`."""
        out = self._empty(count)
        for row, i in enumerate(rng.integers(0, len(events), count)):
            e, d = (int(v) for v in events[i])
            start = max(0, d - at - int(rng.integers(1, horizon + 1)))
            self._fill(out, row, e, start)  # a departure's frame is at most the episode's last, so start < its length
        return out

    def _empty(self, count: int) -> dict:
        L, zdim = self.seq_len, self.series["mu"].shape[1]
        return {
            "mu": np.zeros((count, L + 1, zdim), np.float32),
            "logvar": np.zeros((count, L + 1, zdim), np.float32),
            "actions": np.zeros((count, L, 3), np.float32),
            "rewards": np.zeros((count, L), np.float32),
            "done": np.zeros((count, L), np.float32),
            "mask": np.zeros((count, L), np.float32),
        }

    def _fill(self, out: dict, row: int, e: int, start: int) -> None:
        s, (so, fo, n) = self.series, self.episodes[e]
        m = min(self.seq_len, n - start)
        out["mu"][row, : m + 1] = s["mu"][fo + start : fo + start + m + 1]
        out["logvar"][row, : m + 1] = s["logvar"][fo + start : fo + start + m + 1]
        out["actions"][row, :m] = s["actions"][so + start : so + start + m]
        out["rewards"][row, :m] = np.clip(s["rewards"][so + start : so + start + m], *REWARD_CLIP)
        out["done"][row, :m] = s["terminated"][so + start : so + start + m]
        out["mask"][row, :m] = 1.0


def train_mdn(cfg: MDNTrainConfig, log=print) -> dict:
    """Run (or resume) MDN-RNN training; writes the checkpoint and the final model."""
    import torch

    from gdl_studio.racing.mdn_rnn import MDNRNN, mdn_loss
    from gdl_studio.racing.models_io import save_mdn
    from gdl_studio.racing.training import Budget, EarlyStopping, autocast, fmt_eta, resolve_device

    budget = Budget(cfg.max_minutes)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    ckpt_dir = Path(cfg.ckpt)
    series = encode_series(Path(cfg.data), Path(cfg.vae), ckpt_dir / "series.npz", device, cfg.max_episodes, log)
    n_eps = len(series["lengths"])
    val_eps = [e for e in range(n_eps) if e % 20 == 19] or [n_eps - 1]
    train_eps = [e for e in range(n_eps) if e not in set(val_eps)] or val_eps
    train_s = SeriesSampler(series, train_eps, cfg.seq_len)
    val_s = SeriesSampler(series, val_eps, cfg.seq_len)
    focus = cfg.rollout_focus if cfg.rollout_horizon > 0 else 0.0
    if cfg.rollout_focus > 0 and not focus:
        log("mdn-rnn: --rollout-focus needs --rollout-horizon; no windows are placed around departures")
    road = road_flags(series, Path(cfg.vae), device, ckpt_dir / "road.npz", log) if focus > 0 else None
    events = train_s.departures(road) if road is not None else None
    if events is not None:
        log(f"mdn-rnn: {len(events)} departures from the road in the training episodes")
        if not len(events):
            focus = 0.0
    log(
        f"mdn-rnn: {train_s.total_steps} train / {val_s.total_steps} val steps "
        f"in {len(train_eps)}/{len(val_eps)} episodes; device {device}"
    )

    from gdl_studio.racing.mdn_rnn import MDNConfig

    model = MDNRNN(MDNConfig(hidden=cfg.hidden, mixture=cfg.mixture))
    if cfg.init is not None:
        from gdl_studio.racing.models_io import load_dir as _load_dir

        start = _load_dir(cfg.init)
        if type(start) is not MDNRNN:  # a ReadMDNRNN: retraining it here would move what its drivers read
            raise UserError(f"--init {cfg.init} is a {type(start).__name__}; M training starts from a plain MDNRNN")
        if start.config.hidden != cfg.hidden:
            raise UserError(f"--init {cfg.init} has an LSTM of {start.config.hidden} units, not {cfg.hidden}")
        state, same = start.state_dict(), start.config.mixture == cfg.mixture
        if not same:  # the mixture head's shape differs: it starts afresh
            state = {k: v for k, v in state.items() if not k.startswith("mdn.")}
            log(f"mdn-rnn: --init has a '{start.config.mixture}' mixture head; only its LSTM and other heads are used")
        model.load_state_dict(state, strict=same)
        for p in model.parameters():
            p.requires_grad_(True)
        log(f"mdn-rnn: starting from {cfg.init}")
    model = model.to(device)
    weights = dict(reward_weight=cfg.reward_weight, done_weight=cfg.done_weight, done_pos_weight=cfg.done_pos_weight)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    ckpt_path = ckpt_dir / "mdn.pt"
    es = EarlyStopping(patience=cfg.patience, min_delta=1e-4)
    if es.resume(ckpt_path, model, opt):
        log(f"mdn-rnn: resumed from {ckpt_path} at epoch {es.epoch} (best val {es.best_val:.4f})")
    rng = np.random.default_rng([cfg.seed, es.epoch])

    def to_batch(w: dict, gen: torch.Generator | None = None):
        t = {k: torch.from_numpy(v).to(device) for k, v in w.items()}
        z = training_latents(t["mu"], t["logvar"], cfg.latent, gen)
        return z[:, :-1], t["actions"], z[:, 1:], t["rewards"], t["done"], t["mask"]

    amp_on = [device.type == "cuda"]

    def amp():
        import contextlib

        return autocast(device) if amp_on[0] else contextlib.nullcontext()

    val_windows = val_s.windows(np.random.default_rng(999), max(8, min(256, val_s.total_steps // cfg.seq_len * 2)))

    def evaluate() -> tuple[float, float, float, float]:
        model.eval()
        with torch.no_grad(), amp():
            z, a, zn, r, d, m = to_batch(val_windows, torch.Generator().manual_seed(7))
            out, _ = model(z, a)
            loss, nll, rew, bce = mdn_loss(out, zn, r, d, m, **weights)
            if cfg.rollout_horizon > 0:
                gen = torch.Generator(device=device).manual_seed(11)
                roll = rollout_loss(model, z, a, zn, r, d, m, cfg.rollout_horizon, gen, None, weights, cfg.rollout_mse)
                val_roll[0] = float(roll[1])
                loss = loss + cfg.rollout_weight * roll[0]
        model.train()
        return float(loss), float(nll), float(rew), float(bce)

    val_roll = [float("nan")]  # the rollout loss's z NLL on the validation windows, for the history

    sample_gen = torch.Generator(device=device).manual_seed(cfg.seed + 17)

    def forward(z, a):
        """M over a batch of windows: teacher-forced, or fed its own samples (scheduled sampling)."""
        if cfg.open_loop > 0:
            return scheduled_forward(model, z, a, cfg.open_loop, sample_gen, cfg.open_loop_span)
        return model(z, a)[0]

    steps_per_epoch = max(1, train_s.total_steps // (cfg.batch * cfg.seq_len))
    total_steps = steps_per_epoch * max(0, cfg.epochs - es.epoch)
    done_steps, t_start, stopped = 0, time.perf_counter(), "finished"
    loss = torch.tensor(float("nan"))
    while es.epoch < cfg.epochs:
        if es.exhausted:
            stopped = "early-stopped"
            break
        model.train()
        for b in range(steps_per_epoch):
            t0 = None
            # with a focus, the multi-step stretch starts at t0 and some windows put a departure inside it
            if focus > 0 and events is not None:
                t0 = int(rng.integers(0, max(1, cfg.seq_len - cfg.rollout_horizon + 1)))
                n_focus = max(1, round(cfg.batch * focus))
                parts = [train_s.windows_around(rng, events, n_focus, t0, cfg.rollout_horizon)]
                parts.append(train_s.windows(rng, cfg.batch - n_focus, cfg.start_share))
                batch_w = {k: np.concatenate([w[k] for w in parts]) for k in parts[0]}
            else:
                batch_w = train_s.windows(rng, cfg.batch, cfg.start_share)
            z, a, zn, r, d, m = to_batch(batch_w)
            try:
                with amp():
                    loss, nll, rew, bce = mdn_loss(forward(z, a), zn, r, d, m, **weights)
                    if cfg.rollout_horizon > 0:
                        loss = (
                            loss
                            + cfg.rollout_weight
                            * rollout_loss(
                                model, z, a, zn, r, d, m, cfg.rollout_horizon, sample_gen, t0, weights, cfg.rollout_mse
                            )[0]
                        )
            except RuntimeError as exc:  # a cuDNN without bf16 LSTMs: continue in float32
                if not amp_on[0]:
                    raise
                log(f"mdn-rnn: mixed precision unavailable for the LSTM ({exc}); using float32")
                amp_on[0] = False
                loss, nll, rew, bce = mdn_loss(forward(z, a), zn, r, d, m, **weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            done_steps += 1
            if b % max(1, steps_per_epoch // 4) == 0:
                rate = done_steps / max(time.perf_counter() - t_start, 1e-9)
                log(
                    f"  epoch {es.epoch + 1}/{cfg.epochs} batch {b + 1}/{steps_per_epoch} "
                    f"loss {float(loss.detach()):.4f} (z nll {float(nll.detach()):.4f} "
                    f"reward {float(rew.detach()):.4f} done {float(bce.detach()):.4f}) "
                    f"ETA {fmt_eta((total_steps - done_steps) / max(rate, 1e-9))}"
                )
            if budget.expired():
                break
        val, vnll, vrew, vbce = evaluate()
        extra = {"val_rollout_z_nll": val_roll[0]} if cfg.rollout_horizon > 0 else {}
        improved = es.end_epoch(model, val, val_z_nll=vnll, val_reward_mse=vrew, val_done_bce=vbce, **extra)
        log(
            f"mdn-rnn: epoch {es.epoch} val loss {val:.4f} (z nll {vnll:.4f}, reward mse {vrew:.4f}"
            + (f", rollout z nll {val_roll[0]:.4f}" if extra else "")
            + ")"
            f"{' (best)' if improved else ''}"
        )
        es.checkpoint(ckpt_path, model, opt)
        rng = np.random.default_rng([cfg.seed, es.epoch])
        if budget.expired():
            stopped = "time budget reached"
            break
    history = es.history
    if es.best_state is None:
        log("mdn-rnn: no complete epoch yet; nothing written (run again to continue)")
        return {"stopped": stopped, "epochs": es.epoch}
    final = MDNRNN(MDNConfig(hidden=cfg.hidden, mixture=cfg.mixture))
    final.load_state_dict(es.best_state)
    final.eval()
    fp16 = cfg.fp16 and _fp16_ok(final, val_windows, log)
    best = min(history, key=lambda h: h["val_loss"]) if history else {}
    metrics = {"val_loss": es.best_val, "epochs": es.epoch, **{k: v for k, v in best.items() if k.startswith("val_")}}
    card = {
        "data": {
            "source": "latent series of the CarRacing-v3 rollouts encoded by carracing-vae (mu, logvar)",
            "rollout_dir": str(cfg.data),
            "episodes": int(n_eps),
            "steps": int(train_s.total_steps + val_s.total_steps),
            "vae_sha256": str(series["key"]).split(":")[0],
        },
        "split": "every 20th episode held out for validation",
        "metrics": {**metrics, "stopped": stopped, "history": history[-20:]},
        "training_command": cfg.command,
        "architecture": {"seq_len": cfg.seq_len, "reward_clip": list(REWARD_CLIP)},
        "training": {
            "reward_weight": cfg.reward_weight,
            "done_weight": cfg.done_weight,
            "done_pos_weight": cfg.done_pos_weight,
            "start_share": cfg.start_share,
            "open_loop": cfg.open_loop,
            "open_loop_span": cfg.open_loop_span,
            "rollout_horizon": cfg.rollout_horizon,
            "rollout_weight": cfg.rollout_weight,
            "rollout_focus": focus,
            "rollout_mse": cfg.rollout_mse,
            "latent": cfg.latent,
            "mixture": cfg.mixture,
            "init": str(cfg.init) if cfg.init else None,
            "batch": cfg.batch,
            "lr": cfg.lr,
        },
    }
    saved = save_mdn(final, cfg.out, card, fp16=fp16)
    log(
        f"mdn-rnn: wrote {saved.weights_path} "
        f"({saved.data['size_bytes'] / 1e6:.1f} MB, {'fp16' if fp16 else 'fp32'}); {stopped}"
    )
    return {"stopped": stopped, **metrics, "weights": str(saved.weights_path)}


def scheduled_forward(model, z, actions, p: float, gen, span: int = 1):
    """Run M over windows step by step, feeding its own sample instead of the real latent with probability ``p``.

    z (B, L, zdim) are the real inputs, actions (B, L, a). Returns an MDNOutput with (B, L, …)
    fields, like ``model(z, actions)[0]``; the samples carry no gradient. With ``span`` > 1 the
    own-sample steps come in runs of ``span`` consecutive steps (a run starts with probability
    p / (span·(1 − p) + p) at each real step, so the long-run share of own-sample steps stays ``p``);
    ``span`` = 1 draws each step alone, as before.
    """
    import torch

    from gdl_studio.racing.dream_batch import _sample
    from gdl_studio.racing.mdn_rnn import MDNOutput

    B, L, _ = z.shape
    own_steps = open_loop_mask(B, L, p, span, gen, z.device)
    state = None
    z_in = z[:, 0]
    outs = []
    for t in range(L):
        out, state = model.step(z_in, actions[:, t], state)
        outs.append(out)
        if t + 1 < L:
            with torch.no_grad():
                own = _sample(out, 1.0, gen).to(z.dtype)
            z_in = torch.where(own_steps[:, t + 1, None], own, z[:, t + 1])
    return MDNOutput(*(torch.stack(parts, dim=1) for parts in zip(*outs)))


def rollout_loss(
    model,
    z,
    actions,
    z_next,
    rewards,
    done,
    mask,
    horizon: int,
    gen,
    t0: int | None = None,
    weights: dict | None = None,
    mse_weight: float = 0.0,
):
    """M's loss over ``horizon`` steps run on its own samples, gradient through them (see the module's docstring).

    One start step t0 is drawn for the batch (``gen``; or given); M reads the real latents and actions up to t0
    (teacher-forced, building its state), is then fed the real z_t0, and from there its own τ-1 samples,
    each a reparameterised draw (the component index carries no gradient, its mean and σ do). Each of the
    ``horizon`` steps' predictions is scored against the real z, reward and episode end, as
    :func:`mdn_rnn.mdn_loss` (which it returns: total, z NLL per dim, reward MSE, done BCE); steps past an
    episode's end are masked. ``mse_weight`` adds to the total the squared error (per dimension) of the mixture's
    expected latent against the real one: a likelihood can meet an outcome it cannot place (a departure) with a
    wide component, the expectation has to move to it.
    """
    import torch

    from gdl_studio.racing.dream_batch import _sample
    from gdl_studio.racing.mdn_rnn import MDNOutput, mdn_loss

    L = z.shape[1]
    horizon = max(1, min(int(horizon), L))
    if t0 is None:
        t0 = int(torch.randint(0, L - horizon + 1, (1,), generator=gen, device=gen.device))
    t0 = min(max(0, t0), L - horizon)
    state = model(z[:, :t0], actions[:, :t0])[1] if t0 > 0 else None
    z_in, outs = z[:, t0], []
    for k in range(horizon):
        out, state = model.step(z_in, actions[:, t0 + k], state)
        outs.append(out)
        z_in = _sample(out, 1.0, gen).to(z.dtype)
    stacked = MDNOutput(*(torch.stack(parts, dim=1) for parts in zip(*outs)))
    span = slice(t0, t0 + horizon)
    total, nll, rew, bce = mdn_loss(
        stacked, z_next[:, span], rewards[:, span], done[:, span], mask[:, span], **(weights or {})
    )
    if mse_weight > 0:
        expected = (stacked.logpi.float().exp() * stacked.mu.float()).sum(-1)  # per-dimension or joint weights
        err = (expected - z_next[:, span].float()).pow(2).mean(-1)
        m = mask[:, span].float()
        total = total + mse_weight * (err * m).sum() / m.sum().clamp(min=1.0)
    return total, nll, rew, bce


def road_flags(series: dict, vae_dir: Path, device, cache: Path | None = None, log=print) -> np.ndarray:
    """Whether the car is on the road in each frame of ``series`` (its V means decoded by V, then
    ``dream_batch.on_road``: what the dream's road figures read), (frames,) bool; kept in ``cache``
    under the series' key, so a resumed run does not decode again."""
    import torch

    from gdl_studio.racing.dream_batch import on_road
    from gdl_studio.racing.models_io import load_dir

    key = str(series["key"])
    cached = _read_keyed(cache, key)
    if cached is not None:
        return cached["road"]
    vae, mu, flags = load_dir(vae_dir).to(device).eval(), series["mu"], []
    t = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(mu), 4096):
            flags.append(on_road(vae.decode(torch.from_numpy(mu[i : i + 4096].astype(np.float32)).to(device))))
    out = np.concatenate(flags) if flags else np.zeros(0, bool)
    log(f"mdn-rnn: road flags of {len(out)} frames ({time.perf_counter() - t:.0f}s), {1 - out.mean():.3f} off the road")
    if cache is not None:
        _write_keyed(cache, key, {"road": out})
    return out


def open_loop_mask(batch: int, length: int, p: float, span: int, gen, device=None):
    """(batch, length) bool: which steps' inputs are M's own samples in :func:`scheduled_forward`.

    Step 0 is always the real latent. After a real step a run of ``span`` own-sample steps starts
    with probability p / (span·(1 − p) + p), so that in the long run a share ``p`` of the steps is
    open loop whatever the span (runs are cut at the window's end).
    """
    import torch

    span = max(1, int(span))
    p_start = p / (span * (1.0 - p) + p) if p < 1.0 else 1.0
    draws = torch.rand((batch, length), generator=gen, device=device) < p_start
    mask = torch.zeros((batch, length), dtype=torch.bool, device=device)
    left = torch.zeros(batch, dtype=torch.long, device=device)  # own-sample steps left in each row's run
    for t in range(1, length):
        start = (left == 0) & draws[:, t]
        mask[:, t] = (left > 0) | start
        left = torch.where(left > 0, left - 1, torch.where(start, span - 1, 0))
    return mask


def _fp16_ok(model, windows: dict, log, tolerance: float = 0.01) -> bool:
    """True when fp16-rounded weights change the validation z NLL by less than ``tolerance`` nats."""
    import copy

    import torch

    from gdl_studio.racing.mdn_rnn import mdn_loss

    half = copy.deepcopy(model)
    with torch.no_grad():
        for p in half.parameters():
            p.copy_(p.half().float())
        t = {k: torch.from_numpy(v) for k, v in windows.items()}
        z, zn = t["mu"][:, :-1], t["mu"][:, 1:]
        l32 = float(mdn_loss(model(z, t["actions"])[0], zn, t["rewards"], t["done"], t["mask"])[1])
        l16 = float(mdn_loss(half(z, t["actions"])[0], zn, t["rewards"], t["done"], t["mask"])[1])
    ok = abs(l16 - l32) < tolerance
    log(f"mdn-rnn: fp16 check: z nll {l32:.4f} (fp32) vs {l16:.4f} (fp16) → {'fp16' if ok else 'keep fp32'}")
    return ok
