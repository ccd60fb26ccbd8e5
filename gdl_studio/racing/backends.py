"""Where candidate rollouts run: one interface over a local process pool and a Ray cluster.

``make_pool(backend, workers, initializer, initargs)`` gives a pool whose ``map(fn, tasks)``
returns ``[fn(task) for task in tasks]`` in order, after ``initializer(*initargs)`` ran once in
every worker process:

* :class:`LocalPool` — in this process (``workers == 1``) or a ``spawn`` process pool;
* :class:`RayPool` — Ray tasks on a local Ray instance or on the cluster at ``--ray-address``.
  Each task runs one candidate's environments on one CPU (torch on one thread). At most
  ``workers`` tasks are in flight (default: every CPU of the cluster). A task whose worker
  process or node dies is run again (``max_retries``); a task is a pure function of its
  arguments, so the retried result is the one the dead worker would have returned.

The same task gives the same result on either backend (same code, same seeds, one torch thread),
so CMA-ES follows the same trajectory whichever evaluates it.

Data a worker needs from this machine (the V and M weights) is passed as :class:`Shipped`: a local
pool reads the directory in place; Ray puts its files into the object store once and every node
unpacks them into a cache directory (checked by sha256), so worker nodes need the project
installed but not the models. Every Ray worker process loads the native frame rasteriser, building
it from the packaged C source when the node's install lacks it; when that fails it draws with pygame
(the same pixels, slower) and the driver prints one warning per node.

Errors a person can fix (Ray not installed, an unreachable address, a Ray or Python version that
differs from the cluster's) raise :class:`~gdl_studio.core.errors.UserError` before anything is
written.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdl_studio.core.errors import UserError

BACKENDS = ("local", "ray")
RAY_SPEC = "ray==2.60.0"  # the version pinned by the `cluster` extra (pyproject.toml)
INSTALL_HINT = "install it with: pip install -e '.[cluster]'  (or pip install '" + RAY_SPEC + "')"
MAX_RETRIES = 3
CONNECT_TIMEOUT_S = 5.0
GCS_PROBE_TIMEOUT_S = 5.0  # the GCS's answer (Ray adds its own 5 s connect wait: ~13 s in all when none comes)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- shipped directories
@dataclass(frozen=True)
class Shipped:
    """A directory (or only its sub-directories ``names``) that workers need to read."""

    path: str
    names: tuple[str, ...] | None = None

    def files(self) -> list[tuple[str, Path]]:
        root = Path(self.path)
        tops = [root / n for n in self.names] if self.names else [root]
        out = []
        for top in tops:
            for p in sorted(top.rglob("*")) if top.is_dir() else [top]:
                if p.is_file() and not p.name.startswith("."):
                    out.append((p.relative_to(root).as_posix(), p))
        return out


def _pack(shipped: Shipped) -> tuple[str, bytes]:
    """(sha256 of the files, an uncompressed tar of them)."""
    digest = hashlib.sha256()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, path in shipped.files():
            data = path.read_bytes()
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return digest.hexdigest(), buf.getvalue()


@dataclass(frozen=True)
class _ShipRef:
    """A :class:`Shipped` directory in Ray's object store (``ref`` is a one-item list so Ray does
    not fetch it with every task)."""

    digest: str
    ref: list


def _unpack(ship: _ShipRef) -> str:
    """The node-local copy of a shipped directory (unpacked once per node and content)."""
    import ray

    target = Path(tempfile.gettempdir()) / f"gdl-studio-shipped-{ship.digest[:16]}"
    if not target.is_dir():
        blob = ray.get(ship.ref[0])
        tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r") as tar:
            try:
                tar.extractall(tmp, filter="data")
            except TypeError:  # Python < 3.10.12: no extraction filters (the archive is our own)
                tar.extractall(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another worker of this node got there first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def _resolve_local(value):
    return value.path if isinstance(value, Shipped) else value


def _resolve_worker(value):
    return _unpack(value) if isinstance(value, _ShipRef) else value


def _map_items(task, fn):
    if isinstance(task, tuple):
        return tuple(fn(v) for v in task)
    return fn(task)


# ---------------------------------------------------------------- the native renderer on a node
def native_renderer_cache() -> Path:
    """Where a node keeps the rasteriser it built itself."""
    from platformdirs import user_cache_path

    return user_cache_path("gdl-studio") / "fastraster"


def build_native_renderer(out_dir: Path | None = None) -> tuple[Path | None, str | None]:
    """Compile the packaged ``_fastraster.c`` with this node's C compiler (the flags of setup.py).

    Returns (library path, None) or (None, why not). A library built before is reused.
    """
    import importlib.machinery
    import shlex
    import subprocess
    import sysconfig

    src = Path(__file__).resolve().parent / "_fastraster.c"
    if not src.is_file():
        return None, f"{src.name} is not part of this install"
    flags = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fwrapv", "-fPIC", "-shared"]
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    key = hashlib.sha256(src.read_bytes() + " ".join(cc + flags).encode()).hexdigest()[:16]
    out_dir = Path(out_dir) if out_dir else native_renderer_cache()
    lib = out_dir / f"_fastraster-{key}{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    if lib.is_file():
        return lib, None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=lib.name + ".", suffix=".part", dir=out_dir)
        os.close(fd)
        proc = subprocess.run([*cc, *flags, str(src), "-o", tmp, "-lm"], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            Path(tmp).unlink(missing_ok=True)
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"the C compiler failed ({' '.join(cc)}: {last})"
        os.replace(tmp, lib)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"no C compiler could build it ({' '.join(cc)}: {exc})"
    return lib, None


def ensure_native_renderer(build: bool = True) -> tuple[str, str | None]:
    """Load (or build) the native rasteriser in this process; ("native"|"pygame", why not native)."""
    from gdl_studio.racing import native_raster

    reason = None
    if native_raster.disabled():
        reason = f"turned off by {native_raster.DISABLE_ENV}=0"
    elif native_raster.load() is None:
        path, reason = build_native_renderer() if build else (None, "the library is not built")
        if path is not None and native_raster.load(path) is None:
            reason = f"{path} could not be loaded"
    import numpy as np

    from gdl_studio.racing.fast_env import make_env

    env = make_env()
    try:
        env.reset(seed=0)
        env.step(np.zeros(3, np.float32))
        renderer = env.render_backend
    finally:
        env.close()
    if renderer != "native" and reason is None:
        reason = "this pygame build does not match the rasteriser (version, pixel format or smooth-scale backend)"
    return renderer, (None if renderer == "native" else reason)


# ---------------------------------------------------------------- local pool
class LocalPool:
    """``initializer`` then ``map`` in this process (``workers == 1``) or a spawn process pool."""

    kind = "local"

    def __init__(
        self, workers: int, initializer: Callable | None = None, initargs: tuple = (), in_process: bool | None = None
    ) -> None:
        import multiprocessing as mp

        self.workers = max(1, int(workers or 1))
        if mp.current_process().daemon:  # e.g. the app's fine-tuning process: it may not start children
            self.workers, in_process = 1, True
        self.in_process = self.workers == 1 if in_process is None else in_process
        args = tuple(_resolve_local(a) for a in initargs)
        self._pool = None
        if self.in_process:
            if initializer is not None:
                initializer(*args)
        else:
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=mp.get_context("spawn"), initializer=initializer, initargs=args
            )

    def map(self, fn: Callable, tasks: Iterable) -> list:
        tasks = [_map_items(t, _resolve_local) for t in tasks]
        if self._pool is None:
            return [fn(t) for t in tasks]
        return list(self._pool.map(fn, tasks))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


# ---------------------------------------------------------------- Ray
_STARTED_HERE = False  # this process started the Ray instance it is connected to


def require_ray():
    """The ``ray`` module, or a :class:`UserError` with the install step."""
    try:
        import ray
    except ImportError:
        raise UserError(f"the ray backend needs Ray, which is not installed; {INSTALL_HINT}") from None
    return ray


def _check_reachable(address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise UserError(f"--ray-address must be HOST:PORT of a Ray head node (e.g. 10.0.0.5:6379), got '{address}'")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise UserError(
            f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}); start the head there with "
            "`ray start --head --port=6379`, or leave out --ray-address to start a local Ray"
        ) from None


def _is_this_machine(host: str) -> bool:
    """Whether ``host`` names this machine (loopback, or an address of one of its interfaces)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    for family, _, _, _, sockaddr in infos:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.bind((sockaddr[0], 0))  # only an address of this machine can be bound
            return True
        except OSError:
            continue
    return False


def _probe(address: str) -> str:
    """Ask the GCS at ``address`` for the cluster id: "ok", "token" (it refuses this process for
    lack of the right auth token), "silent" (the port accepts connections but nothing answers as a
    Ray GCS) or "other" (left to ``ray.init`` to report).

    Ray >= 2.52 protects a cluster started by ``ray start --head`` with a token when one exists in
    ``~/.ray/auth_token`` (any earlier local ``ray.init()`` writes one), but a driver given an explicit
    address sends it only under ``RAY_AUTH_MODE=token``; without it ``ray.init`` retries for about
    20 s, printing a warning a second, and fails with "Failed to connect". One quick call tells.
    """
    try:
        from ray._raylet import InnerGcsClient
        from ray.exceptions import AuthenticationError, RpcError
    except ImportError:  # pragma: no cover - another Ray: leave it to ray.init
        return "other"
    saved = os.dup(2)  # the C++ client logs its retries on fd 2: keep the one-line error clean
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                InnerGcsClient.standalone(address, None, int(GCS_PROBE_TIMEOUT_S * 1000))
            except AuthenticationError:
                return "token"
            except RpcError as exc:
                return "silent" if "Timed out" in str(exc) else "other"
            except Exception:  # anything else is ray.init's to report
                return "other"
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return "ok"


def _token_available() -> bool:
    try:
        from ray._raylet import AuthenticationTokenLoader

        return bool(AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True))
    except (ImportError, AttributeError):  # pragma: no cover - another Ray
        return False


def _use_token() -> None:
    """Send the token of this machine (``~/.ray/auth_token``, ``RAY_AUTH_TOKEN[_PATH]``) from now on."""
    os.environ["RAY_AUTH_MODE"] = "token"
    try:
        from ray._raylet import Config

        Config.initialize("")  # re-read RAY_* settings in this process
    except (ImportError, AttributeError):  # pragma: no cover - another Ray
        pass


def _check_gcs(address: str) -> None:
    """Make a token-protected cluster at ``address`` usable, or explain in one line what it needs
    (also when the port answers but is not a Ray head node's).

    A cluster on this machine gets this machine's token (what ``ray.init(address="auto")`` does);
    a remote one gets it only when the user says so with ``RAY_AUTH_MODE=token``, so a token is
    never sent to another host unasked.
    """
    answer = _probe(address)
    if answer == "silent":
        raise UserError(
            f"{address} accepts connections but no Ray head node answers there; give the GCS address that "
            "`ray start --head` printed (HOST:PORT, port 6379 unless --port was given)"
        )
    if answer != "token":
        return
    mode = os.environ.get("RAY_AUTH_MODE")
    host = address.rpartition(":")[0]
    if mode is None and _token_available() and _is_this_machine(host):
        _use_token()
        if _probe(address) != "token":
            return
        raise UserError(
            f"the Ray cluster at {address} rejects this machine's auth token (~/.ray/auth_token or RAY_AUTH_TOKEN); "
            "use the token of the `ray start --head` that started it (`ray get-auth-token` there)"
        )
    if mode == "token" and _token_available():
        raise UserError(
            f"the Ray cluster at {address} rejects the auth token given here; copy the head node's "
            "~/.ray/auth_token (or export RAY_AUTH_TOKEN=<`ray get-auth-token` on the head>)"
        )
    raise UserError(
        f"the Ray cluster at {address} requires its auth token: copy the head node's ~/.ray/auth_token here "
        "(or export RAY_AUTH_TOKEN=<`ray get-auth-token` on the head>) and export RAY_AUTH_MODE=token"
    )


def _version_line(text: str) -> str:
    """'Ray A (Python a.b.c) here, Ray B (Python x.y.z) on the cluster' from Ray's mismatch text."""
    import re

    found = re.findall(r"Ray:\s*(\S+)\s*\n\s*Python:\s*(\S+)", text)
    if len(found) >= 2:
        (c_ray, c_py), (m_ray, m_py) = found[:2]
        return f"this process has Ray {m_ray} (Python {m_py}), the cluster runs Ray {c_ray} (Python {c_py})"
    return text.strip().splitlines()[0]


def local_temp_dir() -> str:
    """Ray's temp directory for a local instance started here (short: Ray puts sockets in it)."""
    return os.path.join(tempfile.gettempdir(), f"gdl-studio-ray-{os.getuid() if hasattr(os, 'getuid') else 0}")


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect this process to Ray: the cluster at ``address`` (HOST:PORT or ``auto``), else a new
    local instance (``num_cpus``, default all cores). Idempotent; raises :class:`UserError` for an
    address that does not answer or a Ray/Python version that differs from the cluster's."""
    global _STARTED_HERE
    ray = require_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None  # as ray.init would read it
    if address and address.startswith("ray://"):
        raise UserError(
            "give the head node's GCS address HOST:PORT (as printed by `ray start --head`), not a ray:// client address"
        )
    if address and address != "auto":
        _check_reachable(address)
    if ray.is_initialized():
        return
    if address and address != "auto":
        _check_gcs(address)
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # Ray renices its workers to 15 by default: on a machine shared with other work they would get a
    # fraction of the CPU a local pool gets. A local instance keeps them at normal priority.
    if not address:
        os.environ.setdefault("RAY_worker_niceness", "0")
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address:
        kwargs["address"] = address
    else:
        kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
        # A Ray temp directory of our own: under Ray's default one, ray.init() without an address
        # joins the last cluster `ray start` recorded there (/tmp/ray/ray_current_cluster), even a
        # stopped one, instead of starting the local instance asked for.
        kwargs["_temp_dir"] = local_temp_dir()
    try:
        ray.init(**kwargs)
    except RuntimeError as exc:
        if "Version mismatch" in str(exc):
            raise UserError(
                f"Ray version mismatch: {_version_line(str(exc))}; install the same Ray and Python on every node "
                f"and the driver ({RAY_SPEC} is the one the `cluster` extra pins)"
            ) from None
        raise UserError(
            f"could not connect to Ray at {address or 'a new local instance'}: {str(exc).splitlines()[0]}"
        ) from None
    except ConnectionError as exc:
        raise UserError(f"could not connect to Ray at {address}: {str(exc).splitlines()[0]}") from None
    _STARTED_HERE = not address


def disconnect() -> None:
    """Stop Ray if this process started it (a cluster it only joined keeps running)."""
    global _STARTED_HERE
    if _STARTED_HERE:
        import ray

        ray.shutdown()
        _STARTED_HERE = False


@dataclass(frozen=True)
class _Setup:
    key: str
    initializer: Callable | None
    initargs: tuple


_WORKER_SETUP: dict[str, Any] = {}
_CODE: dict[str, str] = {}


def code_digest() -> str:
    """sha256 (16 hex digits) of the ``gdl_studio`` sources this process imports: a worker that runs
    other code than the driver (another checkout or version on its node, or a node that imports an
    installed copy instead of the driver's working tree) may score candidates differently."""
    if "digest" not in _CODE:
        root = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
        _CODE["digest"] = digest.hexdigest()[:16]
    return _CODE["digest"]


def _run_on_worker(setup: _Setup, fn: Callable, task):
    """A Ray task: run ``setup`` once per worker process, then ``fn(task)``.

    Returns (meta, result); meta is (node ip, pid, renderer, why not native, code digest, package
    directory) for the first task of a process after its setup, else None.
    """
    meta = None
    if _WORKER_SETUP.get("key") != setup.key:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        import ray
        import torch

        torch.set_num_threads(1)
        renderer, why = _WORKER_SETUP.get("renderer") or ensure_native_renderer()
        _WORKER_SETUP["renderer"] = (renderer, why)
        if setup.initializer is not None:
            setup.initializer(*(_resolve_worker(a) for a in setup.initargs))
        _WORKER_SETUP["key"] = setup.key
        package = str(Path(__file__).resolve().parents[1])
        meta = (ray.util.get_node_ip_address(), os.getpid(), renderer, why, code_digest(), package)
    return meta, fn(_map_items(task, _resolve_worker))


def _noop(task=None):
    """An empty task (per-task overhead measurements)."""
    return task


class RayPool:
    """Ray tasks, at most ``workers`` in flight (``None``/0: every CPU of the cluster)."""

    kind = "ray"
    in_process = False

    def __init__(
        self,
        workers: int | None = None,
        initializer: Callable | None = None,
        initargs: tuple = (),
        address: str | None = None,
        log: Callable[[str], None] = _stderr,
        runtime_env: dict | None = None,
    ) -> None:
        connect(address)
        import ray

        self._ray = ray
        self.log = log
        self._ships: dict[Shipped, _ShipRef] = {}
        self.nodes: dict[str, tuple[str, str | None]] = {}  # node ip -> (renderer, why not native)
        self.pids: set[int] = set()
        self._warned: set[tuple[str, str]] = set()
        args = tuple(self._ship(a) for a in initargs)
        key = hashlib.sha256(repr((getattr(initializer, "__qualname__", None), args)).encode()).hexdigest()[:16]
        self._setup = _Setup(key, initializer, args)
        options: dict[str, Any] = {"num_cpus": 1, "max_retries": MAX_RETRIES, "retry_exceptions": False}
        if runtime_env:
            options["runtime_env"] = runtime_env
        self._remote = ray.remote(_run_on_worker).options(**options)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, int(workers)) if workers else max(1, cpus)

    def _ship(self, value):
        if not isinstance(value, Shipped):
            return value
        if value not in self._ships:
            digest, blob = _pack(value)
            self._ships[value] = _ShipRef(digest, [self._ray.put(blob)])
        return self._ships[value]

    def map(self, fn: Callable, tasks: Iterable) -> list:
        ray = self._ray
        tasks = [_map_items(t, self._ship) for t in tasks]
        results: list = [None] * len(tasks)
        index: dict = {}
        pending: list = []
        nxt = 0
        try:
            while nxt < len(tasks) or pending:
                while nxt < len(tasks) and len(pending) < self.workers:
                    ref = self._remote.remote(self._setup, fn, tasks[nxt])
                    index[ref] = nxt
                    pending.append(ref)
                    nxt += 1
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    meta, value = ray.get(ref)
                    results[index.pop(ref)] = value
                    if meta is not None:
                        self._note(meta)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return results

    def _note(self, meta) -> None:
        node, pid, renderer, why, *rest = meta  # a worker with older code sends less
        digest = rest[0] if rest else None
        package = rest[1] if len(rest) > 1 else "an older install"
        self.pids.add(pid)
        if digest != code_digest() and (node, package) not in self._warned:
            self._warned.add((node, package))
            self.log(
                f"ray: warning: node {node} runs gdl_studio from {package}, whose code differs from this "
                f"driver's ({Path(__file__).resolve().parents[1]}); results may differ from --backend local: "
                "install the same commit on every node, and start the driver from its checkout"
            )
        if node not in self.nodes:
            self.nodes[node] = (renderer, why)
            if renderer != "native":
                self.log(
                    f"ray: warning: node {node} draws CarRacing with pygame, not the native rasteriser ({why}); "
                    "same frames, about 4x slower"
                )

    def close(self) -> None:
        for ship in self._ships.values():
            try:
                self._ray.internal.free(ship.ref)
            except Exception:  # pragma: no cover - freeing is best effort
                pass
        self._ships.clear()
        disconnect()


def make_pool(
    backend: str,
    workers: int | None,
    initializer: Callable | None = None,
    initargs: tuple = (),
    address: str | None = None,
    log: Callable[[str], None] = _stderr,
):
    """A :class:`LocalPool` or :class:`RayPool` (``workers``: processes, or Ray tasks in flight)."""
    if backend == "local":
        if address:
            raise UserError("--ray-address needs --backend ray")
        return LocalPool(workers or os.cpu_count() or 1, initializer, initargs)
    if backend == "ray":
        return RayPool(workers, initializer, initargs, address=address, log=log)
    raise UserError(f"unknown backend '{backend}' (choose from {', '.join(BACKENDS)})")


def check_backend(backend: str, address: str | None) -> None:
    """Fail early, before anything is written: Ray importable, the address answering, versions equal."""
    if backend == "ray":
        connect(address)
    elif backend != "local":
        raise UserError(f"unknown backend '{backend}' (choose from {', '.join(BACKENDS)})")
    elif address:
        raise UserError("--ray-address needs --backend ray")


def add_arguments(parser, workers_help: str | None = None) -> None:
    """``--backend`` and ``--ray-address`` on a command's parser."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="where rollouts run: local processes (default) or Ray tasks (needs the `cluster` extra)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        help="head node of a running Ray cluster (`ray start --head`); default: start a local Ray",
    )


def score_tasks(
    fn: Callable, tasks: list[tuple], backend: str, workers: int | None, address: str | None = None
) -> list:
    """``bench racing`` score episodes ``(models_dir, seed, max_steps)`` on a pool; for Ray the models
    directory (given, or the one holding the installed V, M and C) is shipped to the workers."""
    models_dir = tasks[0][0] if tasks else None
    if backend == "ray":
        if models_dir is None:
            models_dir = _installed_world_dir()
        if models_dir is not None:
            from gdl_studio.racing.models_io import CONTROLLER_NAME, MDN_NAME, VAE_NAME

            ship = Shipped(str(models_dir), (VAE_NAME, MDN_NAME, CONTROLLER_NAME))
            tasks = [(ship, *t[1:]) for t in tasks]
    pool = make_pool(backend, None if backend == "ray" and workers == 1 else workers, address=address)
    try:
        return pool.map(fn, tasks)
    finally:
        pool.close()


def _installed_world_dir() -> str | None:
    """The directory holding the installed V, M and C when all three share one (else None)."""
    from gdl_studio.core.registry import ModelUnavailable, default_registry
    from gdl_studio.racing.models_io import CONTROLLER_NAME, MDN_NAME, VAE_NAME

    try:
        parents = {Path(default_registry().card(n).directory).parent for n in (VAE_NAME, MDN_NAME, CONTROLLER_NAME)}
    except ModelUnavailable:
        return None
    return str(parents.pop()) if len(parents) == 1 else None
