# Sourced by scripts/run and scripts/test: find Python 3.11 or newer and make .venv with it.
VENV=${MINHU_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PYTHON=$candidate
      break
    fi
  done
  if [ -z "${PYTHON:-}" ]; then
    echo "MinHu needs Python 3.11 or newer; none found (set PYTHON=/path/to/python3.11)." >&2
    exit 1
  fi
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
