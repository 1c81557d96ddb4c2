#!/bin/sh
# tests/model/torch_ref.sh -- runs torch_ref.py (the independent PyTorch
# reference for moec eval/grad) with Debian's python3 and its python3-torch;
# prints one skipped case when either is missing.
src="$(cd "${top_srcdir:-.}" && pwd)"; build="$(cd "${top_builddir:-.}" && pwd)"
py=/usr/bin/python3
if [ ! -x "$py" ] || ! "$py" -c "import torch" 2>/dev/null; then
    echo "ok 1 - torch reference # SKIP $py with torch not found (scripts/setup installs python3-torch)"
    echo "1..1"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-torch-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
"$py" "$src/tests/model/torch_ref.py" "$build/moec" "$src/models" "$tmp"
