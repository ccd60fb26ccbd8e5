"""The Ray backend against a cluster started apart, as a user starts one: `ray start --head` (2 CPUs,
a free port, token authentication on, as Ray >= 2.52 does when a token exists), then
`train world-model controller --backend ray --ray-address 127.0.0.1:PORT` in another process.

The run must give the local backend's CMA-ES run exactly (same per-generation log, mean, σ and
best candidate). The cluster is stopped whatever happens: `ray start --block` is ended through its
own process id and anything left running from its temp directory is killed by pid (never `ray
stop`, which would end every Ray instance of this user on the machine).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[cluster]')")
pytest.importorskip("gdl_studio.racing.fast_env")

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without Ray settings a test process may carry (a local ray.init sets
    RAY_AUTH_MODE=token in os.environ), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env.setdefault("SDL_VIDEODRIVER", "dummy")
    env.setdefault("SDL_AUDIODRIVER", "dummy")
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def _pids_using(path: str) -> list[int]:
    """Processes whose command line names ``path`` (what the cluster started from its temp dir)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if path.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def _stop(proc: subprocess.Popen, temp: str) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # `ray start --block` stops the processes it started
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    deadline = time.monotonic() + 10
    while _pids_using(temp) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in _pids_using(temp):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture(scope="module")
def cluster():
    """(address, token path, cluster temp dir) of a 2-CPU head node started with `ray start`."""
    # a short path: Ray puts Unix sockets under it (108 characters at most)
    temp = tempfile.mkdtemp(prefix="gdlray", dir="/tmp" if os.path.isdir("/tmp") else None)
    token = Path(temp) / "auth_token"
    token.write_text(secrets.token_hex(32))
    port = _free_port()
    log = open(Path(temp) / "ray_start.log", "w")
    env = _clean_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token), RAY_worker_niceness="0")
    cmd = [
        sys.executable,
        "-m",
        "ray.scripts.scripts",
        "start",
        "--head",
        "--block",
        f"--port={port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp}/t",
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=temp, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Ray runtime started" not in (Path(temp) / "ray_start.log").read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("`ray start --head` did not start:\n" + (Path(temp) / "ray_start.log").read_text()[-3000:])
            time.sleep(0.3)
        yield f"127.0.0.1:{port}", token, temp
    finally:
        _stop(proc, temp)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def _argv(models: Path, root: Path, *extra: str) -> list[str]:
    return [
        "train",
        "world-model",
        "controller",
        "--models",
        str(models),
        "--out",
        str(root / "out"),
        "--ckpt",
        str(root / "ckpt"),
        "--popsize",
        "4",
        "--rollouts",
        "1",
        "--generations",
        "2",
        "--max-steps",
        "30",
        "--patience",
        "0",
        "--batch-envs",
        "1",
        "--seed",
        "3",
        *extra,
    ]


def _run_cli(argv: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gdl_studio", *argv],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
        env=_clean_env(**env),
    )


def _trajectory(ckpt: Path):
    from gdl_studio.racing.train_controller import load_strategy_state, read_log

    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in read_log(ckpt)]
    mean, sigma = load_strategy_state(ckpt / "cma_state.npz")
    state = json.loads((ckpt / "controller_state.json").read_text())
    return rows, mean, sigma, state["best_fitness"], state["best_params"]


def test_training_through_ray_address_equals_local(cluster, tiny_models_dir, tmp_path):
    from gdl_studio.cli import main

    address, token, temp = cluster
    assert main(_argv(tiny_models_dir, tmp_path / "local", "--workers", "1")) == 0
    # the driver knows where the token is but not that the cluster wants one (RAY_AUTH_MODE unset):
    # what a user has after `ray start --head` on a machine where ~/.ray/auth_token exists
    proc = _run_cli(
        _argv(tiny_models_dir, tmp_path / "ray", "--backend", "ray", "--ray-address", address),
        RAY_AUTH_TOKEN_PATH=str(token),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "gen 2/2" in proc.stderr + proc.stdout
    assert "differs from this driver" not in proc.stderr  # the workers ran this checkout's code
    rows_l, mean_l, sigma_l, best_l, params_l = _trajectory(tmp_path / "local" / "ckpt")
    rows_r, mean_r, sigma_r, best_r, params_r = _trajectory(tmp_path / "ray" / "ckpt")
    assert len(rows_l) == 2 and rows_r == rows_l  # fitness best/mean/worst, xmean, σ, env steps: exactly
    assert np.array_equal(mean_r, mean_l) and sigma_r == sigma_l
    assert best_r == best_l and params_r == params_l
    # and the candidates ran as tasks of that cluster (its workers' logs are in its temp dir)
    assert list(Path(temp, "t").glob("session_*/logs/worker-*")), "no Ray worker of the cluster ran"


def test_a_cluster_wanting_a_token_not_given_is_one_line_and_exit_2(cluster, tiny_models_dir, tmp_path):
    address, token, temp = cluster
    # token auth explicitly off here: nothing to send, so one line saying what the cluster needs
    proc = _run_cli(
        _argv(tiny_models_dir, tmp_path, "--backend", "ray", "--ray-address", address),
        RAY_AUTH_MODE="disabled",
        RAY_AUTH_TOKEN_PATH=str(token),
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert (
        f"the Ray cluster at {address} requires its auth token" in proc.stderr and "RAY_AUTH_MODE=token" in proc.stderr
    )
    assert not (tmp_path / "ckpt").exists() and not (tmp_path / "out").exists()
    # a wrong token: one line too
    wrong = tmp_path / "wrong_token"
    wrong.write_text(secrets.token_hex(32))
    proc = _run_cli(
        _argv(tiny_models_dir, tmp_path, "--backend", "ray", "--ray-address", address),
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN_PATH=str(wrong),
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and "rejects the auth token" in proc.stderr
    assert not (tmp_path / "ckpt").exists()
