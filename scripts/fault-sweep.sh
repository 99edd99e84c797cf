#!/usr/bin/env bash
# npm run faults:sweep — the full fault harness (nightly): a CA rotation of the
# Rancher stack with the engine killed before and after every step's write,
# each followed by a plain re-deploy that must converge (see
# test/integration/faults.test.ts; CI runs its fast subset). Starts its own
# test bed and prints how long the sweep took.
set -euo pipefail
cd "$(dirname "$0")/.."
tb=scripts/testbed/testbed
bed=$(mktemp -d)
trap 'TESTBED_DIR=$bed $tb down >/dev/null 2>&1 || true; rm -rf "$bed"' EXIT
npm run build >/dev/null
TESTBED_DIR=$bed $tb up --clusters 3 --nodes 0 --profile rancher-local,rke1,rke2
start=$(date +%s)
status=0
TESTBED_DIR=$bed FAULT_SWEEP=all npx jest test/integration/faults.test.ts --selectProjects integration --runInBand --ci || status=$?
printf 'fault sweep: %d s, jest exit %d\n' "$(( $(date +%s) - start ))" "$status"
exit $status
