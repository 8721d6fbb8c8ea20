#!/usr/bin/env bash
# Regenerate deploy/image/requirements.lock: every Python package the station's image installs, pinned to
# one version with the sha256 of every file PyPI has for it (all platforms, so one lock serves amd64 and
# arm64). Run it after changing the dependencies in pyproject.toml, review the diff, commit it.
# pyscard is left out on purpose: the image takes Debian's python3-pyscard (built against Debian's pcsclite).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=${LOCK_TOOLS_VENV:-/tmp/kiosk-lock-tools}
[ -x "$tools/bin/pip-compile" ] || { python3 -m venv "$tools" && "$tools/bin/pip" install -q pip-tools; }
input=$(mktemp --suffix=.in)
trap 'rm -f "$input"' EXIT
python3 - "$repo/pyproject.toml" >"$input" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
for requirement in project["dependencies"] + project["optional-dependencies"]["ui"]:
    if not requirement.lower().startswith("pyscard"):
        print(requirement)
PY
"$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-header \
  --resolver=backtracking --output-file "$here/requirements.lock" "$input"
echo "wrote $here/requirements.lock"
