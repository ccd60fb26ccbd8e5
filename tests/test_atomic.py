"""Atomic writes: whole files or none, with the permissions a user expects of a file they saved."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from gdl_studio.core.atomic import atomic_path, write_bytes_atomic, write_text_atomic

posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@posix
def test_a_new_file_gets_the_umask_mode_not_owner_only(tmp_path, umask_022):
    out = tmp_path / "piece.mid"
    write_bytes_atomic(out, b"MThd")
    assert out.read_bytes() == b"MThd"
    assert _mode(out) == 0o644  # readable by a DAW or a web server running as another user


@posix
def test_a_replaced_file_keeps_its_mode(tmp_path, umask_022):
    out = tmp_path / "card.json"
    out.write_text("{}")
    out.chmod(0o600)
    write_text_atomic(out, '{"a": 1}')
    assert out.read_text() == '{"a": 1}' and _mode(out) == 0o600


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path):
    out = tmp_path / "drawing.svg"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["drawing.svg"]
