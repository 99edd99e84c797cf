// free-port.js RECORD: prints a TCP port on 127.0.0.1 that no process listens
// on, that this test bed has not handed out before (RECORD lists those, one per
// line; the caller holds a lock on it), and that lies below the kernel's
// ephemeral range. The last point matters: a port taken with listen(0) and
// closed again comes from the ephemeral range, where the kernel may hand it to
// the next listen(0) or to an outgoing connection's source port before our
// daemon binds it. That happened in CI: etcd's client port was already held by
// another daemon, and kube-apiserver talked to the wrong server until it gave up.
'use strict';
const fs = require('fs');
const net = require('net');

const record = process.argv[2];
if (!record) {
  process.stderr.write('usage: free-port.js RECORD\n');
  process.exit(2);
}

function ephemeralLow() {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(low) || 32768;
  } catch {
    return 32768;
  }
}

const given = new Set(
  (fs.existsSync(record) ? fs.readFileSync(record, 'utf8') : '').split('\n').filter(Boolean).map(Number),
);
const high = ephemeralLow() - 1;
const low = Math.max(1024, Math.min(20000, high - 2000));

function tryPort(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

(async () => {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (given.has(port)) continue;
    if (await tryPort(port)) {
      fs.appendFileSync(record, `${port}\n`);
      process.stdout.write(String(port));
      return;
    }
  }
  process.stderr.write(`free-port: no free port in ${low}-${high} after 500 tries (${given.size} handed out)\n`);
  process.exit(1);
})();
