#!/usr/bin/env bash
# Turn the PyInstaller one-folder bundle into an AppImage (Linux).
#
#   bash packaging/appimage.sh DIST_DIR OUT_DIR
#
# DIST_DIR is the bundle (…/dist/gdl-studio, holding the gdl-studio executable); OUT_DIR gets
# AppDir/ and GDL_Studio-<version>-<arch>.AppImage. packaging/build calls this after a build.
#
# The AppDir is always assembled and checked (AppRun --version, desktop-file-validate,
# appstreamcli). Packing it needs appimagetool, found as $APPIMAGETOOL or on PATH, and — for the
# current appimagetool, which otherwise downloads it — the AppImage runtime file given as
# $APPIMAGE_RUNTIME (runtime-<arch> from https://github.com/AppImage/type2-runtime/releases).
# Nothing is downloaded here. When a tool is missing the script says what and exits with 3.
# (appimagetool is itself an AppImage: without FUSE, e.g. in a container, set
# APPIMAGE_EXTRACT_AND_RUN=1.)
#
# Exit codes: 0 AppImage written, 3 AppDir ready but tools missing, other: an error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
dist="${1:?usage: bash packaging/appimage.sh DIST_DIR OUT_DIR}"
out="${2:?usage: bash packaging/appimage.sh DIST_DIR OUT_DIR}"
dist="$(cd "$dist" && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

exe_name="gdl-studio"
desktop="$here/linux/gdl-studio.desktop"
metainfo="$(ls "$here"/linux/*.metainfo.xml | head -1)"
icons="${GDL_BUILD_ICONS:-$out/icons}"
arch="${ARCH:-$(uname -m)}"
version="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$root/gdl_studio/__init__.py")"
say() { printf '\033[1;36m[appimage]\033[0m %s\n' "$*"; }

[ -x "$dist/$exe_name" ] || { echo "appimage: no bundle at $dist (run packaging/build first)" >&2; exit 1; }
if [ ! -f "$icons/$exe_name-256.png" ]; then
  python_bin="${PYTHON:-$root/.venv/bin/python}"
  "$python_bin" "$here/icons.py" "$icons" >/dev/null
fi

# ------------------------------------------------------------------ AppDir
appdir="$out/AppDir"
rm -rf "$appdir"
mkdir -p "$appdir/usr/lib" "$appdir/usr/bin" "$appdir/usr/share/applications" "$appdir/usr/share/metainfo"
# Hard links when on the same file system (fast, no extra space), else a copy.
cp -al "$dist" "$appdir/usr/lib/$exe_name" 2>/dev/null || cp -a "$dist" "$appdir/usr/lib/$exe_name"
ln -s "../lib/$exe_name/$exe_name" "$appdir/usr/bin/$exe_name"
cp "$desktop" "$appdir/usr/share/applications/"
cp "$desktop" "$appdir/"
cp "$metainfo" "$appdir/usr/share/metainfo/"
for png in "$icons"/"$exe_name"-*.png; do
  size="$(basename "$png" .png)"; size="${size##*-}"
  mkdir -p "$appdir/usr/share/icons/hicolor/${size}x${size}/apps"
  cp "$png" "$appdir/usr/share/icons/hicolor/${size}x${size}/apps/$exe_name.png"
done
cp "$icons/$exe_name-256.png" "$appdir/$exe_name.png"
ln -s "$exe_name.png" "$appdir/.DirIcon"
cat > "$appdir/AppRun" <<'EOF'
#!/bin/sh
# AppImage entry point: run the bundled executable with the arguments given.
HERE="$(dirname "$(readlink -f "$0")")"
exec "$HERE/usr/lib/gdl-studio/gdl-studio" "$@"
EOF
chmod +x "$appdir/AppRun"
say "AppDir assembled: $appdir"

# ------------------------------------------------------------------ checks of the AppDir
got="$("$appdir/AppRun" --version)"
[ "$got" = "gdl-studio $version" ] || { echo "appimage: AppRun --version said '$got', not 'gdl-studio $version'" >&2; exit 1; }
say "AppRun --version: $got"
if command -v desktop-file-validate >/dev/null 2>&1; then
  desktop-file-validate "$appdir/$exe_name.desktop" && say "desktop-file-validate: ok"
else
  say "desktop-file-validate not installed (desktop-file-utils): desktop entry not validated"
fi
if command -v appstreamcli >/dev/null 2>&1; then
  appstreamcli validate --no-net "$appdir/usr/share/metainfo/$(basename "$metainfo")" >/dev/null && say "appstreamcli validate: ok"
else
  say "appstreamcli not installed: metainfo not validated"
fi

# ------------------------------------------------------------------ pack
tool="${APPIMAGETOOL:-$(command -v appimagetool || command -v appimagetool-"$arch".AppImage || true)}"
missing=()
[ -n "$tool" ] && [ -x "$tool" ] || missing+=("appimagetool (set APPIMAGETOOL=/path/to/appimagetool-$arch.AppImage or put appimagetool on PATH; https://github.com/AppImage/appimagetool/releases)")
runtime_args=()
if [ ${#missing[@]} -eq 0 ] && "$tool" --help 2>&1 | grep -q -- "--runtime-file"; then
  if [ -n "${APPIMAGE_RUNTIME:-}" ] && [ -f "$APPIMAGE_RUNTIME" ]; then
    runtime_args=(--runtime-file "$APPIMAGE_RUNTIME")
  else
    missing+=("the AppImage runtime file (set APPIMAGE_RUNTIME=/path/to/runtime-$arch from https://github.com/AppImage/type2-runtime/releases; appimagetool would download it, and this build downloads nothing)")
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "AppImage NOT built: missing"
  for m in "${missing[@]}"; do say "  - $m"; done
  say "the AppDir is ready; with the tools in place: bash packaging/appimage.sh $dist $out"
  exit 3
fi

target="$out/GDL_Studio-$version-$arch.AppImage"
say "packing $target with $tool"
ARCH="$arch" "$tool" --no-appstream "${runtime_args[@]}" "$appdir" "$target"
chmod +x "$target"
say "AppImage written: $target ($(du -h "$target" | cut -f1))"
