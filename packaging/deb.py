"""Wrap the PyInstaller bundle as a Debian package, offline, with dpkg-deb.

    python packaging/deb.py DIST_DIR OUT_DIR [--icons DIR] [--depends "a, b (>= 1)"] [-Z gzip|xz|zstd|none]

DIST_DIR is the one-folder bundle (…/dist/gdl-studio); OUT_DIR gets ``deb-build/debian/gdl-studio/``
(the package's file tree, laid out as a Debian source tree's package build folder, which is what
dpkg-shlibdeps expects) and ``gdl-studio_<version>_<arch>.deb``. ``packaging/build --deb`` calls this after a
build. What the package installs:

* ``/opt/gdl-studio/``: the bundle as built (an add-on application with its own libraries: FHS
  §3.13 ``/opt``), and ``/usr/bin/gdl-studio``, a link to its executable, on the PATH;
* ``/usr/share/applications/gdl-studio.desktop`` (``Exec=gdl-studio %F``, ``MimeType=`` MIDI
  and SVG, so file managers offer "Open with GDL Studio"), the icon in ``/usr/share/icons/hicolor``
  at every size of ``bundle_config.ICON_SIZES`` plus the SVG, the AppStream metainfo in
  ``/usr/share/metainfo``;
* ``/usr/share/doc/gdl-studio/`` (copyright, changelog), the manual page, the lintian overrides
  (each with its reason, ``packaging/linux/lintian-overrides``).

``Depends`` is computed from the bundle as Debian's own tools do: ``dpkg-shlibdeps`` over every
ELF file, with the bundle's folders as the package's private libraries, so it lists exactly the
system libraries the bundle still loads from the host (glibc, OpenGL/EGL, libxcb, libwayland-*,
ALSA, …), with minimal versions; plus ``fontconfig-config`` (the bundled fontconfig reads the
host's /etc/fonts, and that package pulls in a font). No maintainer scripts: the desktop, MIME
and icon caches are refreshed by the dpkg triggers of desktop-file-utils, shared-mime-info and
gtk-update-icon-cache, which watch the folders this package installs into.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LINUX = HERE / "linux"
sys.path.insert(0, str(HERE))

import bundle_config as cfg  # noqa: E402
import elf  # noqa: E402

PACKAGE = cfg.EXE_NAME  # "gdl-studio"
INSTALL_DIR = f"opt/{PACKAGE}"
# The project's address has no public mail host yet (lintian: bogus-mail-host, overridden with
# that reason); set GDL_DEB_MAINTAINER="Name <address>" to publish the package.
MAINTAINER = os.environ.get("GDL_DEB_MAINTAINER", "GDL Studio developers <dev@gdl-studio.local>")
SECTION = "sound"
EXTRA_DEPENDS = ("fontconfig-config",)
SVG_ICON = ROOT / "resources" / "icons" / f"{cfg.DESKTOP_ID}.svg"


def version() -> str:
    text = (ROOT / "gdl_studio" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'__version__\s*=\s*"([^"]+)"', text).group(1)


def architecture() -> str:
    try:
        return subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def metainfo_path() -> Path:
    return LINUX / f"{cfg.APP_ID}.metainfo.xml"


def _gzip(data: bytes, dest: Path) -> None:
    """Reproducible gzip (no name, no timestamp: lintian's package-contains-timestamped-gzip)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
        f.write(data)


def changelog() -> str:
    """A Debian changelog from the metainfo's <releases> (one entry per release, newest first)."""
    root = ET.parse(metainfo_path()).getroot()
    entries = []
    for release in root.find("releases").findall("release"):
        date = datetime.strptime(release.get("date"), "%Y-%m-%d").replace(tzinfo=timezone.utc)
        lines = [" ".join(p.itertext()).split() for p in release.iter("p")] or [["Release", release.get("version")]]
        body = "\n".join("  * " + _wrap(" ".join(words), 76, "    ") for words in lines)
        entries.append(
            f"{PACKAGE} ({release.get('version')}) unstable; urgency=medium\n\n{body}\n\n"
            f" -- {MAINTAINER}  {format_datetime(date)}\n"
        )
    return "\n".join(entries)


def _wrap(text: str, width: int, indent: str) -> str:
    import textwrap

    return textwrap.fill(text, width=width, subsequent_indent=indent)


def description() -> str:
    """The control file's Description: the metainfo's summary, then its description as the long text."""
    root = ET.parse(metainfo_path()).getroot()
    summary = root.findtext("summary").strip()
    paragraphs = []
    for element in root.find("description"):
        if element.tag == "p":
            paragraphs.append(_wrap(" ".join(" ".join(element.itertext()).split()), 78, " "))
        elif element.tag == "ul":
            # two spaces: shown verbatim, as a list (lintian: possible-unindented-list-in-extended-description)
            items = [
                "  * " + _wrap(" ".join(" ".join(li.itertext()).split()), 74, "    ") for li in element.findall("li")
            ]
            paragraphs.append("\n".join(items))
    long_text = "\n .\n".join(" " + p.strip() if not p.startswith(" ") else p for p in paragraphs)
    return f"{summary}\n{long_text}"


def _normalize_modes(tree: Path) -> None:
    """Directories 0755; files 0644, except executables (ELF programs, scripts) 0755."""
    for dirpath, _dirnames, filenames in os.walk(tree):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            os.chmod(path, 0o755 if _is_program(path) else 0o644)


def _is_program(path: Path) -> bool:
    """An ELF executable (e_type EXEC, or DYN with an interpreter) or a script with a #! line."""
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:2] == b"#!":
        return bool(path.stat().st_mode & stat.S_IXUSR)
    if head[:4] != elf.ELF_MAGIC:
        return False
    e_type = int.from_bytes(head[16:18], "little" if head[5] == 1 else "big")
    if e_type == 2:  # ET_EXEC
        return True
    return e_type == 3 and _has_interp(path)  # ET_DYN: a PIE program has PT_INTERP, a library does not


def _has_interp(path: Path) -> bool:
    import struct

    data = path.read_bytes()[:65536]
    end = "<" if data[5] == 1 else ">"
    if data[4] == 2:
        (phoff,) = struct.unpack_from(end + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    else:
        (phoff,) = struct.unpack_from(end + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x2A)
    for i in range(phnum):
        if phoff + (i + 1) * phentsize > len(data):
            break
        if struct.unpack_from(end + "I", data, phoff + i * phentsize)[0] == 3:  # PT_INTERP
            return True
    return False


def stage(dist: Path, icons: Path, root: Path) -> Path:
    """Lay out the package's file tree (without DEBIAN/) under ``root``; returns ``root``."""
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    opt = root / INSTALL_DIR
    shutil.copytree(dist, opt, symlinks=True)
    _normalize_modes(opt)
    exe = opt / cfg.EXE_NAME
    if not exe.is_file():
        raise SystemExit(f"deb: no bundle at {dist} (no {cfg.EXE_NAME} executable)")
    (root / "usr/bin").mkdir(parents=True)
    # absolute: /usr and /opt are different top-level folders (Debian policy 10.5)
    (root / "usr/bin" / cfg.EXE_NAME).symlink_to(f"/{INSTALL_DIR}/{cfg.EXE_NAME}")
    share = root / "usr/share"
    for sub, src in (("applications", LINUX / f"{cfg.DESKTOP_ID}.desktop"), ("metainfo", metainfo_path())):
        (share / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, share / sub / src.name)
    for size in cfg.ICON_SIZES:
        png = icons / f"{cfg.DESKTOP_ID}-{size}.png"
        if not png.is_file():
            raise SystemExit(f"deb: icon {png} missing (python packaging/icons.py {icons})")
        dest = share / f"icons/hicolor/{size}x{size}/apps/{cfg.DESKTOP_ID}.png"
        dest.parent.mkdir(parents=True)
        shutil.copy2(png, dest)
    (share / "icons/hicolor/scalable/apps").mkdir(parents=True)
    shutil.copy2(SVG_ICON, share / f"icons/hicolor/scalable/apps/{cfg.DESKTOP_ID}.svg")
    doc = share / "doc" / PACKAGE
    doc.mkdir(parents=True)
    shutil.copy2(LINUX / "copyright", doc / "copyright")
    _gzip(changelog().encode(), doc / "changelog.gz")  # a native package: changelog.gz
    _gzip((LINUX / f"{cfg.EXE_NAME}.1").read_bytes(), share / f"man/man1/{cfg.EXE_NAME}.1.gz")
    overrides = share / "lintian/overrides" / PACKAGE
    overrides.parent.mkdir(parents=True)
    shutil.copy2(LINUX / "lintian-overrides", overrides)
    for path in (p for p in share.rglob("*") if p.is_file()):
        os.chmod(path, 0o644)
    for path in (p for p in share.rglob("*") if p.is_dir()):
        os.chmod(path, 0o755)
    for path in (root, root / "usr", root / "usr/bin", root / "opt"):
        os.chmod(path, 0o755)
    return root


def shlibdeps(root: Path) -> list[str]:
    """Depends for the ELF files under ``root/opt/gdl-studio``, by dpkg-shlibdeps (dpkg-dev).

    ``root`` must be ``<tree>/debian/gdl-studio``: dpkg-shlibdeps then looks for each needed
    library in the package itself first (in the folders given with -l, as installed), so only
    what the bundle does not carry becomes a dependency.
    """
    if shutil.which("dpkg-shlibdeps") is None:
        raise SystemExit("deb: dpkg-shlibdeps not found (apt-get install dpkg-dev), or pass --depends")
    if root.parent.name != "debian":
        raise ValueError(f"{root} is not a package build folder (…/debian/{PACKAGE})")
    tree = root.parent.parent
    opt = root / INSTALL_DIR
    files, lib_dirs = [], set()
    for path in sorted(opt.rglob("*")):
        if path.is_file() and not path.is_symlink() and elf.is_elf(path):
            files.append(path.relative_to(tree))
            if ".so" in path.name:
                lib_dirs.add("/" + path.parent.relative_to(root).as_posix())
    (tree / "debian/control").write_text(f"Source: {PACKAGE}\n\nPackage: {PACKAGE}\nArchitecture: any\n")
    cmd = ["dpkg-shlibdeps", "-O", "--ignore-missing-info", "--warnings=0"]
    cmd += [f"-l{d}" for d in sorted(lib_dirs)]
    cmd += [f"-e{f}" for f in files]
    result = subprocess.run(cmd, cwd=tree, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"deb: dpkg-shlibdeps failed:\n{result.stderr[-4000:]}")
    match = re.search(r"^shlibs:Depends=(.*)$", result.stdout, re.M)
    return [d.strip() for d in match.group(1).split(",")] if match else []


def control(depends: list[str], installed_kib: int, arch: str) -> str:
    fields = {
        "Package": PACKAGE,
        "Version": version(),
        "Architecture": arch,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(installed_kib),
        "Depends": ", ".join(depends),
        "Section": SECTION,
        "Priority": "optional",
        "Description": description(),
    }
    return "".join(f"{k}: {v}\n" for k, v in fields.items() if v)


def _installed_size_kib(root: Path) -> int:
    """As dpkg-gencontrol counts: each file's size rounded up to KiB, 1 per other entry."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d != "DEBIAN"]
        total += len(dirnames)
        for name in filenames:
            path = Path(dirpath) / name
            total += 1 if path.is_symlink() else -(-path.stat().st_size // 1024)
    return total


def md5sums(root: Path) -> str:
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("DEBIAN/"):
            continue
        digest = hashlib.md5()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        lines.append(f"{digest.hexdigest()}  {rel}\n")
    return "".join(lines)


def build(dist: Path, out: Path, icons: Path, depends: list[str] | None = None, compression: str = "gzip") -> Path:
    """Stage, write DEBIAN/, run dpkg-deb; returns the .deb's path."""
    out.mkdir(parents=True, exist_ok=True)
    root = stage(dist, icons, out / "deb-build" / "debian" / PACKAGE)
    arch = architecture()
    if depends is None:
        depends = shlibdeps(root) + list(EXTRA_DEPENDS)
    debian = root / "DEBIAN"
    debian.mkdir(mode=0o755)
    (debian / "control").write_text(control(depends, _installed_size_kib(root), arch), encoding="utf-8")
    (debian / "md5sums").write_text(md5sums(root), encoding="utf-8")
    for path in debian.iterdir():
        os.chmod(path, 0o644)
    target = out / f"{PACKAGE}_{version()}_{arch}.deb"
    cmd = ["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(root), str(target)]
    if compression in ("xz", "zstd"):
        cmd[1:1] = [f"--threads-max={os.cpu_count() or 1}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dist", type=Path, help="the bundle folder (…/dist/gdl-studio)")
    parser.add_argument("out", type=Path, help="where deb-build/ (the staged tree) and the .deb go")
    parser.add_argument("--icons", type=Path, help="rendered icon PNGs (default OUT/icons; rendered when missing)")
    parser.add_argument("--depends", help="Depends field as given, instead of dpkg-shlibdeps's")
    parser.add_argument(
        "-Z",
        "--compression",
        default=os.environ.get("GDL_DEB_COMPRESSION", "gzip"),
        choices=("gzip", "xz", "zstd", "none"),
        help="gzip (default; or $GDL_DEB_COMPRESSION). xz makes the .deb about a third smaller "
        "but costs ~10x the CPU (about 12 CPU-minutes for this bundle: measured 1 min 53 s for "
        "100 MB of libtorch against 6 s for gzip); zstd is as fast as gzip and smaller, but "
        "needs dpkg >= 1.21.18 and lintian rejects it (malformed-deb-archive)",
    )
    args = parser.parse_args(argv)
    icons = args.icons or args.out / "icons"
    if not (icons / f"{cfg.DESKTOP_ID}-{cfg.ICON_SIZES[-1]}.png").is_file():
        import icons as icon_renderer

        icon_renderer.render(icons)
    depends = [d.strip() for d in args.depends.split(",") if d.strip()] if args.depends is not None else None
    target = build(args.dist, args.out, icons, depends, args.compression)
    print(target)
    print(
        subprocess.run(["dpkg-deb", "--field", str(target), "Depends"], capture_output=True, text=True).stdout.strip()
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
