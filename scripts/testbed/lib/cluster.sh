# Starts local Kubernetes control planes envtest-style (etcd + kube-apiserver on
# loopback, no kubelet, no controllers) and an sshd that stands in for nodes.
# shellcheck shell=bash

# make_cert DIR NAME CA_NAME SUBJ [EXT]: an EC P-256 key and a certificate signed
# by CA_NAME (or self-signed CA when CA_NAME is "self").
make_cert() {
  local dir=$1 name=$2 ca=$3 subj=$4 ext=${5:-}
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key" 2>/dev/null
  chmod 600 "$dir/$name.key"
  if [ "$ca" = self ]; then
    openssl req -x509 -new -key "$dir/$name.key" -subj "$subj" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$dir/$name.crt" 2>/dev/null
  else
    openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null
    printf '%s\n' "$ext" >"$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -CAcreateserial \
      -days 365 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
    rm -f "$dir/$name.csr" "$dir/$name.ext"
  fi
}

# cluster_pki DIR: serving CA + serving cert, client CA + admin (system:masters),
# service-account signing key.
cluster_pki() {
  local d=$1
  mkdir -p "$d"
  make_cert "$d" serving-ca self "/CN=testbed-serving-ca"
  make_cert "$d" apiserver serving-ca "/CN=kube-apiserver" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature,keyEncipherment"
  make_cert "$d" client-ca self "/CN=testbed-client-ca"
  make_cert "$d" admin client-ca "/O=system:masters/CN=testbed-admin" \
    "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature,keyEncipherment"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/sa.key" 2>/dev/null
  openssl pkey -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

# write_kubeconfig FILE NAME SERVER DIR
write_kubeconfig() {
  local file=$1 name=$2 server=$3 d=$4
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $name
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$d/serving-ca.crt")
users:
- name: $name-admin
  user:
    client-certificate-data: $(base64 -w0 "$d/admin.crt")
    client-key-data: $(base64 -w0 "$d/admin.key")
contexts:
- name: $name
  context:
    cluster: $name
    user: $name-admin
current-context: $name
EOF
  chmod 600 "$file"
}

# wait_ready NAME URL DIR SECONDS
wait_ready() {
  local name=$1 url=$2 d=$3 limit=$4 i
  for i in $(seq 1 $((limit * 4))); do
    if curl -sf --max-time 2 --cacert "$d/serving-ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" "$url/readyz" >/dev/null 2>&1; then
      return 0
    fi
    if ! running "$(cat "$TESTBED_DIR/pids/$name.pid")"; then
      die "$name exited while starting; its log ($TESTBED_DIR/logs/$name.log) ends with:
$(tail -n 20 "$TESTBED_DIR/logs/$name.log")"
    fi
    sleep 0.25
  done
  die "$name did not become ready at $url/readyz within ${limit}s; log: $TESTBED_DIR/logs/$name.log"
}

# start_cluster I: etcd + kube-apiserver for cluster I.
start_cluster() {
  local i=$1 d="$TESTBED_DIR/clusters/$i"
  local etcd_port peer_port api_port
  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  cluster_pki "$d/pki"
  start_daemon "etcd-$i" "$TESTBED_DIR/logs/etcd-$i.log" \
    "$ETCD_BIN" --name "etcd-$i" --data-dir "$d/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "etcd-$i=http://127.0.0.1:$peer_port" --log-level warn
  local url="https://127.0.0.1:$api_port"
  start_daemon "kube-apiserver-$i" "$TESTBED_DIR/logs/kube-apiserver-$i.log" \
    "$APISERVER_BIN" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --cert-dir "$d/certs" --tls-cert-file "$d/pki/apiserver.crt" --tls-private-key-file "$d/pki/apiserver.key" \
    --secure-port "$api_port" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
    --service-cluster-ip-range 10.0.0.0/24 --allow-privileged=true \
    --disable-admission-plugins ServiceAccount --authorization-mode RBAC \
    --service-account-issuer "$url" --service-account-key-file "$d/pki/sa.pub" \
    --service-account-signing-key-file "$d/pki/sa.key" --client-ca-file "$d/pki/client-ca.crt"
  write_kubeconfig "$d/kubeconfig" "testbed-$i" "$url" "$d/pki"
  echo "$url" >"$d/url"
}

# start_controllers I: kube-controller-manager, kube-scheduler and kwok for
# cluster I, once its API server answers. The controller manager publishes
# --root-ca-file as every namespace's kube-root-ca.crt ConfigMap, as kubeadm
# sets it up; none of the three serves HTTPS (--secure-port 0).
start_controllers() {
  local i=$1 d="$TESTBED_DIR/clusters/$i"
  start_daemon "kube-controller-manager-$i" "$TESTBED_DIR/logs/kube-controller-manager-$i.log" \
    "$CONTROLLER_MANAGER_BIN" --kubeconfig "$d/kubeconfig" --secure-port 0 --leader-elect=false \
    --root-ca-file "$d/pki/serving-ca.crt" --service-account-private-key-file "$d/pki/sa.key" \
    --cluster-signing-cert-file "$d/pki/client-ca.crt" --cluster-signing-key-file "$d/pki/client-ca.key" \
    --use-service-account-credentials=false --kube-api-qps 200 --kube-api-burst 400 \
    --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10 --concurrent-daemonset-syncs 10 \
    --concurrent-namespace-syncs 10
  start_daemon "kube-scheduler-$i" "$TESTBED_DIR/logs/kube-scheduler-$i.log" \
    "$SCHEDULER_BIN" --kubeconfig "$d/kubeconfig" --secure-port 0 --leader-elect=false \
    --kube-api-qps 200 --kube-api-burst 400
  start_daemon "kwok-$i" "$TESTBED_DIR/logs/kwok-$i.log" \
    "$KWOK_BIN" --kubeconfig "$d/kubeconfig" --config "$TESTBED_SRC/kwok/stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr "10.$((100 + i)).0.0/16" --node-ip 127.0.0.1 --node-lease-duration-seconds 40
}

# add_fake_nodes I N: N nodes in cluster I that kwok runs. They carry the
# labels the distributions' workloads select on (every role), and no taints.
add_fake_nodes() {
  local i=$1 n=$2 k
  for k in $(seq 1 "$n"); do
    printf '%s\n' \
      "apiVersion: v1" "kind: Node" "metadata:" "  name: testbed-$i-node-$k" \
      "  annotations: {kwok.x-k8s.io/node: fake}" \
      "  labels:" "    kubernetes.io/hostname: testbed-$i-node-$k" "    kubernetes.io/os: linux" \
      "    kubernetes.io/arch: amd64" "    node-role.kubernetes.io/control-plane: 'true'" \
      "    node-role.kubernetes.io/controlplane: 'true'" "    node-role.kubernetes.io/etcd: 'true'" \
      "    node-role.kubernetes.io/worker: 'true'" "    type: kwok"
    echo "---"
  done | kube "$i" create -f - >/dev/null
}

# kube I ARGS...: the test bed's real kubectl against cluster I.
kube() {
  local i=$1
  shift
  "$KUBECTL_BIN" --kubeconfig "$TESTBED_DIR/clusters/$i/kubeconfig" "$@"
}

# check_alive NAME: fails with the end of NAME's log when it has exited.
check_alive() {
  local name=$1
  if ! running "$(cat "$TESTBED_DIR/pids/$name.pid")"; then
    die "$name exited; its log ($TESTBED_DIR/logs/$name.log) ends with:
$(tail -n 20 "$TESTBED_DIR/logs/$name.log")"
  fi
}

# wait_nodes_ready I N SECONDS: until cluster I has N Ready nodes (kwok works).
wait_nodes_ready() {
  local i=$1 n=$2 limit=$3 ready=0
  local deadline=$(($(date +%s) + limit))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    ready=$(kube "$i" get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c True || true)
    [ "$ready" -ge "$n" ] && return 0
    check_alive "kwok-$i"
    check_alive "kube-controller-manager-$i"
    sleep 0.2
  done
  die "cluster $i has $ready of $n nodes Ready after ${limit}s; kwok's log: $TESTBED_DIR/logs/kwok-$i.log"
}

# merge_kubeconfigs N FILE: one kubeconfig with a context per cluster.
merge_kubeconfigs() {
  local n=$1 file=$2 i
  {
    echo "apiVersion: v1"
    echo "kind: Config"
    echo "current-context: testbed-1"
    echo "clusters:"
    for i in $(seq 1 "$n"); do sed -n '/^clusters:/,/^users:/p' "$TESTBED_DIR/clusters/$i/kubeconfig" | sed '1d;$d'; done
    echo "users:"
    for i in $(seq 1 "$n"); do sed -n '/^users:/,/^contexts:/p' "$TESTBED_DIR/clusters/$i/kubeconfig" | sed '1d;$d'; done
    echo "contexts:"
    for i in $(seq 1 "$n"); do sed -n '/^contexts:/,/^current-context:/p' "$TESTBED_DIR/clusters/$i/kubeconfig" | sed '1d;$d'; done
  } >"$file"
  chmod 600 "$file"
}

ensure_sshd() {
  [ -x /usr/sbin/sshd ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "sshd is missing and apt-get is not available; install openssh-server"
  run_step "install openssh-server (Debian package)" "$CACHE_DIR/logs/apt-openssh.log" \
    bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server'
}

# start_node_sshd ID NODE SETENV: one sshd on a free loopback port for stand-in
# node NODE (its files in $TESTBED_DIR/ssh named after ID: host-ID, sshd-ID.conf,
# port-ID), key login only, SETENV as its sessions' environment.
# SHLVL=1: bash then does not read ~/.bashrc for an SSH command (it does when
# SHLVL is unset), so a stand-in node runs commands with its SetEnv PATH and
# none of this machine's login set-up (which took 10 s per session on a
# machine whose root .bashrc ran pyenv init).
start_node_sshd() {
  local id=$1 node=$2 setenv=$3 d="$TESTBED_DIR/ssh" port
  port=$(free_port)
  ssh-keygen -q -t ed25519 -N '' -f "$d/host-$id" -C "$node"
  cat >"$d/sshd-$id.conf" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $d/host-$id
PidFile $d/sshd-$id.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv SHLVL=1 $setenv
EOF
  start_daemon "sshd-$id" "$TESTBED_DIR/logs/sshd-$id.log" /usr/sbin/sshd -D -e -f "$d/sshd-$id.conf"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$d/host-$id.pub")" >>"$d/known_hosts"
  echo "$port" >"$d/port-$id"
}

# start_sshd_nodes N: one sshd per stand-in node on loopback, each with its own
# host key and TESTBED_NODE name; root logs in with a generated key.
start_sshd_nodes() {
  local n=$1 i
  [ "$n" -gt 0 ] || return 0
  ensure_sshd
  local d="$TESTBED_DIR/ssh"
  mkdir -p "$d" /run/sshd
  chmod 700 "$d"
  ssh-keygen -q -t ed25519 -N '' -f "$d/id_ed25519" -C testbed-client
  cp "$d/id_ed25519.pub" "$d/authorized_keys"
  write_node_commands "$TESTBED_DIR/node-bin"
  : >"$TESTBED_DIR/node-calls.log"
  : >"$d/known_hosts"
  for i in $(seq 1 "$n"); do
    start_node_sshd "$i" "node-$i" "TESTBED_NODE=node-$i TESTBED_NODE_ROOT=$TESTBED_DIR/nodes/node-$i/root PATH=$TESTBED_DIR/node-bin:/usr/local/bin:/usr/bin:/bin"
  done
  for i in $(seq 1 "$n"); do
    local port ok=""
    port=$(cat "$d/port-$i")
    for _ in $(seq 1 40); do
      if ssh -q -i "$d/id_ed25519" -o UserKnownHostsFile="$d/known_hosts" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -p "$port" root@127.0.0.1 true 2>/dev/null; then ok=1; break; fi
      sleep 0.25
    done
    [ -n "$ok" ] || die "sshd for node-$i on port $port does not accept the test-bed key; log: $TESTBED_DIR/logs/sshd-$i.log"
  done
  init_node_roots "$n"
}
