#!/usr/bin/env bash
# The main job (README: `npm start`): installs what is missing, generates the bundled data if it is
# not there, executes every notebook in order with Jupyter, exports the figures and the report.
# ARTSTYLE_OUT sets the output folder (default runs/main); ARTSTYLE_PROFILE the profile (teaching).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/lib/cli/main.js all "$@"
