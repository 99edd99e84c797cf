#!/usr/bin/env node
'use strict';
// Entry point of the `cert-rotation` tool. The TypeScript sources compile to
// dist/ with `npm run build`.
let cli;
try {
  cli = require('../dist/lib/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/lib/cli/main.js')) {
    process.stderr.write('cert-rotation: dist/lib/cli/main.js is missing; build it with `npm run build` in the package directory\n');
    process.exit(3);
  }
  throw err;
}
cli.main();
