#!/usr/bin/env bash
# The whole test suite: type check, unit tests, then the integration tests on a
# freshly started local test bed (built from Go modules on first use, cached
# after). A test bed that cannot start fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "type check (tsc --noEmit)"
npx tsc --noEmit -p tsconfig.json

step "build dist/ (the steps Terraform runs call bin/cert-rotation.js, which loads dist/)"
npm run build >/dev/null

results=$(mktemp -d)
summary() {
  node -e '
    // Ends with every failure in a few lines (CI shows only part of the log: its end must say
    // which tests failed and why): the error lines of each failure message first, then its head.
    const fs = require("fs"); let p = 0, f = 0; const failures = [];
    const plain = (t) => t.replace(/\u001b\[[0-9;]*m/g, "");
    const gist = (msg) => {
      const lines = plain(msg).split("\n").map((l) => l.trimEnd()).filter((l) => l.trim());
      const errors = lines.filter((l) => /error|fail|timed? ?out|refus|expect|received|exceeded/i.test(l)).slice(-8);
      return [...errors, ...lines.filter((l) => !errors.includes(l)).slice(0, 2)].map((l) => "    " + l.slice(0, 240));
    };
    for (const file of process.argv.slice(1)) {
      if (!fs.existsSync(file)) continue;
      const r = JSON.parse(fs.readFileSync(file, "utf8"));
      p += r.numPassedTests; f += r.numFailedTests + r.numRuntimeErrorTestSuites;
      for (const suite of r.testResults) {
        const where = suite.name.replace(process.cwd() + "/", "");
        const failed = suite.assertionResults.filter((a) => a.status === "failed");
        if (failed.length === 0 && suite.status === "failed") failures.push(`FAIL ${where}`, ...gist(suite.message || ""));
        for (const a of failed) failures.push(`FAIL ${where} > ${a.fullName}`, ...gist(a.failureMessages.join("\n")));
      }
    }
    if (failures.length) console.log("\nfailures, in short (the full messages are above):\n" + failures.join("\n"));
    console.log(`\ntests: ${p} passed, ${f} failed`);
  ' "$results/unit.json" "$results/integration.json" "$results/pipeline.json" "$results/kubeadm.json" "$results/opentofu.json"
}

step "unit tests"
npx jest --selectProjects unit --ci --json --outputFile="$results/unit.json" || { summary; exit 1; }

step "test bed up (4 clusters: Rancher server, RKE1 and RKE2 downstream of 2.8, RKE2 downstream of 2.12; 5 stand-in nodes: 3 RKE2 servers, 2 agents; a kubeadm control plane on its own node; PostgreSQL for the pg state backend)"
tofu_bed=$PWD/.testbed-opentofu
trap 'scripts/testbed/testbed down >/dev/null 2>&1 || true; TESTBED_DIR=$tofu_bed scripts/testbed/testbed down >/dev/null 2>&1 || true; rm -rf "$results"' EXIT
scripts/testbed/testbed up --clusters 4 --nodes 5 --profile rancher-local,rke1,rke2,rancher-2.12 --kubeadm --postgres

step "lint the pipeline kit's GitHub workflow (actionlint with shellcheck; the GitLab file is checked by the unit tests)"
# actionlint runs shellcheck on every run: block when shellcheck is on PATH: Debian's package, installed when missing
# (as the test bed installs sshd).
if ! command -v shellcheck >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { echo "shellcheck is missing and apt-get is not available; install shellcheck" >&2; summary; exit 1; }
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck) >/dev/null
fi
(eval "$(scripts/testbed/testbed env)" && "$TESTBED_ACTIONLINT" -no-color -shellcheck "$(command -v shellcheck)" examples/pipelines/github/cert-rotation.yml) || { summary; exit 1; }
# The GitLab jobs' scripts (default before_script, then script) through shellcheck, one file per job, under the
# set -eo pipefail GitLab's bash runs them with.
gitlab_scripts=$results/gitlab-scripts
mkdir -p "$gitlab_scripts"
node -e '
  const fs = require("fs"); const { parse } = require("yaml");
  const ci = parse(fs.readFileSync(process.argv[1], "utf8"));
  for (const [name, job] of Object.entries(ci)) {
    if (!job || !job.script) continue;
    const lines = [...((ci.default && ci.default.before_script) || []), ...job.script];
    fs.writeFileSync(`${process.argv[2]}/${name}.sh`, `#!/usr/bin/env bash\nset -eo pipefail\n${lines.join("\n")}\n`);
  }
' examples/pipelines/gitlab/.gitlab-ci.yml "$gitlab_scripts"
shellcheck "$gitlab_scripts"/*.sh || { summary; exit 1; }

step "integration tests (real Terraform against the local API servers)"
status=0
npx jest --selectProjects integration --ci --runInBand --json --outputFile="$results/integration.json" || status=$?

step "the pipeline kit end to end: the GitHub workflow's review, apply and nightly jobs, run by scripts/pipeline-run.ts in a clone of this repository against the bed's Rancher server (6 to 17 minutes: each job runs its own npm ci)"
npx jest --selectProjects pipeline --ci --runInBand --json --outputFile="$results/pipeline.json" || status=$?

step "kubeadm: certificate renewal and the CA rotation phases on the bed's kubeadm control plane (last: they change its certificates and CA)"
npx jest --selectProjects kubeadm --ci --runInBand --json --outputFile="$results/kubeadm.json" || status=$?

step "engine fallback: without terraform on PATH the test bed builds OpenTofu; the first end-to-end test runs on it"
no_terraform_path=$(printf '%s\n' "$PATH" | tr ':' '\n' | while read -r d; do if [ -n "$d" ] && [ ! -x "$d/terraform" ]; then printf '%s:' "$d"; fi; done)
env -u TERRAFORM_BINARY_NAME PATH="${no_terraform_path%:}" TESTBED_DIR="$tofu_bed" scripts/testbed/testbed up --clusters 1 --nodes 0
TESTBED_DIR="$tofu_bed" npx jest --selectProjects integration --ci --runInBand --json --outputFile="$results/opentofu.json" \
  test/integration/write-only-secret.test.ts || status=$?
summary
exit $status
