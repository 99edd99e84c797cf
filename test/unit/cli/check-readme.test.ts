/**
 * README's sample `check` output is the tool's own: this test runs the command
 * the README names on the unit tests' RKE tree and compares. To regenerate
 * after a change of the output: `UPDATE_README=1 npx jest test/unit/cli/check-readme.test.ts --selectProjects unit`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { runCli } from './support/run-cli';
import { buildNodeTrees, NodeTrees, removeTrees } from './support/trees';

const README = path.resolve(__dirname, '../../../README.md');
const MARKER = '<!-- check-sample: cert-rotation check --preset rke --root . --now 2031-03-01 (cwd: the RKE tree of test/unit/cli/support/trees.ts) -->';

let trees: NodeTrees;
beforeAll(() => {
  trees = buildNodeTrees();
}, 60_000);
afterAll(() => removeTrees(trees));

test("README's check sample is what the tool prints", async () => {
  const cwd = process.cwd();
  process.chdir(trees.rkeRoot);
  let r;
  try {
    r = await runCli('check', '--preset', 'rke', '--root', '.', '--now', '2031-03-01');
  } finally {
    process.chdir(cwd);
  }
  const sample = `${r.stdout}${r.stderr}exit ${r.code}\n`;
  const readme = fs.readFileSync(README, 'utf8');
  const at = readme.indexOf(MARKER);
  expect(at).toBeGreaterThan(0);
  const start = readme.indexOf('```\n', at) + 4;
  const end = readme.indexOf('```\n', start);
  if (process.env.UPDATE_README === '1') {
    fs.writeFileSync(README, readme.slice(0, start) + sample + readme.slice(end));
    return;
  }
  expect(readme.slice(start, end)).toBe(sample);
});
