#!/usr/bin/env bash
# The kubeadm tests alone (they run in `npm test` too, after the other
# integration tests): KubeadmCertificateRenewal and the KubeadmCaRotation phases
# on a fresh test bed whose kubeadm control plane the real kubeadm laid out
# (testbed up --kubeadm). About 6 minutes; a fresh bed each run, because the CA
# rotation leaves the cluster on its new CA.
set -euo pipefail
cd "$(dirname "$0")/.."
export TESTBED_DIR=$PWD/.testbed-kubeadm
trap 'scripts/testbed/testbed down >/dev/null 2>&1 || true' EXIT
scripts/testbed/testbed down >/dev/null 2>&1 || true
scripts/testbed/testbed up --clusters 1 --nodes 0 --kubeadm
npm run build
npx jest test/integration/kubeadm --selectProjects kubeadm --runInBand "$@"
