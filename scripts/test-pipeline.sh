#!/usr/bin/env bash
# The pipeline kit end to end: the GitHub workflow's review, apply and nightly jobs, run
# with scripts/pipeline-run.ts in a clone of this repository against a Rancher server
# cluster on its own test bed: the same test `npm test` runs on its bed, alone. Each job's
# own `npm ci` makes it 6 to 17 minutes on a 2-core machine (warm or cold npm cache).
set -euo pipefail
cd "$(dirname "$0")/.."
export TESTBED_DIR=$PWD/.testbed-pipeline
trap 'scripts/testbed/testbed down >/dev/null 2>&1 || true' EXIT
scripts/testbed/testbed up --clusters 1 --nodes 0 --profile rancher-local
npm run build
npx jest test/integration/pipeline.test.ts --selectProjects pipeline --runInBand "$@"
