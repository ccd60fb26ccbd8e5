"""Shared test fixtures: offscreen Qt, isolated settings and user dir, a JACK server."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GDL_STUDIO_THREADS", "1")


@pytest.fixture(autouse=True)
def _isolated_user_state(tmp_path_factory, monkeypatch):
    """Each test gets its own user directory and QSettings file, never the developer's."""
    base = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("GDL_STUDIO_USER_DIR", str(base / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    try:
        from PySide6.QtCore import QSettings

        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(base / "config"))
        # Qt keeps using the first test's file despite setPath: start every test from empty settings
        stale = QSettings("GDL Studio", "GDL Studio")
        stale.clear()
        stale.sync()
    except ImportError:
        pass
    yield


@pytest.fixture
def engine():
    """A started inference engine (shut down after the test)."""
    from gdl_studio.engine.worker import Engine

    eng = Engine()
    eng.start()
    yield eng
    eng.shutdown()


def _jack_running() -> bool:
    if shutil.which("jack_lsp") is None:
        return False
    try:
        result = subprocess.run(
            ["jack_lsp"], capture_output=True, timeout=5, env={**os.environ, "JACK_NO_START_SERVER": "1"}
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _skip_or_fail(reason: str) -> None:
    """Skip locally, but fail under CI, where the test command provides everything."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def jack_server():
    """A running JACK server (dummy driver). Uses the one the test command started, or starts one.

    Skips the test when jackd is not installed (the README's test command installs it).
    """
    if _jack_running():
        yield
        return
    jackd = shutil.which("jackd")
    if jackd is None:
        _skip_or_fail("jackd is not installed (the README test command installs jackd2)")
    proc = subprocess.Popen(
        [jackd, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while time.time() < deadline and not _jack_running():
        time.sleep(0.2)
    if not _jack_running():
        proc.terminate()
        _skip_or_fail("could not start a JACK server")
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
