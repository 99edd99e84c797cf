# Builds (or finds in the cache) every binary the test bed runs, from Go modules.
# The cache lives outside the repository, keyed by version, so a warm `up` only
# checks that the files exist.
# shellcheck shell=bash

export GOFLAGS="-buildvcs=false -trimpath"
export CGO_ENABLED=0

GO_LDFLAGS="-s -w"

require_go() {
  command -v go >/dev/null 2>&1 || die "go is not on PATH; the test bed builds etcd, kube-apiserver, helm and the Terraform providers from Go modules. Install Go 1.25 or newer."
}

# content_key DIR: a short hash of a wrapper module's files, so a change to the
# wrapper rebuilds it.
content_key() {
  cat "$1"/go.mod "$1"/go.sum "$1"/*.go | sha256sum | cut -c1-12
}

# log_name TEXT: a file name for a step's log.
log_name() {
  printf '%s' "$1" | tr -c 'A-Za-z0-9.-' '_' | cut -c1-80
}

# build_wrapper NAME DIR OUT [LDFLAGS]: builds a wrapper module from the repository.
build_wrapper() {
  local name=$1 dir=$2 out=$3 ldflags=${4:-}
  [ -x "$out" ] && return 0
  require_go
  local tmp="$out.tmp.$$"
  mkdir -p "$(dirname "$out")"
  run_step "build $name (cold build, a few minutes)" "$CACHE_DIR/logs/$(log_name "$name").log" \
    bash -c "cd '$dir' && go build -ldflags '$GO_LDFLAGS $ldflags' -o '$tmp' ."
  mv "$tmp" "$out"
}

build_etcd() {
  local dir="$TESTBED_SRC/go/etcd"
  ETCD_BIN="$CACHE_DIR/bin/etcd-$ETCD_VERSION-$(content_key "$dir")/etcd"
  build_wrapper "etcd $ETCD_VERSION" "$dir" "$ETCD_BIN"
}

# build_kube: one multi-call binary (go/kube) for kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl and kubeadm, with a link per
# program name next to it.
build_kube() {
  local dir="$TESTBED_SRC/go/kube" v=$KUBERNETES_VERSION
  local minor=${v#v1.}
  minor=${minor%%.*}
  KUBE_DIR="$CACHE_DIR/bin/kube-$v-$(content_key "$dir")"
  build_wrapper "Kubernetes $v (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubeadm)" "$dir" "$KUBE_DIR/kube" \
    "-X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  local p
  for p in kube-apiserver kube-controller-manager kube-scheduler kubectl kubeadm; do
    [ -L "$KUBE_DIR/$p" ] || ln -sfn kube "$KUBE_DIR/$p"
  done
  APISERVER_BIN="$KUBE_DIR/kube-apiserver"
  CONTROLLER_MANAGER_BIN="$KUBE_DIR/kube-controller-manager"
  SCHEDULER_BIN="$KUBE_DIR/kube-scheduler"
  KUBECTL_BIN="$KUBE_DIR/kubectl"
  KUBEADM_BIN="$KUBE_DIR/kubeadm"
}

# build_kwok: kwok simulates the kubelets of fake nodes (pods become Ready
# without containers), built from its own Go module.
build_kwok() {
  local dir="$CACHE_DIR/bin/kwok-$KWOK_VERSION"
  KWOK_BIN="$dir/kwok"
  [ -x "$KWOK_BIN" ] || go_install_to "kwok $KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "$dir"
}

# go_install_to NAME PKG@VERSION OUTDIR: `go install` into a cache directory.
go_install_to() {
  local name=$1 spec=$2 outdir=$3
  require_go
  mkdir -p "$outdir.tmp.$$"
  run_step "build $name (cold build, a few minutes)" "$CACHE_DIR/logs/$(log_name "$name").log" \
    env GOBIN="$outdir.tmp.$$" go install -ldflags "$GO_LDFLAGS" "$spec"
  rm -rf "$outdir"
  mv "$outdir.tmp.$$" "$outdir"
}

build_helm() {
  local dir="$CACHE_DIR/bin/helm-$HELM_VERSION"
  HELM_BIN="$dir/helm"
  [ -x "$HELM_BIN" ] || go_install_to "helm $HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$dir"
}

# build_actionlint: the GitHub Actions workflow linter, for the pipeline kit
# (examples/pipelines/github); scripts/test.sh lints the workflow with it.
build_actionlint() {
  local dir="$CACHE_DIR/bin/actionlint-$ACTIONLINT_VERSION"
  ACTIONLINT_BIN="$dir/actionlint"
  [ -x "$ACTIONLINT_BIN" ] || go_install_to "actionlint $ACTIONLINT_VERSION" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" "$dir"
}

# build_providers: builds each provider of versions.env and lays them out as a
# filesystem mirror under both registry hosts (Terraform's and OpenTofu's).
build_providers() {
  local key line name module query label
  key=$(printf '%s' "$PROVIDERS" | sha256sum | cut -c1-12)
  MIRROR_DIR="$CACHE_DIR/mirror-$key"
  while IFS='|' read -r name module query label; do
    [ -n "$name" ] || continue
    local built="$CACHE_DIR/bin/terraform-provider-$name-$query"
    if [ ! -x "$built/terraform-provider-$name" ]; then
      go_install_to "provider $name $label ($module@$query)" "$module@$query" "$built"
      # go install names the binary after the module path's last element.
      [ -x "$built/terraform-provider-$name" ] || mv "$built"/terraform-provider-* "$built/terraform-provider-$name"
    fi
    local host
    for host in registry.terraform.io registry.opentofu.org; do
      local target="$MIRROR_DIR/$host/hashicorp/$name/$label/linux_amd64"
      if [ ! -x "$target/terraform-provider-${name}_v$label" ]; then
        mkdir -p "$target"
        cp "$built/terraform-provider-$name" "$target/terraform-provider-${name}_v$label"
      fi
    done
  done <<<"$PROVIDERS"
}

# engine_version BIN: prints the x.y.z version of a terraform or tofu binary.
engine_version() {
  "$1" version -json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{process.stdout.write(JSON.parse(s).terraform_version)}catch{}})'
}

# find_engine: TERRAFORM_BINARY_NAME, else terraform on PATH, when >= 1.11;
# otherwise OpenTofu built from its Go module.
find_engine() {
  local candidate v
  for candidate in "${TERRAFORM_BINARY_NAME:-}" terraform; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    v=$(engine_version "$(command -v "$candidate")")
    if [ -n "$v" ] && version_ge "$v" "$ENGINE_MIN_VERSION"; then
      ENGINE_BIN=$(command -v "$candidate")
      ENGINE_DESC="$candidate $v"
      return 0
    fi
    log "$candidate ${v:-(version unknown)} is older than $ENGINE_MIN_VERSION (write-only attributes need it); looking further"
  done
  build_opentofu
  ENGINE_BIN=$TOFU_BIN
  ENGINE_DESC="OpenTofu $OPENTOFU_VERSION (built)"
}

# OpenTofu's go.mod has a replace directive, so `go install …@version` refuses
# it: build from a copy of the downloaded module instead.
build_opentofu() {
  local dir="$CACHE_DIR/bin/tofu-$OPENTOFU_VERSION"
  TOFU_BIN="$dir/tofu"
  [ -x "$TOFU_BIN" ] && return 0
  require_go
  local src="$CACHE_DIR/src/opentofu-$OPENTOFU_VERSION"
  if [ ! -f "$src/go.mod" ]; then
    local modjson="$CACHE_DIR/logs/opentofu-download.json"
    run_step "download OpenTofu $OPENTOFU_VERSION module" "$modjson" \
      go mod download -json "github.com/opentofu/opentofu@$OPENTOFU_VERSION"
    local moddir
    moddir=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).Dir)' "$modjson")
    rm -rf "$src.tmp"
    mkdir -p "$(dirname "$src")"
    cp -r "$moddir" "$src.tmp"
    chmod -R u+w "$src.tmp"
    mv "$src.tmp" "$src"
  fi
  mkdir -p "$dir"
  run_step "build OpenTofu $OPENTOFU_VERSION (cold build, several minutes)" "$CACHE_DIR/logs/opentofu.log" \
    bash -c "cd '$src' && go mod download && go build -ldflags '$GO_LDFLAGS -X github.com/opentofu/opentofu/version.dev=no' -o '$TOFU_BIN.tmp' ./cmd/tofu"
  mv "$TOFU_BIN.tmp" "$TOFU_BIN"
}

build_all() {
  mkdir -p "$CACHE_DIR/logs"
  local t=$(date +%s)
  find_engine
  build_etcd
  build_kube
  build_kwok
  build_helm
  build_actionlint
  build_providers
  log "engine: $ENGINE_DESC ($ENGINE_BIN); binaries ready in $(($(date +%s) - t))s"
}
