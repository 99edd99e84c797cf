#!/usr/bin/env node
'use strict';
// The cdktf app of cdktf.json: runs main.ts compiled (dist/main.js), which synthesizes
// several times faster than compiling the TypeScript at every synth (docs/benchmarks.md,
// "Synth"). `npm ci` and `npm run build` compile it; when a source under main.ts, lib/ or
// stacks/ is newer than dist/main.js, the app runs from the TypeScript instead and says so.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'main.js');

/** The newest modification time of main.ts and the .ts files under lib/ and stacks/. */
function newestSource() {
  let newest = fs.statSync(path.join(root, 'main.ts')).mtimeMs;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(path.join(root, 'lib'));
  walk(path.join(root, 'stacks'));
  return newest;
}

let builtAt = 0;
try {
  builtAt = fs.statSync(compiled).mtimeMs;
} catch {
  // not built
}
if (builtAt >= newestSource()) {
  require(compiled);
} else {
  process.stderr.write(`cert-rotation: ${builtAt ? 'dist/ is older than the sources' : 'dist/main.js is missing'}; synthesizing from the TypeScript (\`npm run build\` makes synth faster)\n`);
  const tsNode = require.resolve('ts-node/dist/bin.js', { paths: [root] });
  const r = spawnSync(process.execPath, [tsNode, '--transpile-only', path.join(root, 'main.ts')], { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}
