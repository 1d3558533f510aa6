#!/usr/bin/env bash
# Runs the training side's pytest suite with Debian's torch (/usr/bin/python3; see training/README.md).
# In CI a missing interpreter or package fails the run; elsewhere it skips with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
if ! "$py" -c 'import torch, onnx, pytest' 2>/dev/null; then
  msg="training tests need $py with torch, onnx and pytest (apt-get install python3-torch python3-onnx python3-pytest)"
  if [ -n "${CI:-}" ]; then echo "error: $msg" >&2; exit 1; fi
  echo "skipped: $msg" >&2; exit 0
fi
PYTHONPATH=training PYTHONDONTWRITEBYTECODE=1 exec "$py" -m pytest -q -p no:cacheprovider test/training "$@"
