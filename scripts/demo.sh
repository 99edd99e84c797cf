#!/usr/bin/env bash
# npm run demo: start the local test bed (a Rancher server and an RKE1 cluster) and rotate a Rancher
# server certificate on it with the real app, cdktf and Terraform; then an RKE2 HA rotation on five
# stand-in nodes over SSH (3 servers, 2 agents).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build   # the cert-rotation command (bin/) runs from dist/
scripts/testbed/testbed up --clusters 2 --nodes 5 --profile rancher-local,rke1
npx ts-node --transpile-only scripts/demo/demo.ts
