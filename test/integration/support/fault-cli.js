#!/usr/bin/env node
'use strict';
// The fault harness's stand-in for `cert-rotation step` (set as CERT_ROTATION_CLI
// at synth): runs the real step, and when the step matches $CERT_ROTATION_FAULT
// (a regular expression over the step's JSON) kills the engine with SIGKILL,
// as a cancelled pipeline or a lost runner would:
//   CERT_ROTATION_FAULT_WHEN=before  kill before the step writes anything
//   CERT_ROTATION_FAULT_WHEN=after   kill after the step wrote and verified (default)
// Only once per $CERT_ROTATION_FAULT_MARKER file, so the re-deploy runs clean.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const bin = path.resolve(__dirname, '../../../bin/cert-rotation.js');
const fault = process.env.CERT_ROTATION_FAULT;
const marker = process.env.CERT_ROTATION_FAULT_MARKER;
const when = process.env.CERT_ROTATION_FAULT_WHEN || 'after';
const hit = Boolean(fault && marker && !fs.existsSync(marker) && new RegExp(fault).test(process.env.CERT_ROTATION_STEP || ''));

/** The pid of the nearest ancestor that is terraform or tofu. */
function engine() {
  let pid = process.ppid;
  while (pid > 1) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (comm === 'terraform' || comm === 'tofu') return pid;
    pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  throw new Error('fault-cli: no terraform or tofu process above this step');
}

function kill() {
  fs.writeFileSync(marker, `${when} ${new Date().toISOString()}\n`);
  process.stderr.write(`fault-cli: killing the engine ${when} this step\n`);
  process.kill(engine(), 'SIGKILL');
}

if (hit && when === 'before') {
  kill();
  process.exit(137);
}
const r = spawnSync(process.execPath, [bin, ...process.argv.slice(2)], { stdio: 'inherit' });
if (hit && when === 'after') kill();
process.exit(r.status === null ? 1 : r.status);
