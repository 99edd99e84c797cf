#!/usr/bin/env bash
# npm run demo: start the local test bed (three clusters) and rotate a Rancher
# server certificate on it with the real app, cdktf and Terraform.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/lib/cli/main.js ] || npm run build
scripts/testbed/testbed up --clusters 3 --nodes 0
npx ts-node --transpile-only scripts/demo/demo.ts
