/**
 * The shell script a kubeadm CA rotation runs on each control-plane node, per
 * phase. It holds no key: keys are uploaded next to it (mode 0700 directory)
 * and read from there; the script removes them when it ends.
 *
 * Every phase writes the whole state of the node for that phase (a re-run
 * writes the same files), then restarts the static Pods the way kubeadm's
 * documentation does: move the manifest out of the manifest directory, wait
 * until the kubelet has stopped the Pod, move it back, wait until it runs.
 *
 * @see https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/
 * @see https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#manual-certificate-renewal
 */
import type { KubeadmCaPhase } from '../steps/spec';

/** The client certificates of the kubeconfig files kubeadm writes, and the file in the new PKI directory each gets in `switch`. */
export const KUBEADM_KUBECONFIGS: readonly { readonly file: string; readonly leaf: (node: string) => string }[] = [
  { file: 'admin.conf', leaf: () => 'admin' },
  { file: 'super-admin.conf', leaf: () => 'super-admin' },
  { file: 'controller-manager.conf', leaf: () => 'controller-manager' },
  { file: 'scheduler.conf', leaf: () => 'scheduler' },
  { file: 'kubelet.conf', leaf: (node) => `kubelet-${node}` },
];

/** The API server's certificates the `switch` phase replaces (in the certificate directory). */
export const KUBEADM_SERVER_LEAVES = ['apiserver', 'apiserver-kubelet-client'] as const;

export interface NodeScriptOptions {
  readonly phase: KubeadmCaPhase;
  readonly node: string;
  /**
   * `worker`: a node that runs only the kubelet; its `ca.crt` (the kubelet's
   * `clientCAFile`) and `kubelet.conf` change, nothing else, and it gets no CA key.
   * @default 'control-plane'
   */
  readonly role?: 'control-plane' | 'worker';
  /** Where the uploaded files are on the node. */
  readonly staging: string;
  readonly certDir: string;
  readonly kubernetesDir: string;
  /** PEM of the old CA certificate, then the new (public). */
  readonly bothPem: string;
  /** PEM of the new CA certificate (public). */
  readonly newPem: string;
  /** Seconds to wait for a static Pod to stop or run. */
  readonly waitSeconds: number;
  /**
   * The front-proxy CA rotates too: PEM of its old certificate then the new,
   * and the new alone (public). The upload holds `front-proxy-ca.key` and,
   * after trust-both, `front-proxy-client.crt`/`.key`.
   */
  readonly frontProxy?: { readonly bothPem: string; readonly newPem: string };
}

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The script of one phase on one node. */
export function kubeadmNodeScript(o: NodeScriptOptions): string {
  const both = Buffer.from(o.bothPem).toString('base64');
  const fresh = Buffer.from(o.newPem).toString('base64');
  const trusted = o.phase === 'drop-old' ? 'NEW_B64' : 'BOTH_B64';
  const leaves = o.phase !== 'trust-both';
  const lines: string[] = [
    '#!/bin/bash',
    `# cert-rotation: kubeadm CA rotation, phase ${o.phase}, node ${o.node}. Written by KubeadmCaRotation; holds no key.`,
    'set -euo pipefail',
    '# $1: the mark of this run (a digest of the step\'s triggers), written when the phase is done on this node.',
    'CR_MARK=${1:-}',
    `NODE=${q(o.node)} S=${q(o.staging)} D=${q(o.certDir)} K=${q(o.kubernetesDir)}`,
    'M="$K/manifests" HOLD="$K/cert-rotation-held-manifests"',
    `WAIT=${o.waitSeconds}`,
    'trap \'rm -rf "$S"\' EXIT',
    `BOTH_B64=${q(both)}`,
    `NEW_B64=${q(fresh)}`,
    ...(o.frontProxy ? [`FP_BOTH_B64=${q(Buffer.from(o.frontProxy.bothPem).toString('base64'))}`, `FP_NEW_B64=${q(Buffer.from(o.frontProxy.newPem).toString('base64'))}`] : []),
    'log() { echo "cert-rotation kubeadm [$NODE]: $*"; }',
    'CR_NODE=$NODE',
    'cr_fail() { log "FAILED: $1"; exit 1; }',
    ...STATIC_POD_UNHOLD,
    '# put MODE SRC DEST: DEST gets SRC\'s content (replaced in one rename) and MODE.',
    'put() {',
    '  if ! cmp -s "$2" "$3" 2>/dev/null; then cp "$2" "$3.cert-rotation.tmp"; chmod "$1" "$3.cert-rotation.tmp"; mv -f "$3.cert-rotation.tmp" "$3"; log "wrote $3"; fi',
    '  chmod "$1" "$3"',
    '}',
    'put_b64() { printf %s "$3" | base64 -d >"$S/.text"; put "$1" "$S/.text" "$2"; }',
    '# kubeconfig FILE [LEAF]: certificate-authority-data := the trusted bundle; with LEAF, the client certificate and key from the upload.',
    'kubeconfig() {',
    '  local f="$K/$1"',
    '  [ -f "$f" ] || { log "$f does not exist: skipped"; return 0; }',
    '  local crt="" key=""',
    '  if [ -n "${2:-}" ]; then crt=$(base64 -w0 "$S/$2.crt"); key=$(base64 -w0 "$S/$2.key"); fi',
    `  CA="$${trusted}" CRT="$crt" KEY="$key" awk '`,
    '    /^[[:space:]]*certificate-authority-data:/ { sub(/:.*/, ": " ENVIRON["CA"]) }',
    '    ENVIRON["CRT"] != "" && /^[[:space:]]*client-certificate-data:/ { sub(/:.*/, ": " ENVIRON["CRT"]) }',
    '    ENVIRON["KEY"] != "" && /^[[:space:]]*client-key-data:/ { sub(/:.*/, ": " ENVIRON["KEY"]) }',
    `    { print }' "$f" >"$S/.kubeconfig"`,
    '  put 600 "$S/.kubeconfig" "$f"',
    '  if [ -n "${2:-}" ]; then client_files "$f" "$2"; fi',
    '}',
    '# client_files KUBECONFIG LEAF: a kubeconfig that names its client certificate and key files gets LEAF\'s there. The',
    '# kubelet\'s (client certificate rotation, as kubeadm sets it up) names kubelet-client-current.pem, a link into its',
    '# certificate store: a new kubelet-client-<time>.pem, then the link moved to it in one rename, as the kubelet does.',
    'client_files() {',
    '  local crt key dir pem',
    '  crt=$(sed -n -E \'s/^[[:space:]]*client-certificate:[[:space:]]*"?([^"]*)"?[[:space:]]*$/\\1/p\' "$1" | head -n 1)',
    '  key=$(sed -n -E \'s/^[[:space:]]*client-key:[[:space:]]*"?([^"]*)"?[[:space:]]*$/\\1/p\' "$1" | head -n 1)',
    '  [ -n "$crt" ] || return 0',
    '  case $crt in /*) ;; *) crt="$(dirname "$1")/$crt" ;; esac',
    '  case $key in /*) ;; "") key=$crt ;; *) key="$(dirname "$1")/$key" ;; esac',
    '  cat "$S/$2.crt" "$S/$2.key" >"$S/.pair"',
    '  if [ "$crt" = "$key" ] && [ "$(basename "$crt")" = kubelet-client-current.pem ]; then',
    '    if cmp -s "$S/.pair" "$crt"; then return 0; fi',
    '    dir=$(dirname "$crt")',
    '    pem="$dir/kubelet-client-$(date -u +%Y-%m-%d-%H-%M-%S).pem"',
    '    put 600 "$S/.pair" "$pem"',
    '    ln -sfn "$pem" "$dir/.kubelet-client-current.cert-rotation.tmp"',
    '    mv -fT "$dir/.kubelet-client-current.cert-rotation.tmp" "$crt"',
    '    log "$crt now links to $pem"',
    '  elif [ "$crt" = "$key" ]; then',
    '    put 600 "$S/.pair" "$crt"',
    '  else',
    '    put 644 "$S/$2.crt" "$crt"',
    '    put 600 "$S/$2.key" "$key"',
    '  fi',
    '}',
    '# running NAME: the ids of the running containers of a static Pod (crictl, as on every kubeadm node).',
    'running() { crictl ps -q --name "$1" 2>/dev/null || true; }',
    'wait_until() {',
    '  local what=$1; shift',
    '  local end=$((SECONDS + WAIT))',
    '  until "$@"; do',
    '    [ $SECONDS -lt $end ] || { log "FAILED: $what after $WAIT s"; exit 1; }',
    '    sleep 1',
    '  done',
    '}',
    'stopped() { [ -z "$(running "$1")" ]; }',
    'started() { [ -n "$(running "$1")" ]; }',
    '# kcm_flags FILE CRT KEY: the controller manager\'s --client-ca-file and --cluster-signing-* flags.',
    'kcm_flags() {',
    '  sed -i -E "s#(--client-ca-file=).*#\\1$2#; s#(--cluster-signing-cert-file=).*#\\1$2#; s#(--cluster-signing-key-file=).*#\\1$3#" "$1"',
    '}',
    '# restart NAME [EDIT...]: move the manifest out, wait until the kubelet stopped the Pod, (edit it), move it back, wait until it runs.',
    'restart() {',
    '  local name=$1; shift',
    '  [ -f "$M/$name.yaml" ] || { log "FAILED: $M/$name.yaml does not exist; is this a kubeadm control-plane node?"; exit 1; }',
    '  mkdir -p "$HOLD"',
    '  mv "$M/$name.yaml" "$HOLD/$name.yaml"',
    '  wait_until "the kubelet did not stop $name" stopped "$name"',
    '  if [ $# -gt 0 ]; then "$@" "$HOLD/$name.yaml"; fi',
    '  mv "$HOLD/$name.yaml" "$M/$name.yaml"',
    '  wait_until "the kubelet did not start $name again" started "$name"',
    '  log "restarted $name (container $(running "$name" | cut -c1-13))"',
    '}',
    'apiserver_ready() {',
    '  local port',
    '  port=$(sed -n -E "s/.*--secure-port=([0-9]+).*/\\1/p" "$M/kube-apiserver.yaml")',
    '  curl -sfk --max-time 3 "https://127.0.0.1:${port:-6443}/readyz" >/dev/null',
    '}',
    '',
    'cr_unhold',
    `log "phase ${o.phase}: files"`,
  ];
  if (o.role === 'worker') {
    lines.push(
      '# A worker: the kubelet\'s clientCAFile and kubelet.conf trust the CAs of the phase; from switch on its client',
      '# certificate is the new CA\'s. No CA key comes here.',
      `put_b64 644 "$D/ca.crt" "$${trusted}"`,
      `kubeconfig kubelet.conf${leaves ? ` ${q(`kubelet-${o.node}`)}` : ''}`,
      '# The kubelet reads kubelet.conf and its clientCAFile (ca.crt) at start.',
      'systemctl restart kubelet',
      ...MARK_DONE,
      `log "phase ${o.phase}: done"`,
    );
    return lines.join('\n') + '\n';
  }
  if (o.phase === 'drop-old') {
    lines.push(
      '# The new CA alone is the cluster CA again: ca.crt/ca.key, and the controller manager back on them.',
      'put_b64 644 "$D/ca.crt" "$NEW_B64"',
      'put 600 "$S/ca.key" "$D/ca.key"',
      'kcm() { kcm_flags "$1" "$D/ca.crt" "$D/ca.key"; }',
    );
  } else {
    lines.push(
      '# The new CA beside the old; ca.crt (--client-ca-file of the API server, --root-ca-file of the',
      '# controller manager, the kubelets\' clientCAFile) holds both. The controller manager\'s',
      '# --client-ca-file and --cluster-signing-cert-file must not be bundles: they point at the new CA\'s copy.',
      'put_b64 644 "$D/ca-new.crt" "$NEW_B64"',
      'put 600 "$S/ca.key" "$D/ca-new.key"',
      'put_b64 644 "$D/ca.crt" "$BOTH_B64"',
      'kcm() { kcm_flags "$1" "$D/ca-new.crt" "$D/ca-new.key"; }',
    );
  }
  if (o.frontProxy) {
    lines.push(
      '# The front-proxy CA (the API server\'s --requestheader-client-ca-file) in the same phases.',
      ...(o.phase === 'drop-old'
        ? ['put_b64 644 "$D/front-proxy-ca.crt" "$FP_NEW_B64"', 'put 600 "$S/front-proxy-ca.key" "$D/front-proxy-ca.key"']
        : ['put_b64 644 "$D/front-proxy-ca-new.crt" "$FP_NEW_B64"', 'put 600 "$S/front-proxy-ca.key" "$D/front-proxy-ca-new.key"', 'put_b64 644 "$D/front-proxy-ca.crt" "$FP_BOTH_B64"']),
      ...(leaves ? ['put 644 "$S/front-proxy-client.crt" "$D/front-proxy-client.crt"', 'put 600 "$S/front-proxy-client.key" "$D/front-proxy-client.key"'] : []),
    );
  }
  if (leaves) {
    lines.push('# The API server\'s certificates issued by the new CA.');
    for (const leaf of KUBEADM_SERVER_LEAVES) {
      lines.push(`put 644 "$S/${leaf}.crt" "$D/${leaf}.crt"`, `put 600 "$S/${leaf}.key" "$D/${leaf}.key"`);
    }
  }
  for (const k of KUBEADM_KUBECONFIGS) lines.push(`kubeconfig ${k.file}${leaves ? ` ${q(k.leaf(o.node))}` : ''}`);
  lines.push(
    `log "phase ${o.phase}: restarts"`,
    'restart kube-apiserver',
    'wait_until "kube-apiserver is not ready" apiserver_ready',
    'restart kube-controller-manager kcm',
    'restart kube-scheduler',
    ...(o.phase === 'drop-old' ? [`rm -f "$D/ca-new.crt" "$D/ca-new.key"${o.frontProxy ? ' "$D/front-proxy-ca-new.crt" "$D/front-proxy-ca-new.key"' : ''}`] : []),
    '# The kubelet reads kubelet.conf and its clientCAFile (ca.crt) at start.',
    'systemctl restart kubelet',
    ...MARK_DONE,
    `log "phase ${o.phase}: done"`,
  );
  return lines.join('\n') + '\n';
}

/** Where a node keeps the mark of the last phase run that finished on it. */
export const KUBEADM_CA_DONE = 'cert-rotation-state/kubeadm-ca.done';

/** The last thing a phase does on a node: the mark its check step looks for. */
const MARK_DONE = [`if [ -n "$CR_MARK" ]; then mkdir -p "$K/${KUBEADM_CA_DONE.split('/')[0]}" && printf '%s\\n' "$CR_MARK" >"$K/${KUBEADM_CA_DONE}"; fi`];

/**
 * Puts back a static Pod manifest an interrupted run left in `$HOLD` (the apply
 * killed, the node rebooted), so a new run starts from a whole control plane.
 * POSIX shell; needs `cr_fail`, `$CR_NODE`, `$M`, `$HOLD`.
 */
export const STATIC_POD_UNHOLD: readonly string[] = [
  '# cr_unhold: a manifest an interrupted run left in $HOLD goes back to $M first.',
  'cr_unhold() {',
  '  for cr_pod in etcd kube-apiserver kube-controller-manager kube-scheduler; do',
  '    if [ -f "$HOLD/$cr_pod.yaml" ] && [ ! -f "$M/$cr_pod.yaml" ]; then',
  '      mv "$HOLD/$cr_pod.yaml" "$M/$cr_pod.yaml" || cr_fail "move $cr_pod.yaml, left in $HOLD by an interrupted run, back to $M"',
  '      echo "cert-rotation: node $CR_NODE: $cr_pod.yaml was left in $HOLD by an interrupted run: moved back to $M"',
  '    fi',
  '  done',
  '}',
];

/**
 * A static Pod restarted the way kubeadm's documentation does it: its manifest
 * moves out of `$M` until crictl lists no container of it, then back until a
 * new container runs. POSIX shell; needs `cr_fail`, `cr_wait`, `$M`, `$HOLD`, `$WAIT`.
 */
export const STATIC_POD_RESTART: readonly string[] = [
  '# cr_restart NAME: the static Pod NAME restarted through its manifest; fails unless a new container runs.',
  'cr_restart() {',
  '  [ -f "$M/$1.yaml" ] || cr_fail "restart $1: $M/$1.yaml does not exist; is this a kubeadm control-plane node?"',
  '  cr_was=$(crictl ps -q --name "$1" 2>/dev/null | sort | tr "\\n" " ")',
  '  if ! { mkdir -p "$HOLD" && mv "$M/$1.yaml" "$HOLD/$1.yaml"; }; then cr_fail "restart $1: cannot move $M/$1.yaml to $HOLD"; fi',
  '  CR_STATE="$1.yaml is in $HOLD and $1 is stopping; move it back to $M to start $1 again"',
  '  cr_wait "$1 stopped" "$WAIT" "[ -z \\"\\$(crictl ps -q --name $1 2>/dev/null)\\" ]"',
  '  mv "$HOLD/$1.yaml" "$M/$1.yaml" || cr_fail "restart $1: cannot move $1.yaml back to $M"',
  '  CR_STATE="$1.yaml is back in $M but $1 does not run"',
  '  cr_wait "$1 running again" "$WAIT" "[ -n \\"\\$(crictl ps -q --name $1 2>/dev/null)\\" ]"',
  '  cr_now=$(crictl ps -q --name "$1" 2>/dev/null | sort | tr "\\n" " ")',
  '  [ "$cr_now" != "$cr_was" ] || cr_fail "restart $1: the same container runs as before"',
  '  echo "cert-rotation: node $CR_NODE: restarted $1"',
  '}',
];
