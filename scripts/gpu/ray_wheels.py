"""Fill .whl/ with the cp312 wheels that scripts/gpu/ray_scaling.sh installs on a lent machine (no
internet there; carried paths may total 64 MiB at most).

Ray's manylinux wheel is 76 MiB, so it is repacked without what a Python-only Ray never loads:
ray/jars (the Java worker, 31 MiB) and the ray.rllib / tune / train / serve / data / llm libraries.
Run here (PyPI reachable):  python scripts/gpu/ray_wheels.py [--python 3.12] [--out .whl]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

RAY = "ray==2.60.0"
SIMULATOR = ["gymnasium==1.4.0", "box2d==2.3.10", "pygame==2.6.1", "cma==4.5.0", "cloudpickle", "farama-notifications"]
DROP = ("ray/jars/", "ray/rllib/", "ray/tune/", "ray/train/", "ray/serve/", "ray/data/", "ray/llm/")
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"]


def download(specs: list[str], out: Path, python: str, deps: bool) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-q",
        "--only-binary=:all:",
        "--python-version",
        python,
        "-d",
        str(out),
    ]
    for p in PLATFORMS:
        cmd += ["--platform", p]
    if not deps:
        cmd.append("--no-deps")
    subprocess.run(cmd + specs, check=True)


def trim(wheel: Path) -> Path:
    """Rewrite the wheel without the DROP folders (RECORD updated), deflate level 9."""
    tmp = wheel.with_suffix(".trim")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if info.filename.startswith(DROP):
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = [ln for ln in data.decode().splitlines() if not ln.startswith(DROP)]
                data = ("\n".join(lines) + "\n").encode()
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    tmp.replace(wheel)
    return wheel


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default="3.12")
    ap.add_argument("--out", type=Path, default=Path(".whl"))
    ap.add_argument("--no-simulator", action="store_true", help="only Ray and its dependencies")
    args = ap.parse_args()
    args.out.mkdir(exist_ok=True)
    download([RAY], args.out, args.python, deps=True)
    if not args.no_simulator:
        download(SIMULATOR, args.out, args.python, deps=False)
    for wheel in args.out.glob("ray-*.whl"):
        before = wheel.stat().st_size
        trim(wheel)
        print(f"{wheel.name}: {before / 2**20:.1f} → {wheel.stat().st_size / 2**20:.1f} MiB")
    total = sum(p.stat().st_size for p in args.out.glob("*.whl"))
    print(f"{args.out}: {len(list(args.out.glob('*.whl')))} wheels, {total / 2**20:.1f} MiB (carry limit 64 MiB)")
    return 0 if total <= 64 * 2**20 else 1


if __name__ == "__main__":
    raise SystemExit(main())
