#!/usr/bin/env bash
# Installs and checks what the tests talk to, on a fresh Debian machine. Idempotent: on a machine
# that already has everything it only checks. Run as root (CI is); otherwise it says what is
# missing, and the tests that need it skip locally and fail under CI=true.
set -euo pipefail

# redis-server: real Redis for sessions, throttling and pub/sub tests.
# chromium: the browser the SDK's end-to-end tests drive (chromedp).
# nodejs: the SDK's unit tests (node --test); most machines already have Node.
# postgresql: the control plane's store runs its conformance tests against a real server.
# docker.io, debootstrap: the Swarm runtime's tests run a real single-node Swarm, with images
# built offline (scripts/build-images.sh) since no registry is reachable.
# libnss3-tools: certutil, which puts Pebble's root (the test ACME CA) into the certificate store
# of the Chromium that the HTTPS platform's browser tests drive.
packages=(redis-server chromium postgresql docker.io debootstrap libnss3-tools)
command -v node >/dev/null || packages+=(nodejs)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-env: missing ${missing[*]} and not root; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
  echo "test-env: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL: the store tests create a throw-away database per test on the server at
# BACKPACK_TEST_POSTGRES_URL (default postgres://backpack:backpack@127.0.0.1:5432/postgres), so
# a cluster must be running and the role backpack (password backpack) may log in and create
# databases. apt may create the cluster without starting it (no init system in a container).
pg_status=""
if command -v pg_lsclusters >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
      pg_ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
      echo "test-env: creating PostgreSQL cluster $pg_ver/main"
      pg_createcluster "$pg_ver" main --start >/dev/null
    fi
    # The first cluster listed (Debian gives the first one port 5432).
    read -r pg_ver pg_name pg_port pg_state _ < <(pg_lsclusters -h | head -n 1)
    if [ "$pg_state" != "online" ]; then
      echo "test-env: starting PostgreSQL cluster $pg_ver/$pg_name"
      pg_ctlcluster "$pg_ver" "$pg_name" start
    fi
    for _ in $(seq 1 30); do
      pg_isready -q -p "$pg_port" && break
      sleep 1
    done
    runuser -u postgres -- psql -p "$pg_port" -v ON_ERROR_STOP=1 -qAt >/dev/null <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'backpack') THEN
    CREATE ROLE backpack LOGIN CREATEDB PASSWORD 'backpack';
  ELSE
    ALTER ROLE backpack LOGIN CREATEDB PASSWORD 'backpack';
  END IF;
END
$$;
-- Tests drop their databases WITH (FORCE), which also ends an autovacuum worker that happens
-- to be in one; ending a superuser's backend takes pg_signal_backend.
GRANT pg_signal_backend TO backpack;
SQL
    pg_status="PostgreSQL $pg_ver (cluster $pg_name on port $pg_port, role backpack)"
    [ "$pg_port" = 5432 ] || pg_status+="; set BACKPACK_TEST_POSTGRES_URL for port $pg_port"
  elif pg_isready -q -h 127.0.0.1 -p 5432; then
    pg_status="PostgreSQL on 127.0.0.1:5432 (not root: role backpack not checked)"
  else
    echo "test-env: PostgreSQL is installed but not running on 127.0.0.1:5432 and not root; start it with: sudo bash scripts/test-env.sh" >&2
  fi
fi

# Docker: start dockerd when nothing answers on its socket (no init system in a container),
# then make this engine a single-node Swarm. Without IPVS the swarm still works with dnsrr
# services and host-mode ports, which is what Backpack uses.
docker_status=""
if command -v dockerd >/dev/null; then
  if ! docker info >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
      echo "test-env: starting dockerd (log: /var/log/dockerd.log)"
      nohup dockerd >/var/log/dockerd.log 2>&1 &
      for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
      done
    else
      echo "test-env: dockerd is installed but not running and not root; start it with: sudo bash scripts/test-env.sh" >&2
    fi
  fi
  if docker info >/dev/null 2>&1; then
    # The manager advertises the host's end of the veth pair scripts/cluster-net.sh makes, not
    # 127.0.0.1: the multi-node tests add a second engine as a worker, which must reach the
    # manager at the address the swarm gives it. A swarm this script made earlier on 127.0.0.1
    # is made again while it runs nothing; one that runs services is left and said so.
    manager_addr=""
    if [ "$(id -u)" -eq 0 ]; then
      manager_addr=$(bash "$(dirname "$0")/cluster-net.sh") ||
        echo "test-env: could not make the second node's network (scripts/cluster-net.sh); the multi-node tests will say so" >&2
    fi
    swarm_state=$(docker info --format '{{.Swarm.LocalNodeState}}')
    if [ "$swarm_state" = "active" ] && [ -n "$manager_addr" ] &&
      [ "$(docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}')" != "$manager_addr:2377 " ]; then
      if [ -z "$(docker service ls -q)" ] && [ "$(docker info --format '{{.Swarm.Nodes}}')" = 1 ]; then
        echo "test-env: making the swarm again to advertise $manager_addr (it ran nothing)"
        docker swarm leave --force >/dev/null
        swarm_state=inactive
      else
        echo "test-env: the swarm's manager does not advertise $manager_addr and runs services; the multi-node tests need: docker swarm leave --force && sudo bash scripts/test-env.sh" >&2
      fi
    fi
    if [ "$swarm_state" != "active" ]; then
      echo "test-env: initialising a single-node swarm (manager at ${manager_addr:-127.0.0.1})"
      docker swarm init --advertise-addr "${manager_addr:-127.0.0.1}" >/dev/null
    fi
    docker_status="Docker Engine $(docker version --format '{{.Server.Version}}'), swarm $(docker info --format '{{.Swarm.LocalNodeState}}')"
    # The images the Swarm tests deploy: Backpack's own, built from this checkout, and offline
    # stand-ins for mongo, redis, nginx and postgres. Unchanged images are reused.
    if [ "$(id -u)" -eq 0 ]; then
      bash "$(dirname "$0")/build-images.sh"
    fi
  fi
fi

# PocketBase, the peer make bench measures against, for the bench's own test (built from the
# Go module proxy outside the repository, reused while its inputs are unchanged).
pb_dir=$(bash "$(dirname "$0")/build-gotool.sh" pocketbase 2>/dev/null) && pb_status="PocketBase at $pb_dir/pocketbase" ||
  echo "test-env: could not build PocketBase (scripts/build-gotool.sh pocketbase); the bench's peer test will say so" >&2

# The Debian package starts a system redis-server on 6379; tests start their own on free ports,
# so the system one is left as the package set it up.
command -v redis-server >/dev/null && echo "test-env: $(redis-server --version | cut -d' ' -f1-3)"
command -v chromium >/dev/null && echo "test-env: $(chromium --version 2>/dev/null)"
command -v node >/dev/null && echo "test-env: node $(node --version)"
[ -n "$pg_status" ] && echo "test-env: $pg_status"
[ -n "$docker_status" ] && echo "test-env: $docker_status"
[ -n "${pb_status:-}" ] && echo "test-env: $pb_status"
echo "test-env: $(go version)"
