"""Which modules does GDL Studio load at run time? Checks the spec's exclusion list against it.

    python packaging/probe_imports.py [--selftest] [--json]

In this (source-tree) interpreter it imports every ``gdl_studio`` module, runs one optimiser
step (fine-tuning), builds the main window offscreen with every panel, and — with
``--selftest`` — runs the whole ``gdl-studio selftest`` in-process (model loading, generation,
the real game). Then it lists the loaded modules that ``bundle_config.EXCLUDES`` would leave out
of the bundle: that list must be empty, or the bundle would fail where the source tree works.
Used by ``tests/packaging/test_packaging_files.py`` and handy when trimming the bundle.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GDL_STUDIO_THREADS", "1")

import bundle_config as cfg  # noqa: E402


def import_all() -> list[str]:
    """Import every gdl_studio module; returns the ones that failed (name: error)."""
    import gdl_studio

    failed = []
    for info in pkgutil.walk_packages(gdl_studio.__path__, "gdl_studio."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # report, keep going
            failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
    return failed


def main(argv: list[str]) -> int:
    as_json = "--json" in argv
    failed = import_all()
    from gdl_studio import selftest

    with selftest.isolated_user_state():
        selftest._train_step()
        if "--selftest" in argv:
            report = selftest.run_selftest(notes=4, points=8, frames=3, spawn=False, echo=None, isolate=False)
            if not report.ok:
                failed += [f"selftest {c.name}: {c.detail}" for c in report.checks if c.status == "FAIL"]
        else:
            info = selftest.open_window(timeout_s=60)
            if not info.get("ok"):
                failed.append(f"window: {info.get('error') or info.get('broken')}")
    loaded = sorted(sys.modules)
    bad = [m for m in loaded if cfg.excluded(m) and m not in cfg.OPTIONAL_AT_RUN_TIME]
    result = {"excluded_but_loaded": bad, "import_failures": failed, "loaded": len(loaded)}
    if as_json:
        print(json.dumps(result))
    else:
        print(f"{len(loaded)} modules loaded")
        for m in bad:
            print(f"EXCLUDED BUT LOADED: {m}")
        for f in failed:
            print(f"FAILED: {f}")
    return 1 if bad or failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
