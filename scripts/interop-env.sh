#!/usr/bin/env bash
# Python environment for the FastStream interop tests (test/interop): creates the venv .brokers/py
# when missing and installs test/interop/requirements.txt into it. Idempotent: a venv whose installed
# requirements already match is left alone (the stamp is a hash of requirements.txt: any change to the
# file reinstalls).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.brokers/py
REQ=test/interop/requirements.txt
PYTHON=${PYTHON:-python3}
STAMP=$VENV/.requirements.sha256

if [[ ! -x $VENV/bin/python ]]; then
  echo "[interop-env] creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]] && "$VENV/bin/python" -c 'import faststream, opentelemetry.sdk' 2>/dev/null; then
  echo "[interop-env] $VENV is up to date"
  exit 0
fi

echo "[interop-env] installing $REQ into $VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
echo "$want" >"$STAMP"
"$VENV/bin/python" -c 'from importlib.metadata import version; print("[interop-env] faststream", version("faststream"))'
