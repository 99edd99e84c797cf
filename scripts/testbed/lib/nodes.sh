# Stand-in nodes: the commands they run and the files those commands change.
# Each node i has a root directory $TESTBED_DIR/nodes/node-<i>/root (exported to
# SSH sessions as TESTBED_NODE_ROOT) holding an RKE2 server or agent layout, an
# RKE1 /etc/kubernetes/ssl and, on node-1, the rke CLI's cluster.yml and
# cluster.rkestate plus single-container Rancher stand-ins. The commands are
# models from upstream facts: scripts/testbed/nodes/README.md.
# shellcheck shell=bash

# write_node_commands DIR: rke2, rke, systemctl, docker and kubectl for the nodes.
# Each records the call (node, command, arguments) in $TESTBED_DIR/node-calls.log,
# then does to the node's files what the real command does (standin.js).
write_node_commands() {
  local dir=$1 cmd
  mkdir -p "$dir"
  for cmd in rke2 rke systemctl docker kubectl; do
    cat >"$dir/$cmd" <<EOS
#!/bin/sh
# Test-bed stand-in (scripts/testbed/nodes/README.md): records the call, then models its effect on files.
printf '%s\t%s\t%s\n' "\${TESTBED_NODE:-unknown}" "$cmd" "\$*" >>"$TESTBED_DIR/node-calls.log"
TESTBED_DIR='$TESTBED_DIR' exec node '$TESTBED_SRC/nodes/standin.js' $cmd "\$@"
EOS
    chmod +x "$dir/$cmd"
  done
  # kubectl-node: a recorder only (kept for callers that just log).
  cat >"$dir/kubectl-node" <<EOS
#!/bin/sh
printf '%s\t%s\t%s\n' "\${TESTBED_NODE:-unknown}" kubectl-node "\$*" >>"$TESTBED_DIR/node-calls.log"
EOS
  chmod +x "$dir/kubectl-node"
}

# node_role I N: RKE2 role of node I of N: 1 server for up to 2 nodes, else 3
# servers (an HA control plane, https://docs.rke2.io/install/ha); the rest agents.
node_role() {
  local i=$1 n=$2 servers=3
  [ "$n" -le 2 ] && servers=1
  if [ "$i" -le "$servers" ]; then echo server; else echo agent; fi
}

# init_node_roots N: every node's root directory (servers before agents: agents
# join through a running server).
init_node_roots() {
  local n=$1 i ports=()
  [ "$n" -gt 0 ] || return 0
  rm -rf "$TESTBED_DIR/nodes"
  mkdir -p "$TESTBED_DIR/nodes"
  for i in $(seq 1 "$n"); do
    mkdir -p "$TESTBED_DIR/nodes/node-$i/root"
    # A server's API listener port (the nodes share the host's loopback, so not 6443 each).
    if [ "$(node_role "$i" "$n")" = server ]; then free_port >"$TESTBED_DIR/nodes/node-$i/api-port"; fi
    TESTBED_NODE=node-$i TESTBED_NODE_ROOT="$TESTBED_DIR/nodes/node-$i/root" \
      node "$TESTBED_SRC/nodes/standin.js" testbed-init-rke2 "$(node_role "$i" "$n")" "$(cat "$TESTBED_DIR/nodes/node-$i/api-port" 2>/dev/null)" ||
      die "could not lay out the RKE2 files of stand-in node-$i"
    ports+=("$(cat "$TESTBED_DIR/ssh/port-$i")")
  done
  TESTBED_NODE=node-1 TESTBED_NODE_ROOT="$TESTBED_DIR/nodes/node-1/root" \
    node "$TESTBED_SRC/nodes/standin.js" testbed-init-rke "$n" "${ports[@]}" ||
    die "could not lay out the RKE files of the stand-in nodes"
  TESTBED_NODE=node-1 TESTBED_NODE_ROOT="$TESTBED_DIR/nodes/node-1/root" \
    node "$TESTBED_SRC/nodes/standin.js" testbed-init-docker v2.1.9 v2.2.2 v2.8.5 ||
    die "could not lay out the Rancher containers of stand-in node-1"
}

# write_node_env N: the nodes' lines of the env file.
write_node_env() {
  local n=$1 i
  for i in $(seq 1 "$n"); do
    echo "export TESTBED_NODE_ROOT_$i='$TESTBED_DIR/nodes/node-$i/root'"
    echo "export TESTBED_NODE_ROLE_$i=$(node_role "$i" "$n")"
    if [ -f "$TESTBED_DIR/nodes/node-$i/api-port" ]; then echo "export TESTBED_NODE_API_PORT_$i=$(cat "$TESTBED_DIR/nodes/node-$i/api-port")"; fi
  done
}
