#!/usr/bin/env bash
# Makes the network a second Docker engine on this machine lives in, so that the multi-node
# tests (make test-cluster) can add it to the swarm as a worker: a network namespace joined to
# the host by a veth pair. The swarm's manager advertises the host's end (HOST_ADDR) and the
# worker its own (NODE_ADDR); both are in 100.64.0.0/10, which Docker's default address pools
# (172.17.0.0/12, 192.168.0.0/16, 10.0.0.0/8 for overlays) never hand out. Idempotent; prints
# the manager's address. Needs root.
set -euo pipefail

NETNS=bpnode1        # the namespace the worker's dockerd runs in (nsenter --net=/var/run/netns/…)
HOST_IF=bpnode0      # the host's end of the veth pair
HOST_ADDR=100.64.213.1
NODE_ADDR=100.64.213.2

if [ "$(id -u)" -ne 0 ]; then
  echo "cluster-net: needs root (network namespaces and veth pairs)" >&2
  exit 1
fi

[ -e "/var/run/netns/$NETNS" ] || ip netns add "$NETNS"
if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
  ip link add "$HOST_IF" type veth peer name eth0 netns "$NETNS"
fi
ip addr show dev "$HOST_IF" | grep -q "inet $HOST_ADDR/" || ip addr add "$HOST_ADDR/30" dev "$HOST_IF"
ip link set "$HOST_IF" up
ip -n "$NETNS" link set lo up
ip -n "$NETNS" addr show dev eth0 | grep -q "inet $NODE_ADDR/" || ip -n "$NETNS" addr add "$NODE_ADDR/30" dev eth0
ip -n "$NETNS" link set eth0 up
ip -n "$NETNS" route replace default via "$HOST_ADDR"
echo "$HOST_ADDR"
