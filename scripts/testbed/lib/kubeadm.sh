# The kubeadm cluster of the test bed (`testbed up --kubeadm`): one extra
# control plane laid out by the real kubeadm binary, on a stand-in node that
# is reachable over SSH.
#
#   node root   $TESTBED_DIR/nodes/kubeadm-cp-1/root   (TESTBED_NODE_ROOT in SSH sessions)
#   files       <root>/etc/kubernetes/{pki/,admin.conf,super-admin.conf,controller-manager.conf,
#               scheduler.conf,kubelet.conf,manifests/}, written by
#               `kubeadm init phase certs all` and `kubeadm init phase kubeconfig all`
#               with a config file (kubeadm.yaml) whose certificatesDir is <root>/etc/kubernetes/pki
#   manifests   `kubeadm init phase control-plane all --dry-run` (KUBEADM_INIT_DRYRUN_DIR) writes
#               kubeadm's static Pod manifests; they are moved into <root>/etc/kubernetes/manifests
#   processes   kubeadm/static-pods.ts, the kubelet's static Pods stand-in, runs each manifest's
#               command (real kube-apiserver, kube-controller-manager, kube-scheduler) and restarts
#               it when its manifest changes or is moved out and back
#   etcd        as the other clusters run it, named in kubeadm.yaml as external etcd
#   addons      `kubeadm init phase upload-config`, `bootstrap-token` (kube-public/cluster-info)
#               and `addon all` (CoreDNS Deployment, kube-proxy DaemonSet), by the real kubeadm
#   kubelets    kwok runs the fake nodes' pods, connecting with a ServiceAccount token
#
# Upstream: https://kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-init-phase/,
# https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/,
# https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/
# shellcheck shell=bash

KUBEADM_NODE=kubeadm-cp-1
KUBEADM_WORKER=kubeadm-worker-1

kubeadm_dir() { echo "$TESTBED_DIR/kubeadm"; }
kubeadm_root() { echo "$TESTBED_DIR/nodes/$KUBEADM_NODE/root"; }
kubeadm_worker_root() { echo "$TESTBED_DIR/nodes/$KUBEADM_WORKER/root"; }

# kubeadm_config FILE ROOT API_PORT ETCD_PORT: the kubeadm configuration the
# test bed runs kubeadm with. Only what a loopback test bed needs differs
# from kubeadm's defaults: the certificate directory inside the node root,
# external etcd, a free port, no HTTPS ports for the controllers (several
# test beds share the machine; kubeadm's own extraArgs). The API server binds
# all addresses and advertises the host's default-route address, as kubeadm
# chooses it: kubeadm refuses a loopback advertiseAddress unless the
# loopback interface has a global address ("unable to select an IP from lo
# network interface"), and writes that address into controller-manager.conf,
# scheduler.conf and kubelet.conf.
kubeadm_config() {
  local file=$1 root=$2 api_port=$3 etcd_port=$4
  cat >"$file" <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  bindPort: $api_port
nodeRegistration:
  name: $KUBEADM_NODE
  criSocket: unix:///var/run/containerd/containerd.sock
  kubeletExtraArgs:
  - {name: cert-dir, value: $root/var/lib/kubelet/pki}
bootstrapTokens:
- token: testbd.0123456789abcdef
  description: test bed bootstrap token
  ttl: 24h0m0s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: $KUBERNETES_VERSION
clusterName: kubernetes
certificatesDir: $root/etc/kubernetes/pki
controlPlaneEndpoint: 127.0.0.1:$api_port
etcd:
  external:
    endpoints: [http://127.0.0.1:$etcd_port]
networking:
  serviceSubnet: 10.96.0.0/12
  dnsDomain: cluster.local
apiServer:
  certSANs: [127.0.0.1, localhost]
controllerManager:
  extraArgs:
  - {name: secure-port, value: "0"}
  - {name: concurrent-deployment-syncs, value: "10"}
  - {name: concurrent-daemonset-syncs, value: "10"}
scheduler:
  extraArgs:
  - {name: secure-port, value: "0"}
EOF
}

# kubeadm_kubectl ARGS...: kubectl as the cluster's super admin (the node's super-admin.conf as it was at up).
kubeadm_kubectl() {
  "$KUBECTL_BIN" --kubeconfig "$(kubeadm_dir)/kubeconfig" "$@"
}

# write_kubeadm_node_commands DIR: the node's own commands besides the real
# kubeadm: crictl (reads the static-pods stand-in's state) and systemctl (records).
write_kubeadm_node_commands() {
  local dir=$1
  mkdir -p "$dir"
  cat >"$dir/crictl" <<'EOF'
#!/bin/sh
# Test-bed stand-in for crictl on the kubeadm node: `crictl ps [-q] [--name NAME]`
# lists the running static-pod containers the kubelet stand-in started
# (https://kubernetes.io/docs/tasks/debug/debug-cluster/crictl/).
state="$TESTBED_NODE_ROOT/run/testbed-static-pods"
[ "$1" = ps ] || { echo "crictl (test bed): only 'ps' is modelled" >&2; exit 1; }
shift
quiet="" name=""
while [ $# -gt 0 ]; do
  case $1 in
    -q|--quiet) quiet=1; shift ;;
    --name) name=$2; shift 2 ;;
    --name=*) name=${1#--name=}; shift ;;
    *) shift ;;
  esac
done
[ -n "$quiet" ] || printf 'CONTAINER\tNAME\tSTATE\n'
for f in "$state"/*; do
  [ -e "$f" ] || continue
  n=$(basename "$f")
  case $n in *"$name"*) ;; *) continue ;; esac
  id=$(cut -d' ' -f1 "$f")
  if [ -n "$quiet" ]; then echo "$id"; else printf '%s\t%s\tRunning\n' "$(echo "$id" | cut -c1-13)" "$n"; fi
done
EOF
  cat >"$dir/systemctl" <<EOF
#!/bin/sh
# Test-bed stand-in: the kubeadm node runs no kubelet (kwok stands in for it); records the call.
printf '%s\t%s\t%s\n' "\${TESTBED_NODE:-unknown}" systemctl "\$*" >>"$TESTBED_DIR/node-calls.log"
EOF
  # The node's kubeadm: the real binary, seeing the node's files where a node
  # keeps them. kubeadm reads and writes the kubeconfig files in /etc/kubernetes
  # only (cmd/kubeadm/app/constants: KubernetesDir; `kubeadm certs renew` has
  # no flag for it), so it runs in a private mount namespace with
  # <root>/etc/kubernetes bound onto /etc/kubernetes. When the machine has no
  # /etc/kubernetes to bind onto, /etc is first covered by an overlay whose
  # upper layer is a fresh directory of the test bed: the machine's own /etc
  # is never written.
  cat >"$dir/kubeadm" <<EOF
#!/bin/sh
ov=\$(mktemp -d "$(kubeadm_dir)/etc-overlay.XXXXXX")
mkdir "\$ov/upper" "\$ov/work"
unshare --mount --propagation private sh -c '
set -e
if [ ! -d /etc/kubernetes ]; then
  mount -t overlay overlay -o "lowerdir=/etc,upperdir=\$1/upper,workdir=\$1/work" /etc
  mkdir /etc/kubernetes
fi
mount --bind "\$TESTBED_NODE_ROOT/etc/kubernetes" /etc/kubernetes
shift
exec "\$0" "\$@"' "$KUBE_DIR/kubeadm" "\$ov" "\$@"
rc=\$?
rm -rf "\$ov"
exit \$rc
EOF
  chmod +x "$dir/crictl" "$dir/systemctl" "$dir/kubeadm"
}

# start_kubeadm_sshd ID NODE ROOT: a kubeadm node's own sshd (the test bed's
# SSH key, made here when --nodes 0 made none).
start_kubeadm_sshd() {
  ensure_sshd
  local id=$1 node=$2 root=$3 d="$TESTBED_DIR/ssh" port
  mkdir -p "$d" /run/sshd
  chmod 700 "$d"
  if [ ! -f "$d/id_ed25519" ]; then
    ssh-keygen -q -t ed25519 -N '' -f "$d/id_ed25519" -C testbed-client
    cp "$d/id_ed25519.pub" "$d/authorized_keys"
    : >"$d/known_hosts"
  fi
  [ -f "$TESTBED_DIR/node-calls.log" ] || : >"$TESTBED_DIR/node-calls.log"
  write_kubeadm_node_commands "$(kubeadm_dir)/node-bin"
  start_node_sshd "$id" "$node" \
    "TESTBED_NODE=$node TESTBED_NODE_ROOT=$root TESTBED_DIR=$TESTBED_DIR PATH=$(kubeadm_dir)/node-bin:$KUBE_DIR:/usr/local/bin:/usr/bin:/bin"
  port=$(cat "$d/port-$id")
  local ok=""
  for _ in $(seq 1 40); do
    if ssh -q -i "$d/id_ed25519" -o UserKnownHostsFile="$d/known_hosts" -o StrictHostKeyChecking=yes \
      -o BatchMode=yes -p "$port" root@127.0.0.1 true 2>/dev/null; then ok=1; break; fi
    sleep 0.25
  done
  [ -n "$ok" ] || die "sshd for $node on port $port does not accept the test-bed key; log: $TESTBED_DIR/logs/sshd-$id.log"
}

# start_kubeadm_worker DIR: a worker node as `kubeadm join` leaves it, for its
# kubelet's files only (kwok runs the pods): the cluster CA (the kubelet's
# clientCAFile, /etc/kubernetes/pki/ca.crt) and kubelet.conf, written by the
# real `kubeadm init phase kubeconfig kubelet` for the worker's name; the
# kubelet's certificate store and kubelet.conf naming its link, as the kubelet's
# TLS bootstrap leaves them (pkg/kubelet/certificate/bootstrap/bootstrap.go
# writeKubeconfigFromBootstrapping: client-certificate and client-key are the
# store's kubelet-client-current.pem); an sshd of its own.
start_kubeadm_worker() {
  local d=$1 wroot cfg
  wroot=$(kubeadm_worker_root)
  mkdir -p "$wroot/etc/kubernetes/pki"
  cfg="$d/kubeadm-$KUBEADM_WORKER.yaml"
  sed -E "s/^  name: $KUBEADM_NODE\$/  name: $KUBEADM_WORKER/; s#(value: ).*/var/lib/kubelet/pki#\\1$wroot/var/lib/kubelet/pki#" "$d/kubeadm.yaml" >"$cfg"
  run_step "kubeadm init phase kubeconfig kubelet (worker $KUBEADM_WORKER)" "$TESTBED_DIR/logs/kubeadm-worker.log" \
    "$KUBEADM_BIN" init phase kubeconfig kubelet --config "$cfg" --kubeconfig-dir "$wroot/etc/kubernetes"
  cp "$(kubeadm_root)/etc/kubernetes/pki/ca.crt" "$wroot/etc/kubernetes/pki/ca.crt"
  kubelet_store "$wroot"
  sed -i -E "s#^([[:space:]]*)client-certificate-data:.*#\\1client-certificate: $wroot/var/lib/kubelet/pki/kubelet-client-current.pem#; s#^([[:space:]]*)client-key-data:.*#\\1client-key: $wroot/var/lib/kubelet/pki/kubelet-client-current.pem#" \
    "$wroot/etc/kubernetes/kubelet.conf"
  start_kubeadm_sshd kubeadm-worker "$KUBEADM_WORKER" "$wroot"
}

# kubelet_store ROOT: the kubelet's certificate store below ROOT holding the
# certificate and key kubelet.conf embeds (as the kubelet's first start stores them).
kubelet_store() {
  local root=$1 pki stamp
  pki="$root/var/lib/kubelet/pki"
  mkdir -p "$pki"
  stamp=$(date -u +%Y-%m-%d-%H-%M-%S)
  (
    umask 077
    for field in client-certificate-data client-key-data; do
      sed -n -E "s/^[[:space:]]*$field:[[:space:]]*//p" "$root/etc/kubernetes/kubelet.conf" | base64 -d
    done >"$pki/kubelet-client-$stamp.pem"
  )
  ln -sfn "$pki/kubelet-client-$stamp.pem" "$pki/kubelet-client-current.pem"
}

# kubelet_client_rotation DIR ROOT: the node's kubelet client certificate as
# `kubeadm init` leaves it. The kubelet (with client certificate rotation, on by
# default) keeps its certificate and key in its certificate store,
# <cert-dir>/kubelet-client-<time>.pem with the link kubelet-client-current.pem
# (k8s.io/client-go/util/certificate certificate_store.go); here that is the
# certificate kubeadm embedded in kubelet.conf, as the kubelet's first start
# stores it. Then the real `kubeadm init phase kubelet-finalize
# enable-client-cert-rotation` points kubelet.conf at the link, as `kubeadm
# init` does after the kubelet's start (cmd/kubeadm/app/cmd/phases/init/kubeletfinalize.go).
kubelet_client_rotation() {
  local d=$1 root=$2 pki
  pki="$root/var/lib/kubelet/pki"
  kubelet_store "$root"
  write_kubeadm_node_commands "$d/node-bin"
  run_step "kubeadm init phase kubelet-finalize enable-client-cert-rotation" "$TESTBED_DIR/logs/kubeadm-kubelet-finalize.log" \
    env TESTBED_NODE_ROOT="$root" "$d/node-bin/kubeadm" init phase kubelet-finalize enable-client-cert-rotation --config "$d/kubeadm.yaml"
  grep -q "client-certificate: $pki/kubelet-client-current.pem" "$root/etc/kubernetes/kubelet.conf" ||
    die "kubeadm kubelet-finalize did not point kubelet.conf at $pki/kubelet-client-current.pem; log: $TESTBED_DIR/logs/kubeadm-kubelet-finalize.log"
}

# start_kubeadm_cluster FAKE_NODES: the whole kubeadm cluster, ready.
start_kubeadm_cluster() {
  local fake_nodes=$1 d root etcd_port peer_port api_port
  d=$(kubeadm_dir)
  root=$(kubeadm_root)
  mkdir -p "$d" "$root/etc/kubernetes/manifests" "$root/run"
  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  log "kubeadm cluster: the real kubeadm lays out $root/etc/kubernetes"
  start_daemon etcd-kubeadm "$TESTBED_DIR/logs/etcd-kubeadm.log" \
    "$ETCD_BIN" --name etcd-kubeadm --data-dir "$d/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "etcd-kubeadm=http://127.0.0.1:$peer_port" --log-level warn
  kubeadm_config "$d/kubeadm.yaml" "$root" "$api_port" "$etcd_port"
  run_step "kubeadm init phase certs all" "$TESTBED_DIR/logs/kubeadm-certs.log" \
    "$KUBEADM_BIN" init phase certs all --config "$d/kubeadm.yaml"
  run_step "kubeadm init phase kubeconfig all" "$TESTBED_DIR/logs/kubeadm-kubeconfig.log" \
    "$KUBEADM_BIN" init phase kubeconfig all --config "$d/kubeadm.yaml" --kubeconfig-dir "$root/etc/kubernetes"
  kubelet_client_rotation "$d" "$root"
  # The static Pod manifests, as `kubeadm init` writes them to /etc/kubernetes/manifests;
  # --dry-run writes them to KUBEADM_INIT_DRYRUN_DIR instead.
  rm -rf "$root/etc/kubernetes/tmp/dryrun"
  run_step "kubeadm init phase control-plane all (manifests)" "$TESTBED_DIR/logs/kubeadm-control-plane.log" \
    env KUBEADM_INIT_DRYRUN_DIR="$root/etc/kubernetes/tmp/dryrun" \
    "$KUBEADM_BIN" init phase control-plane all --config "$d/kubeadm.yaml" --dry-run
  local m
  for m in kube-apiserver kube-controller-manager kube-scheduler; do
    [ -f "$root/etc/kubernetes/tmp/dryrun/$m.yaml" ] || die "kubeadm wrote no $m.yaml; log: $TESTBED_DIR/logs/kubeadm-control-plane.log"
    mv "$root/etc/kubernetes/tmp/dryrun/$m.yaml" "$root/etc/kubernetes/manifests/$m.yaml"
  done
  rm -rf "$root/etc/kubernetes/tmp"
  cp "$root/etc/kubernetes/super-admin.conf" "$d/kubeconfig"
  chmod 600 "$d/kubeconfig"
  echo "https://127.0.0.1:$api_port" >"$d/url"
  start_daemon kubeadm-static-pods "$TESTBED_DIR/logs/kubeadm-static-pods.log" \
    node -r "$REPO_ROOT/node_modules/ts-node/register/transpile-only" "$TESTBED_SRC/kubeadm/static-pods.ts" \
    --root "$root" --bin "$KUBE_DIR" --logs "$TESTBED_DIR/logs" --state "$root/run/testbed-static-pods" --period 1
  start_kubeadm_sshd kubeadm "$KUBEADM_NODE" "$root"
  start_kubeadm_worker "$d"
  local deadline=$(($(date +%s) + 90))
  until kubeadm_kubectl get --raw /readyz >/dev/null 2>&1; do
    check_alive kubeadm-static-pods
    [ "$(date +%s)" -lt "$deadline" ] || die "the kubeadm cluster's API server is not ready after 90s; log: $TESTBED_DIR/logs/kubeadm-kube-apiserver.log"
    sleep 0.25
  done
  run_step "kubeadm init phase upload-config all, bootstrap-token, addon all" "$TESTBED_DIR/logs/kubeadm-addons.log" \
    bash -c "'$KUBEADM_BIN' init phase upload-config all --config '$d/kubeadm.yaml' --kubeconfig '$d/kubeconfig' &&
      '$KUBEADM_BIN' init phase bootstrap-token --config '$d/kubeadm.yaml' --kubeconfig '$d/kubeconfig' &&
      '$KUBEADM_BIN' init phase addon all --config '$d/kubeadm.yaml' --kubeconfig '$d/kubeconfig'"
  start_kubeadm_kwok "$fake_nodes"
}

# start_kubeadm_kwok N: kwok for N fake nodes. The kubelets it stands in for
# would use kubelet.conf, which the rotation rewrites and which no process
# reads here; kwok connects with a ServiceAccount token instead (signed with
# sa.key, which a CA rotation leaves alone) and does not verify the server,
# so it keeps working through every phase, as restarted kubelets would.
start_kubeadm_kwok() {
  local n=$1 d token k
  d=$(kubeadm_dir)
  # kubeadm init binds its admin group (admin.conf's kubernetes-admin is in
  # kubeadm:cluster-admins) to cluster-admin; no single phase does, so here it is
  # (https://kubernetes.io/docs/reference/setup-tools/kubeadm/implementation-details/).
  kubeadm_kubectl create clusterrolebinding kubeadm:cluster-admins --clusterrole cluster-admin --group kubeadm:cluster-admins >/dev/null
  kubeadm_kubectl -n kube-system create serviceaccount testbed-kwok >/dev/null
  kubeadm_kubectl create clusterrolebinding testbed-kwok --clusterrole cluster-admin --serviceaccount kube-system:testbed-kwok >/dev/null
  token=$(kubeadm_kubectl -n kube-system create token testbed-kwok --duration 87600h)
  cat >"$d/kwok.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubeadm
  cluster: {server: $(cat "$d/url"), insecure-skip-tls-verify: true}
users:
- name: kwok
  user: {token: $token}
contexts:
- name: kubeadm
  context: {cluster: kubeadm, user: kwok}
current-context: kubeadm
EOF
  chmod 600 "$d/kwok.kubeconfig"
  start_daemon kwok-kubeadm "$TESTBED_DIR/logs/kwok-kubeadm.log" \
    "$KWOK_BIN" --kubeconfig "$d/kwok.kubeconfig" --config "$TESTBED_SRC/kwok/stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.244.0.0/16 --node-ip 127.0.0.1 --node-lease-duration-seconds 40
  for k in $(seq 1 "$n"); do
    printf '%s\n' \
      "apiVersion: v1" "kind: Node" "metadata:" "  name: kubeadm-node-$k" \
      "  annotations: {kwok.x-k8s.io/node: fake}" \
      "  labels:" "    kubernetes.io/hostname: kubeadm-node-$k" "    kubernetes.io/os: linux" \
      "    kubernetes.io/arch: amd64" "    type: kwok"
    echo "---"
  done | kubeadm_kubectl create -f - >/dev/null
  local deadline=$(($(date +%s) + 90)) pending
  while :; do
    pending=$(kubeadm_kubectl get deployments,daemonsets -A -o jsonpath='{range .items[*]}{.kind}/{.metadata.name} {.status.readyReplicas}{.status.numberReady} {.status.replicas}{.status.desiredNumberScheduled}{"\n"}{end}' | awk '$2 != $3 || $3 == "" || $3 == 0 {print $1}')
    [ -z "$pending" ] && break
    check_alive kwok-kubeadm
    [ "$(date +%s)" -lt "$deadline" ] || die "kubeadm cluster: not ready after 90s: $pending"
    sleep 0.5
  done
  log "kubeadm cluster ready at $(cat "$d/url"): CoreDNS and kube-proxy run on $n fake node(s)"
}

# kubeadm_env_lines: the env file's lines for the kubeadm cluster.
kubeadm_env_lines() {
  local d root
  d=$(kubeadm_dir)
  root=$(kubeadm_root)
  echo "export TESTBED_KUBEADM_KUBECONFIG='$d/kubeconfig'"
  echo "export TESTBED_KUBEADM_APISERVER='$(cat "$d/url")'"
  echo "export TESTBED_KUBEADM_CONFIG='$d/kubeadm.yaml'"
  echo "export TESTBED_KUBEADM_NODE='$KUBEADM_NODE'"
  echo "export TESTBED_KUBEADM_NODE_ROOT='$root'"
  echo "export TESTBED_KUBEADM_SSH_PORT=$(cat "$TESTBED_DIR/ssh/port-kubeadm")"
  echo "export TESTBED_KUBEADM_SSH_HOST_KEY='$TESTBED_DIR/ssh/host-kubeadm.pub'"
  echo "export TESTBED_KUBEADM_SSH_KEY='$TESTBED_DIR/ssh/id_ed25519'"
  echo "export TESTBED_KUBEADM_NODE_CALLS='$TESTBED_DIR/node-calls.log'"
  echo "export TESTBED_KUBEADM_WORKER='$KUBEADM_WORKER'"
  echo "export TESTBED_KUBEADM_WORKER_ROOT='$(kubeadm_worker_root)'"
  echo "export TESTBED_KUBEADM_WORKER_SSH_PORT=$(cat "$TESTBED_DIR/ssh/port-kubeadm-worker")"
  echo "export TESTBED_KUBEADM_WORKER_SSH_HOST_KEY='$TESTBED_DIR/ssh/host-kubeadm-worker.pub'"
}
