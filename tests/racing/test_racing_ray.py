"""The Ray backend of CMA-ES rollouts and the bench (racing/backends.py), on one local 2-CPU Ray.

Same seeds → the same fitness and CMA-ES trajectory as the local backend; a worker killed during a
generation is retried and the run ends as an undisturbed one would; bad input gives one line and
exit 2 with the checkpoint untouched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("gdl_studio.racing.fast_env")

TASK_TITLE = b"ray::_run_on_worker"


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray for the module (2 CPUs, no dashboard: start-up is the costly part)."""
    from gdl_studio.racing.backends import local_temp_dir

    os.environ.setdefault("RAY_worker_niceness", "0")  # as backends.connect does for a local Ray
    # its own temp dir, as backends.connect uses: not a cluster `ray start` left in /tmp/ray
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False, _temp_dir=local_temp_dir()
    )
    yield ray
    ray.shutdown()


def _cfg(models, root: Path, generations: int, backend: str, workers: int = 2):
    from gdl_studio.racing.train_controller import ControllerTrainConfig

    return ControllerTrainConfig(
        models=models,
        out=root / "out",
        ckpt=root / "ckpt",
        popsize=4,
        rollouts=1,
        generations=generations,
        workers=workers,
        batch_envs=1,
        max_steps=20,
        patience=None,
        seed=5,
        backend=backend,
    )


def _run(models, root, generations, backend, workers=2):
    from gdl_studio.racing.train_controller import train_controller

    return train_controller(_cfg(models, root, generations, backend, workers), log=lambda *a: None)


def _trajectory(root: Path):
    """Everything a run decided: the per-generation log (without timings), CMA-ES mean and σ, best."""
    from gdl_studio.racing.train_controller import load_strategy_state, read_log

    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in read_log(root / "ckpt")]
    mean, sigma = load_strategy_state(root / "ckpt" / "cma_state.npz")
    state = json.loads((root / "ckpt" / "controller_state.json").read_text())
    return rows, mean, sigma, state["best_fitness"], state["best_params"]


def _assert_same(a: Path, b: Path) -> None:
    rows_a, mean_a, sigma_a, best_a, params_a = _trajectory(a)
    rows_b, mean_b, sigma_b, best_b, params_b = _trajectory(b)
    assert rows_a == rows_b  # fitness best/mean/worst, xmean fitness, σ and env steps, exactly
    assert np.array_equal(mean_a, mean_b) and sigma_a == sigma_b
    assert best_a == best_b and params_a == params_b


def test_ray_gives_the_same_fitness_and_trajectory_as_local(ray_instance, tiny_models_dir, tmp_path):
    from gdl_studio.racing.train_controller import Evaluator

    _run(tiny_models_dir, tmp_path / "local", 2, "local", workers=1)
    _run(tiny_models_dir, tmp_path / "ray", 2, "ray")
    _assert_same(tmp_path / "local", tmp_path / "ray")
    # and candidate by candidate, batched differently (two tracks per task)
    rng = np.random.default_rng(1)
    candidates = [rng.normal(0, 0.05, 867) for _ in range(2)]
    candidates[1][-2] += 3.0  # full gas: it reaches more tiles than the other
    fits = {}
    for backend, workers in (("local", 1), ("ray", 2)):
        ev = Evaluator(tiny_models_dir, workers, backend)
        try:
            fits[backend] = ev(candidates, [11, 12], 2, 40, None)
        finally:
            ev.close()
    assert np.array_equal(fits["local"][0], fits["ray"][0]) and fits["local"][1] == fits["ray"][1] > 0
    assert len(set(fits["ray"][0].tolist())) > 1  # the candidates differ


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _running_task_pids() -> list[int]:
    """Ray worker processes of this test's Ray instance that are running one of our tasks now."""
    pids = []
    for pid in _descendants(os.getpid()):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(TASK_TITLE):
                pids.append(pid)
        except OSError:
            pass
    return pids


def test_a_worker_killed_mid_generation_is_retried_and_resume_gives_the_same_run(
    ray_instance, tiny_models_dir, tmp_path
):
    # reference: one generation, then a resumed run to two, all local
    _run(tiny_models_dir, tmp_path / "local", 1, "local", workers=1)
    _run(tiny_models_dir, tmp_path / "local", 2, "local", workers=1)
    # on Ray: the first run is stopped after generation 1; the resumed one loses a worker in generation 2
    _run(tiny_models_dir, tmp_path / "ray", 1, "ray")
    killed: list[int] = []
    stop = threading.Event()

    def killer():
        while not stop.is_set() and not killed:
            for pid in _running_task_pids():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.002)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        result = _run(tiny_models_dir, tmp_path / "ray", 2, "ray")
    finally:
        stop.set()
        thread.join(5)
    assert killed, "no worker was seen running a task"
    assert (
        not Path(f"/proc/{killed[0]}").exists() or b"zombie" in Path(f"/proc/{killed[0]}/status").read_bytes().lower()
    )
    assert result["generation"] == 2
    _assert_same(tmp_path / "local", tmp_path / "ray")


def test_a_node_without_the_native_renderer_falls_back_to_pygame_with_a_warning(ray_instance, tiny_models_dir):
    from gdl_studio.racing.backends import LocalPool, RayPool, Shipped
    from gdl_studio.racing.train_controller import _evaluate_task, _worker_init

    tasks = [(0, np.random.default_rng(2).normal(0, 0.2, 867), [21, 22], 25, None)]
    local = LocalPool(1, _worker_init, (Shipped(str(tiny_models_dir)),))
    expected = local.map(_evaluate_task, tasks)
    warnings: list[str] = []
    pool = RayPool(
        1,
        _worker_init,
        (Shipped(str(tiny_models_dir)),),
        log=warnings.append,
        runtime_env={"env_vars": {"GDL_STUDIO_NATIVE_RASTER": "0"}},
    )
    try:
        got = pool.map(_evaluate_task, tasks)
    finally:
        pool.close()
    assert got[0][1] == expected[0][1] and got[0][2] == expected[0][2]  # the same pixels, so the same returns
    assert len(warnings) == 1 and "pygame" in warnings[0] and "GDL_STUDIO_NATIVE_RASTER" in warnings[0]
    assert list(pool.nodes.values())[0][0] == "pygame"


def test_a_node_builds_the_native_renderer_from_the_packaged_source(tmp_path, monkeypatch):
    from gdl_studio.racing import native_raster
    from gdl_studio.racing.backends import build_native_renderer
    from gdl_studio.racing.fast_env import CarRacing, FastCarRacing

    path, why = build_native_renderer(tmp_path)
    assert why is None and path.is_file()
    assert build_native_renderer(tmp_path) == (path, None)  # reused, not rebuilt
    monkeypatch.setattr(native_raster, "_LIB", None)
    monkeypatch.setattr(native_raster, "_TRIED", True)  # as on a node whose install has no library
    assert native_raster.load() is None
    assert native_raster.load(path) is not None
    stock, fast = CarRacing(), FastCarRacing()
    a, b = stock.reset(seed=7)[0], fast.reset(seed=7)[0]
    assert np.array_equal(a, b)
    for t in range(25):
        action = np.array([0.3 * np.sin(t / 5), 0.5, 0.0], np.float32)
        assert np.array_equal(stock.step(action)[0], fast.step(action)[0])
    assert fast.render_backend == "native" and fast.fast_frames > 0


def test_failed_compiler_is_reported(tmp_path, monkeypatch):
    from gdl_studio.racing.backends import build_native_renderer

    monkeypatch.setenv("CC", "false")
    path, why = build_native_renderer(tmp_path)
    assert path is None and "compiler" in why


def _cli(argv, capsys):
    from gdl_studio.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _ckpt_with_files(tmp_path) -> tuple[Path, dict]:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "controller_state.json").write_text('{"generation": 3}\n')
    (ckpt / "cma_state.npz").write_bytes(b"mean and sigma")
    return ckpt, {p.name: p.read_bytes() for p in ckpt.iterdir()}


def _controller_argv(models, tmp_path, ckpt, *extra):
    return [
        "train",
        "world-model",
        "controller",
        "--models",
        str(models),
        "--out",
        str(tmp_path / "out"),
        "--ckpt",
        str(ckpt),
        "--tiny",
        *extra,
    ]


def test_ray_not_installed_is_one_line_and_exit_2(tiny_models_dir, tmp_path, monkeypatch, capsys):
    ckpt, before = _ckpt_with_files(tmp_path)
    monkeypatch.setitem(sys.modules, "ray", None)
    code, out, err = _cli(_controller_argv(tiny_models_dir, tmp_path, ckpt, "--backend", "ray"), capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "pip install -e '.[cluster]'" in err
    assert {p.name: p.read_bytes() for p in ckpt.iterdir()} == before and not (tmp_path / "out").exists()


def test_unreachable_address_is_one_line_and_exit_2(tiny_models_dir, tmp_path, capsys):
    ckpt, before = _ckpt_with_files(tmp_path)
    argv = _controller_argv(tiny_models_dir, tmp_path, ckpt, "--backend", "ray", "--ray-address", "127.0.0.1:9")
    t0 = time.perf_counter()
    code, out, err = _cli(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "cannot reach a Ray cluster at 127.0.0.1:9" in err
    assert time.perf_counter() - t0 < 30
    assert {p.name: p.read_bytes() for p in ckpt.iterdir()} == before and not (tmp_path / "out").exists()
    code, out, err = _cli(["bench", "racing", "--scaling", "--ray-address", "127.0.0.1:9"], capsys)
    assert code == 2 and "--ray-address needs --backend ray" in err


def test_a_port_that_is_not_a_ray_head_is_one_line_and_exit_2(tiny_models_dir, tmp_path, capsys, monkeypatch):
    import socket

    ckpt, before = _ckpt_with_files(tmp_path)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as in a fresh command, whatever ran before
    with socket.socket() as listener:  # accepts connections (the backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        t0 = time.perf_counter()
        code, out, err = _cli(
            _controller_argv(tiny_models_dir, tmp_path, ckpt, "--backend", "ray", "--ray-address", address), capsys
        )
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{address} accepts connections but no Ray head node answers there" in err
    assert time.perf_counter() - t0 < 40
    assert {p.name: p.read_bytes() for p in ckpt.iterdir()} == before and not (tmp_path / "out").exists()


def test_ray_address_from_the_environment_is_checked_like_the_flag(monkeypatch):
    from gdl_studio.core.errors import UserError
    from gdl_studio.racing.backends import check_backend

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")  # ray.init would join it (and refuse num_cpus)
    with pytest.raises(UserError, match="cannot reach a Ray cluster at 127.0.0.1:9"):
        check_backend("ray", None)


def test_a_worker_running_other_code_is_warned_about_once_per_node():
    from gdl_studio.racing.backends import RayPool, code_digest

    pool = object.__new__(RayPool)  # only the bookkeeping of the results' first-task notes
    warnings: list[str] = []
    pool.log, pool.nodes, pool.pids, pool._warned = warnings.append, {}, set(), set()
    pool._note(("10.0.0.2", 1, "native", None, code_digest(), "/same"))
    pool._note(("10.0.0.3", 2, "native", None, "0" * 16, "/other/gdl_studio"))
    pool._note(("10.0.0.3", 3, "native", None, "0" * 16, "/other/gdl_studio"))
    pool._note(("10.0.0.4", 4, "native", None))  # a worker with the code before this note sends four fields
    assert len(warnings) == 2 and pool.pids == {1, 2, 3, 4}
    assert "node 10.0.0.3 runs gdl_studio from /other/gdl_studio" in warnings[0] and "differs" in warnings[0]
    assert "node 10.0.0.4 runs gdl_studio from an older install" in warnings[1]


def test_ray_version_mismatch_is_one_line_and_exit_2(ray_instance, tiny_models_dir, tmp_path):
    ckpt, before = _ckpt_with_files(tmp_path)
    address = ray_instance.get_runtime_context().gcs_address
    argv = _controller_argv(tiny_models_dir, tmp_path, ckpt, "--backend", "ray", "--ray-address", address)
    code = f"import sys, ray; ray.__version__ = '0.0.1'; from gdl_studio.cli import main; sys.exit(main({argv!r}))"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    err = [line for line in proc.stderr.splitlines() if line.startswith("gdl-studio: error")]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert (
        len(err) == 1
        and "Ray version mismatch" in err[0]
        and "Ray 0.0.1" in err[0]
        and f"Ray {ray.__version__}" in err[0]
    )
    assert proc.stdout == ""
    assert {p.name: p.read_bytes() for p in ckpt.iterdir()} == before and not (tmp_path / "out").exists()


def test_bench_score_on_ray_equals_local(ray_instance, tiny_models_dir):
    from gdl_studio.racing.bench import score

    local = score(2, str(tiny_models_dir), workers=1, max_steps=15, log=lambda *a: None)
    on_ray = score(2, str(tiny_models_dir), workers=2, max_steps=15, backend="ray")
    for key in ("mean", "std", "min", "max", "env_steps", "first_seed"):
        assert on_ray[key] == local[key]


def test_bench_scaling_json(ray_instance, tiny_models_dir, capsys, monkeypatch):
    import gdl_studio.racing.bench_scaling as bs

    monkeypatch.setattr(bs, "scaling", _small_scaling(bs.scaling))
    code, out, err = _cli(
        ["bench", "racing", "--backend", "ray", "--scaling", "--json", "--models", str(tiny_models_dir)], capsys
    )
    assert code == 0
    data = json.loads(out)  # only JSON on stdout
    assert data["scaling.backend"] == "ray" and data["scaling.workers"] == [1]
    assert data["scaling.by_workers.1.local_steps_per_s"] > 0 and data["scaling.by_workers.1.ray_steps_per_s"] > 0
    assert data["scaling.efficiency"] == pytest.approx(
        data["scaling.by_workers.1.ray_steps_per_s"] / data["scaling.by_workers.1.local_steps_per_s"], rel=0.01
    )
    assert data["scaling.empty_task_ms.ray"] > 0 and data["scaling.renderer"] == ["native"]


def _small_scaling(real):
    def small(**kwargs):
        return real(max_workers=1, tasks_per_worker=1, batch_envs=1, steps=10, repeats=1, **kwargs)

    return small
