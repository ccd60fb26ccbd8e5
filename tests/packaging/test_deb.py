"""The Debian package recipe (packaging/deb.py), on a tiny stand-in bundle: seconds, no build.

``packaging/build --deb`` wraps the real bundle (~650 MiB, minutes); ``packaging/deb-roundtrip``
installs it. Here the same code packs a two-file bundle, and the tests read the .deb back with
dpkg-deb: the file layout, the launcher, the desktop entry's MIME types, the icons, the control
fields, the modes.
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gdl_studio import __version__

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

import bundle_config as cfg  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb (Debian/Ubuntu) is not installed")

DESKTOP = PACKAGING / "linux" / "gdl-studio.desktop"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import deb

    tmp = tmp_path_factory.mktemp("deb")
    dist = tmp / "dist" / "gdl-studio"
    (dist / "_internal" / "data").mkdir(parents=True)
    shutil.copy2(shutil.which("true"), dist / "gdl-studio")  # an ELF program linked to libc
    (dist / "_internal" / "data" / "card.json").write_text("{}")
    os.chmod(dist / "_internal" / "data" / "card.json", 0o775)  # normalised to 0644 in the package
    icons = tmp / "icons"
    icons.mkdir()
    for size in cfg.ICON_SIZES:
        (icons / f"{cfg.DESKTOP_ID}-{size}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    depends = None if shutil.which("dpkg-shlibdeps") else ["libc6"]
    target = deb.build(dist, tmp / "out", icons, depends=depends, compression="gzip")
    listing = subprocess.run(["dpkg-deb", "--contents", str(target)], capture_output=True, text=True, check=True).stdout
    entries = {}
    for line in listing.splitlines():
        mode, _owner, _size, _date, _time, name = line.split(None, 5)
        name, _, link = name.partition(" -> ")
        entries[name.removeprefix(".")] = (mode, link)
    fields = {}
    for name in (
        "Package",
        "Version",
        "Architecture",
        "Depends",
        "Installed-Size",
        "Section",
        "Maintainer",
        "Description",
    ):
        fields[name] = subprocess.run(
            ["dpkg-deb", "--field", str(target), name], capture_output=True, text=True, check=True
        ).stdout.strip()
    control_files = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(target)], capture_output=True, check=True).stdout
    return {
        "deb": target,
        "entries": entries,
        "fields": fields,
        "root": tmp / "out" / "deb-build" / "debian" / "gdl-studio",
        "control_tar": control_files,
    }


def test_file_name_and_control_fields(built):
    f = built["fields"]
    assert built["deb"].name == f"gdl-studio_{__version__}_{f['Architecture']}.deb"
    assert f["Package"] == "gdl-studio" and f["Version"] == __version__
    assert int(f["Installed-Size"]) > 0 and f["Section"] == "sound" and "<" in f["Maintainer"]
    depends = [d.strip() for d in f["Depends"].split(",")]
    assert any(d.startswith("libc6") for d in depends), depends
    assert "fontconfig-config" in depends
    summary, _, long_text = f["Description"].partition("\n")
    assert summary and len(summary) <= 80 and long_text.startswith(" ")


def test_layout(built):
    e = built["entries"]
    assert e["/opt/gdl-studio/gdl-studio"][0] == "-rwxr-xr-x"
    assert e["/opt/gdl-studio/_internal/data/card.json"][0] == "-rw-r--r--"
    assert e["/usr/bin/gdl-studio"] == ("lrwxrwxrwx", "/opt/gdl-studio/gdl-studio")
    assert "/usr/share/applications/gdl-studio.desktop" in e
    assert f"/usr/share/metainfo/{cfg.APP_ID}.metainfo.xml" in e
    for size in cfg.ICON_SIZES:
        assert f"/usr/share/icons/hicolor/{size}x{size}/apps/gdl-studio.png" in e
    assert "/usr/share/icons/hicolor/scalable/apps/gdl-studio.svg" in e
    for doc in ("copyright", "changelog.gz"):
        assert f"/usr/share/doc/gdl-studio/{doc}" in e
    assert "/usr/share/man/man1/gdl-studio.1.gz" in e
    assert "/usr/share/lintian/overrides/gdl-studio" in e
    tops = {name.split("/")[1] for name in e if name.count("/") >= 1 and name != "/"}
    assert tops <= {"opt", "usr", ""}, tops
    for name, (mode, _link) in e.items():
        assert mode.startswith("l") or "w" not in mode[4:], f"{name} is group- or world-writable: {mode}"


def test_control_archive_has_md5sums_and_no_maintainer_scripts(built):
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(built["control_tar"])) as tar:
        names = {Path(n).name for n in tar.getnames()}
        md5 = tar.extractfile("./md5sums").read().decode()
    assert {"control", "md5sums"} <= names
    # dpkg triggers of desktop-file-utils, shared-mime-info and the icon cache do the refreshing
    assert not names & {"postinst", "postrm", "preinst", "prerm"}
    assert "opt/gdl-studio/gdl-studio" in md5 and "usr/share/applications/gdl-studio.desktop" in md5


def test_changelog_and_manual_page(built):
    doc = built["root"] / "usr/share/doc/gdl-studio"
    raw = (doc / "changelog.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0", "gzip without a timestamp (reproducible)"
    text = gzip.decompress(raw).decode()
    assert text.startswith(f"gdl-studio ({__version__}) unstable; urgency=medium")
    assert " -- GDL Studio developers <" in text
    man = gzip.decompress((built["root"] / "usr/share/man/man1/gdl-studio.1.gz").read_bytes()).decode()
    assert man.startswith(".TH GDL-STUDIO 1") and "FILE" in man
    assert "MIT" in (doc / "copyright").read_text()


def test_modes_of_the_staged_tree(built):
    root = built["root"]
    for path in root.rglob("*"):
        if path.is_symlink() or "DEBIAN" in path.parts:
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode in (0o755, 0o644), (path, oct(mode))


def test_desktop_entry_opens_midi_and_svg_files():
    entry = dict(line.split("=", 1) for line in DESKTOP.read_text(encoding="utf-8").splitlines() if "=" in line)
    assert entry["Exec"] == "gdl-studio %F"
    assert entry["MimeType"] == "audio/midi;audio/x-midi;image/svg+xml;"
    # the app opens exactly these: Compose *.mid/*.midi, Sketch *.svg
    compose = (ROOT / "gdl_studio/ui/compose/panel.py").read_text(encoding="utf-8")
    sketch = (ROOT / "gdl_studio/ui/sketch/files.py").read_text(encoding="utf-8")
    assert '"MIDI files (*.mid *.midi)"' in compose and '"SVG drawings (*.svg)"' in sketch


def test_metainfo_lists_the_media_types():
    import xml.etree.ElementTree as ET

    root = ET.parse(PACKAGING / "linux" / f"{cfg.APP_ID}.metainfo.xml").getroot()
    types = [m.text for m in root.find("provides").findall("mediatype")]
    assert types == ["audio/midi", "audio/x-midi", "image/svg+xml"]


def test_lintian_overrides_each_have_a_reason():
    """Every block of overrides (lines up to a blank line) starts with a comment saying why."""
    blocks = (PACKAGING / "linux" / "lintian-overrides").read_text(encoding="utf-8").split("\n\n")
    overrides = 0
    for block in blocks:
        lines = [ln for ln in block.splitlines() if ln.strip()]
        rules = [ln for ln in lines if not ln.startswith("#")]
        if rules:
            assert lines[0].startswith("#"), f"overrides without a comment saying why: {rules}"
            assert all(r.startswith("gdl-studio: ") for r in rules), rules
            overrides += len(rules)
    assert overrides > 0
