#!/usr/bin/env bash
# GDL Studio quick start. Two commands (see README):
#   bash scripts/quickstart.sh app    # install what the app needs, then launch it
#   bash scripts/quickstart.sh test   # install test dependencies, then run the whole test suite
# Both are idempotent: a second run skips what is already installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
mode="${1:-app}"
shift || true
VENV="${GDL_STUDIO_VENV:-$here/.venv}"
PY="${PYTHON:-python3}"
TORCH_SPEC="${GDL_STUDIO_TORCH_SPEC:-torch==2.13.0}"

say() { printf '\033[1;35m[gdl-studio]\033[0m %s\n' "$*"; }

# ---------------------------------------------------------------- system packages (Debian/Ubuntu)
APP_DEBS=(libportaudio2 libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
          libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libegl1 libgl1 libfontconfig1
          libdbus-1-3 libasound2
          libfluidsynth3 fluid-soundfont-gm)  # FluidSynth + the FluidR3 GM SoundFont (MIT) for the GM instrument
TEST_DEBS=(jackd2 xvfb desktop-file-utils)

install_debs() {
  command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian-based system: install the packages listed in the README yourself"; return 0; }
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo="sudo" || { say "please install: ${missing[*]}"; return 0; }
  fi
  say "installing system packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- python environment
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment $VENV"
    "$PY" -m venv "$VENV"
  fi
  "$VENV/bin/python" -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ needed"'
}

pip_install() {  # pip_install STAMP_NAME ARGS...
  local name="$1"; shift
  local stamp="$VENV/.gdl-stamp-$name"
  local want
  want="$( (cat pyproject.toml setup.py gdl_studio/racing/_fastraster.c scripts/quickstart.sh; echo "$*") | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  say "installing Python packages ($name)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@"
  echo "$want" > "$stamp"
}

install_python() {
  ensure_venv
  # torch first, as the CPU build, so nothing later pulls a CUDA build.
  "$VENV/bin/python" -c 'import torch' 2>/dev/null || pip_install torch "$TORCH_SPEC"
  pip_install app -e "."
}

case "$mode" in
  app)
    install_debs "${APP_DEBS[@]}"
    install_python
    exec "$VENV/bin/gdl-studio" "$@"
    ;;
  test)
    install_debs "${APP_DEBS[@]}" "${TEST_DEBS[@]}"
    install_python
    pip_install test -e ".[test,cluster,dev,link]"  # cluster: Ray, for the --backend ray tests; dev: ruff, mypy; link: aalink (GPLv3, never bundled) for the Ableton Link tests
    # A JACK server with the dummy driver for the audio/MIDI tests, stopped afterwards.
    jack_pid=""
    if ! JACK_NO_START_SERVER=1 jack_lsp >/dev/null 2>&1; then
      jackd --no-realtime -d dummy -r 48000 -p 256 >/tmp/gdl-studio-jackd.log 2>&1 &
      jack_pid=$!
      for _ in $(seq 50); do JACK_NO_START_SERVER=1 jack_lsp >/dev/null 2>&1 && break; sleep 0.2; done
    fi
    trap '[ -n "$jack_pid" ] && kill "$jack_pid" 2>/dev/null; true' EXIT
    export QT_QPA_PLATFORM=offscreen
    if [ $# -gt 0 ]; then
      "$VENV/bin/python" -m pytest -q "$@"
      exit $?
    fi
    # Lint, format and type checks first (config in pyproject.toml); a finding fails the run.
    say "ruff check, ruff format --check, mypy"
    lint=0
    "$VENV/bin/ruff" check --no-cache . || lint=1
    "$VENV/bin/ruff" format --check --no-cache . || lint=1
    "$VENV/bin/mypy" --cache-dir "$VENV/.mypy_cache" || lint=1
    # One pytest process per test folder: each area's Qt, JACK and torch state starts clean.
    say "running the test suite"
    groups=("tests/test_*.py")
    for d in tests/*/; do groups+=("${d%/}"); done
    passed=0; failed=0; status=0
    log="$(mktemp)"
    for g in "${groups[@]}"; do
      say "pytest $g"
      # shellcheck disable=SC2086  # the first group is a glob on purpose
      if ! "$VENV/bin/python" -m pytest -q $g 2>&1 | tee "$log"; then status=1; fi
      p=$(grep -Eo '[0-9]+ passed' "$log" | tail -1 | cut -d' ' -f1 || true); passed=$((passed + ${p:-0}))
      f=$(grep -Eo '[0-9]+ (failed|error)' "$log" | awk '{s+=$1} END {print s+0}' || true); failed=$((failed + f))
    done
    rm -f "$log"
    echo "summary: $passed passed, $failed failed"
    [ "$passed" -gt 0 ] || status=1
    [ "$lint" -eq 0 ] || { say "ruff or mypy reported problems (see above)"; status=1; }
    exit $status
    ;;
  *)
    echo "usage: bash scripts/quickstart.sh app|test [args…]" >&2
    exit 64
    ;;
esac
