#!/usr/bin/env bash
# Installs everything the tests need into .venv, then runs the whole suite.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: Seesaw needs Python 3.11 or newer (python3 is $(python3 -V))." >&2
  exit 2
}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt -e .
exec .venv/bin/python -m pytest "$@"
