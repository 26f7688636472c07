#!/usr/bin/env bash
# The project's test command (README: `npm test`): installs what is missing, builds, lints, then
# runs every test/**/*.test.ts with Node's test runner. Set ARTSTYLE_TEST_FILTER=<regex> to run a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The real-Slurm test (test/cluster/cluster.test.ts) needs slurm-wlm and munge: installed here when
# missing and root; without root that test is skipped and says why.
if [[ $(id -u) -eq 0 ]]; then bash scripts/slurm/cluster.sh install; fi
npx --no-install eslint . >&2
npx --no-install prettier --check . >/dev/null || { npx --no-install prettier --check . >&2; exit 1; }
mapfile -t files < <(find test -name '*.test.ts' | sort | grep -E "${ARTSTYLE_TEST_FILTER:-.}" | sed -e 's#^#dist/#' -e 's#\.ts$#.js#')
((${#files[@]})) || { echo "no test files matched" >&2; exit 1; }
export ARTSTYLE_PROGRESS=${ARTSTYLE_PROGRESS:-silent}
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
status=0
node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "${files[@]}" || status=$?
pass=$(grep -E '^# pass ' "$tap" | awk '{s+=$3} END {print s+0}')
fail=$(grep -E '^# fail ' "$tap" | awk '{s+=$3} END {print s+0}')
skip=$(grep -E '^# skipped ' "$tap" | awk '{s+=$3} END {print s+0}')
echo "tests: $pass passed, $fail failed, $skip skipped"
exit "$status"
