# Cluster profiles: what a real cluster of each kind runs, installed on a
# test-bed cluster after its controllers and fake nodes are up.
#   bare           nothing beyond Kubernetes itself
#   rancher-local  the Rancher server ("local") cluster: cert-manager's API, the
#                  Rancher chart (test/fixtures/charts/rancher) with its own CA,
#                  what Rancher deploys there (profiles/rancher-local.yaml), and
#                  the Rancher model (rancher-model/) serving https://$RANCHER_HOSTNAME
#   rke1           RKE1 downstream cluster of Rancher 2.8 (profiles/rke1.yaml)
#   rke2           RKE2 downstream cluster of Rancher 2.9+ (profiles/rke2.yaml)
#   rancher-2.12   downstream cluster of Rancher 2.12+ (profiles/rancher-2.12.yaml)
# Downstream agents are installed with the CATTLE_CA_CHECKSUM of what the
# model serves at that moment, as Rancher renders them.
# shellcheck shell=bash

PROFILES="bare rancher-local rke1 rke2 rancher-2.12"
RANCHER_HOSTNAME=${TESTBED_RANCHER_HOSTNAME:-rancher.testbed.test}

# parse_profiles LIST N: sets CLUSTER_PROFILE[1..N] from a comma list with one
# profile, or one per cluster.
parse_profiles() {
  local list=$1 n=$2 i p
  local -a given
  IFS=',' read -r -a given <<<"$list"
  if [ "${#given[@]}" -ne 1 ] && [ "${#given[@]}" -ne "$n" ]; then
    die "--profile takes one profile or one per cluster ($n), not ${#given[@]}: '$list'"
  fi
  CLUSTER_PROFILE=()
  local locals=0
  for i in $(seq 1 "$n"); do
    p=${given[$(( ${#given[@]} == 1 ? 0 : i - 1 ))]}
    case " $PROFILES " in *" $p "*) ;; *) die "unknown profile '$p'; profiles: $PROFILES" ;; esac
    [ "$p" = rancher-local ] && locals=$((locals + 1))
    CLUSTER_PROFILE[$i]=$p
  done
  [ "$locals" -le 1 ] || die "only one cluster can have the rancher-local profile (one Rancher server per test bed)"
  for i in $(seq 1 "$n"); do
    case ${CLUSTER_PROFILE[$i]} in
      bare|rancher-local) ;;
      *) [ "$locals" = 1 ] || die "profile ${CLUSTER_PROFILE[$i]} (cluster $i) is a downstream cluster of Rancher: give another cluster the rancher-local profile, e.g. --profile rancher-local,${CLUSTER_PROFILE[$i]}" ;;
    esac
  done
}

# rancher_cluster: the index of the rancher-local cluster, or nothing.
rancher_cluster() {
  local i
  for i in "${!CLUSTER_PROFILE[@]}"; do
    [ "${CLUSTER_PROFILE[$i]}" = rancher-local ] && { echo "$i"; return 0; }
  done
  return 0
}

install_profiles() {
  local n=$1 i r
  r=$(rancher_cluster)
  if [ -n "$r" ]; then
    wait "$RANCHER_INSTALL_PID" || die "installing Rancher on cluster $r failed (see above)"
    log "Rancher serves $RANCHER_URL (cluster $r)"
  fi
  local pids=()
  for i in $(seq 1 "$n"); do
    case ${CLUSTER_PROFILE[$i]} in
      bare|rancher-local) ;;
      *) apply_profile_manifest "$i" "${CLUSTER_PROFILE[$i]}" & pids+=($!) ;;
    esac
  done
  for i in "${pids[@]}"; do wait "$i" || exit 1; done
  [ -z "$r" ] || create_rancher_clusters "$r" "$n"
  log "profiles applied; waiting for their workloads to be Ready"
  for i in $(seq 1 "$n"); do
    [ "${CLUSTER_PROFILE[$i]}" = bare ] || wait_workloads "$i" 60
  done
}

# rancher_cluster_id I: the clusters.management.cattle.io name Rancher gives
# cluster I: "local" for the server cluster; a legacy id c-XXXXX (5 of [a-z0-9],
# mgmtNameRegexp) for rke1; a v2-provisioned id c-m-XXXXXXXX (mgmtClusterName)
# for rke2 and rancher-2.12 (rancher/rancher
# pkg/controllers/provisioningv2/cluster/controller.go). Nothing for bare.
rancher_cluster_id() {
  case ${CLUSTER_PROFILE[$1]} in
    rancher-local) echo local ;;
    rke1) printf 'c-tbd%02d\n' "$1" ;;
    rke2|rancher-2.12) printf 'c-m-testbd%02d\n' "$1" ;;
  esac
}

# fleet_cluster_name I: the clusters.fleet.cattle.io name (namespace
# fleet-default) of downstream cluster I: the provisioning cluster's name, which
# is the management id for a legacy (RKE1) cluster and the user's cluster name
# (here testbed-I) for a v2-provisioned one (rancher/rancher
# pkg/controllers/provisioningv2/fleetcluster/fleetcluster.go, createCluster;
# cluster/controller.go, generateProvisioningClusterFromLegacyCluster).
fleet_cluster_name() {
  case ${CLUSTER_PROFILE[$1]} in
    rke1) rancher_cluster_id "$1" ;;
    rke2|rancher-2.12) echo "testbed-$1" ;;
  esac
}

# create_rancher_clusters R N: on the server cluster R, Rancher's objects for
# the local cluster and each downstream cluster: clusters.management.cattle.io
# <id> (spec.displayName testbed-I, "local" for R) and, for downstream
# clusters, clusters.fleet.cattle.io fleet-default/<name>, all labelled
# testbed.cert-rotation/cluster=testbed-I. The Rancher model fills their status
# and acts on them (method 1, Fleet force update). The rke1 cluster's object
# and the rke2 cluster's provisioning cluster carry
# testbed.cert-rotation/standin-nodes=true: the stand-in nodes (--nodes) are
# their machines, and Rancher's certificate rotation runs on them.
create_rancher_clusters() {
  local r=$1 n=$2 i id fleet
  {
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: fleet-default}\n'
    for i in $(seq 1 "$n"); do
      id=$(rancher_cluster_id "$i")
      [ -n "$id" ] || continue
      cat <<EOF
---
apiVersion: management.cattle.io/v3
kind: Cluster
metadata:
  name: $id
  labels: {testbed.cert-rotation/cluster: testbed-$i}
$([ "${CLUSTER_PROFILE[$i]}" = rke1 ] && printf '  annotations: {testbed.cert-rotation/standin-nodes: "true"}\n')
spec:
  displayName: $([ "$i" = "$r" ] && echo local || echo "testbed-$i")
  internal: $([ "$i" = "$r" ] && echo true || echo false)
  fleetWorkspaceName: $([ "$i" = "$r" ] && echo fleet-local || echo fleet-default)
$([ "${CLUSTER_PROFILE[$i]}" = rke1 ] && printf '  rancherKubernetesEngineConfig: {kubernetesVersion: v1.28.15-rancher1-1}\n')
EOF
      fleet=$(fleet_cluster_name "$i")
      [ -n "$fleet" ] || continue
      cat <<EOF
---
apiVersion: fleet.cattle.io/v1alpha1
kind: Cluster
metadata:
  name: $fleet
  namespace: fleet-default
  labels:
    management.cattle.io/cluster-name: $id
    management.cattle.io/cluster-display-name: testbed-$i
    testbed.cert-rotation/cluster: testbed-$i
spec:
  kubeConfigSecret: $fleet-kubeconfig
  kubeConfigSecretNamespace: fleet-default
EOF
      # An RKE2 cluster Rancher provisioned: its provisioning cluster and control plane (the model fills
      # their status as after provisioning and acts on spec.rkeConfig.rotateCertificates).
      case ${CLUSTER_PROFILE[$i]} in
        rke2|rancher-2.12) cat <<EOF
---
apiVersion: provisioning.cattle.io/v1
kind: Cluster
metadata:
  name: testbed-$i
  namespace: fleet-default
  labels: {testbed.cert-rotation/cluster: testbed-$i}
$([ "${CLUSTER_PROFILE[$i]}" = rke2 ] && printf '  annotations: {testbed.cert-rotation/standin-nodes: "true"}\n')
spec:
  kubernetesVersion: v1.33.3+rke2r1
  rkeConfig: {}
---
apiVersion: rke.cattle.io/v1
kind: RKEControlPlane
metadata:
  name: testbed-$i
  namespace: fleet-default
  labels: {testbed.cert-rotation/cluster: testbed-$i}
spec:
  kubernetesVersion: v1.33.3+rke2r1
  managementClusterName: $id
EOF
        ;;
      esac
    done
  } | kube "$r" apply -f - >"$TESTBED_DIR/logs/rancher-clusters.log" 2>&1 \
    || die "creating Rancher's cluster objects on cluster $r failed; log: $TESTBED_DIR/logs/rancher-clusters.log"
}

# start_rancher_model N: when a cluster has the rancher-local profile, starts the
# Rancher install in the background and the Rancher model (it waits for what it
# watches, clusters 1..N).
start_rancher_model() {
  local n=$1 r
  r=$(rancher_cluster)
  [ -n "$r" ] || return 0
  RANCHER_PORT=$(free_port)
  RANCHER_URL="https://$RANCHER_HOSTNAME:$RANCHER_PORT"
  start_daemon rancher-model "$TESTBED_DIR/logs/rancher-model.log" \
    node -r "$REPO_ROOT/node_modules/ts-node/register/transpile-only" "$TESTBED_SRC/rancher-model/main.ts" \
    --testbed-dir "$TESTBED_DIR" --server-cluster "$r" --clusters "$(seq -s, 1 "$n")" \
    --port "$RANCHER_PORT" --hostname "$RANCHER_HOSTNAME"
  # The Rancher install runs while the fake nodes come up; install_profiles waits for it.
  install_rancher_local "$r" "$n" &
  RANCHER_INSTALL_PID=$!
}

# install_rancher_local I N: Rancher on cluster I (its model already started).
install_rancher_local() {
  local i=$1 n=$2 d="$TESTBED_DIR/clusters/$1"
  kube "$i" apply -f "$TESTBED_SRC/crds/cert-manager.yaml" -f "$TESTBED_SRC/crds/rancher-clusters.yaml" >/dev/null
  kube "$i" wait --for=condition=Established crd/issuers.cert-manager.io crd/clusters.management.cattle.io crd/clusters.fleet.cattle.io crd/clusters.provisioning.cattle.io crd/rkecontrolplanes.rke.cattle.io --timeout=30s >/dev/null
  kube "$i" create namespace cattle-system >/dev/null
  "$HELM_BIN" install rancher "$REPO_ROOT/test/fixtures/charts/rancher" --namespace cattle-system \
    --kubeconfig "$d/kubeconfig" --set "hostname=$RANCHER_HOSTNAME" >"$TESTBED_DIR/logs/helm-rancher.log" 2>&1 \
    || die "helm install of the Rancher chart failed; log: $TESTBED_DIR/logs/helm-rancher.log"
  local deadline=$(($(date +%s) + 60))
  until rancher_cacerts >/dev/null 2>&1; do
    check_alive rancher-model
    [ "$(date +%s)" -lt "$deadline" ] || die "the Rancher model does not serve /v3/settings/cacerts after 60s; log: $TESTBED_DIR/logs/rancher-model.log"
    sleep 0.2
  done
  apply_profile_manifest "$i" rancher-local
}

# rancher_cacerts: the value the model serves now (as an agent downloads it).
rancher_cacerts() {
  curl -sfk --max-time 2 --resolve "$RANCHER_HOSTNAME:$RANCHER_PORT:127.0.0.1" "$RANCHER_URL/v3/settings/cacerts" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).value))'
}

# apply_profile_manifest I PROFILE: the profile's workloads, agents rendered
# with the server URL and the checksum of what Rancher serves now.
apply_profile_manifest() {
  local i=$1 p=$2 file="$TESTBED_SRC/profiles/$2.yaml" checksum="" server="https://$RANCHER_HOSTNAME"
  [ -f "$file" ] || die "profile $p has no manifest ($file)"
  if [ -n "${RANCHER_URL:-}" ]; then
    local value
    value=$(rancher_cacerts) || die "cannot read cacerts from the Rancher model at $RANCHER_URL"
    [ -n "$value" ] && checksum=$(printf '%s\n' "$value" | sha256sum | cut -d' ' -f1)
    server=$RANCHER_URL
  fi
  CATTLE_SERVER=$server CATTLE_CA_CHECKSUM=$checksum node -e '
    const fs = require("fs");
    process.stdout.write(fs.readFileSync(process.argv[1], "utf8")
      .replace(/\$\{(CATTLE_SERVER|CATTLE_CA_CHECKSUM)\}/g, (_, k) => process.env[k]));
  ' "$file" | kube "$i" apply -f - >"$TESTBED_DIR/logs/profile-$i.log" 2>&1 \
    || die "applying profile $p to cluster $i failed; log: $TESTBED_DIR/logs/profile-$i.log"
}

# wait_workloads I SECONDS: until every Deployment, DaemonSet and StatefulSet of
# cluster I has all its pods updated and ready.
wait_workloads() {
  local i=$1 limit=$2 pending
  local deadline=$(($(date +%s) + limit))
  while :; do
    pending=$(kube "$i" get deployments,daemonsets,statefulsets -A -o json | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const out = [];
        for (const w of JSON.parse(s).items) {
          const st = w.status ?? {};
          const want = w.kind === "DaemonSet" ? st.desiredNumberScheduled : w.spec.replicas ?? 1;
          const ready = w.kind === "DaemonSet" ? st.numberReady : st.readyReplicas;
          const updated = w.kind === "DaemonSet" ? st.updatedNumberScheduled : st.updatedReplicas;
          if (!want || ready !== want || updated !== want || st.observedGeneration !== w.metadata.generation) out.push(`${w.kind}/${w.metadata.namespace}/${w.metadata.name}`);
        }
        process.stdout.write(out.join(" "));
      });')
    [ -z "$pending" ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || die "cluster $i: not ready after ${limit}s: $pending"
    sleep 0.2
  done
}
