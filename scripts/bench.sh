#!/usr/bin/env bash
# npm run bench: prints numbers, asserts nothing.
#   test-bed start, warm: binaries in the cache, 3 clusters with controllers and kwok + 1 node,
#                         bare and with the suite's profiles (rancher-local,rke1,rke2)
#   test-bed start, cold: an empty test-bed cache (Go's module and build caches kept);
#                         BENCH_FULL_COLD=1 also empties Go's build cache (a full compile, ~15-25 min)
#   cert-rotation check over 10,000 files and 1,000 secrets (scripts/bench-check.ts)
#   synth of the Rancher stack with 1/10/100/500 downstream clusters (scripts/bench-synth.ts)
#   BENCH_FLEET=1: the fleet shapes on a Rancher bed (scripts/bench-fleet.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
tb=scripts/testbed/testbed
work=$(mktemp -d)
trap 'TESTBED_DIR=$work/bed $tb down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

seconds() { local s=$(date +%s.%N); "$@" >"$work/out.log" 2>&1 || { cat "$work/out.log" >&2; exit 1; }; awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{print b-a}'; }

$tb build >/dev/null 2>&1 || $tb build
warm=$(TESTBED_DIR=$work/bed seconds $tb up --clusters 3 --nodes 1)
printf 'testbed up (warm cache, 3 clusters with controllers, 1 node, bare): %.1f s\n' "$warm"
TESTBED_DIR=$work/bed $tb down >/dev/null 2>&1
warm=$(TESTBED_DIR=$work/bed seconds $tb up --clusters 3 --nodes 1 --profile rancher-local,rke1,rke2)
printf 'testbed up (warm cache, 3 clusters with controllers, 1 node, profiles rancher-local,rke1,rke2): %.1f s\n' "$warm"
down=$(TESTBED_DIR=$work/bed seconds $tb down)
printf 'testbed down (3 clusters): %.1f s\n' "$down"

if [ "${BENCH_FULL_COLD:-0}" = 1 ]; then
  export GOCACHE=$work/gocache
  label="empty test-bed cache and empty Go build cache"
else
  label="empty test-bed cache, Go build cache kept"
fi
cold=$(CERT_ROTATION_CACHE=$work/cache TESTBED_DIR=$work/bed seconds $tb up --clusters 3 --nodes 1)
printf 'testbed up (cold: %s): %.1f s\n' "$label" "$cold"
TESTBED_DIR=$work/bed $tb down >/dev/null 2>&1

[ -f dist/lib/cli/main.js ] || npm run build >/dev/null
TESTBED_DIR=$work/bed $tb up --clusters 1 --nodes 0 >/dev/null 2>&1
set -a; . "$work/bed/env"; set +a
npx ts-node --transpile-only scripts/bench-check.ts
npx ts-node --transpile-only scripts/bench-synth.ts

# The fleet shapes (scripts/bench-fleet.ts): a Rancher bed, 10/100/500 clusters in four shapes. Long (an hour
# or more on 2 cores), so only when asked: BENCH_FLEET=1 npm run bench.
if [ "${BENCH_FLEET:-0}" = 1 ]; then
  TESTBED_DIR=$work/bed $tb down >/dev/null 2>&1
  TESTBED_DIR=$work/bed $tb up --clusters 3 --nodes 0 --profile rancher-local,rke1,rke2 >/dev/null 2>&1
  TESTBED_DIR=$work/bed npx ts-node --transpile-only scripts/bench-fleet.ts --broken
fi
