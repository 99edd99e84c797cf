#!/usr/bin/env bash
# The kubeadm CA rotation phases (KubeadmCaRotation) end to end: a fresh test
# bed laid out by the real kubeadm (testbed up --kubeadm) whose CA the test
# rotates through trust-both, switch and drop-old. Not part of `npm test` yet:
# it takes about 35 minutes on a 2-core machine (one SSH session per uploaded
# file) and needs a fresh bed per run.
set -euo pipefail
cd "$(dirname "$0")/.."
export TESTBED_DIR=$PWD/.testbed-kubeadm
trap 'scripts/testbed/testbed down >/dev/null 2>&1 || true' EXIT
scripts/testbed/testbed down >/dev/null 2>&1 || true
scripts/testbed/testbed up --clusters 1 --nodes 0 --kubeadm
npm run build
npx jest test/integration/kubeadm --selectProjects kubeadm --runInBand "$@"
