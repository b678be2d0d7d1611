#!/usr/bin/env bash
# Builds Backpack's container images with nothing but a Docker Engine, Go and debootstrap: no
# registry is reachable where tests and CI run, so nothing can be pulled.
#
#   product images (FROM scratch, static Go binaries, non-root):
#     api           backpackhq/backpack-api:latest   ./cmd/backpack-api
#     controlplane  backpackhq/backpack:latest       ./cmd/backpack
#   test stand-ins for the official images, which stay the production defaults:
#     debian        backpack-test/debian:bookworm    debootstrap, the base of the next three
#     redis         backpack-test/redis:7            Debian's redis-server
#     nginx         backpack-test/nginx:1            Debian's nginx-light
#     postgres      backpack-test/postgres:15        Debian's PostgreSQL, official-like entrypoint
#     mongo         backpack-test/mongo:7            ./internal/cmd/mongo-standin (FerretDB)
#     netprobe      backpack-test/netprobe:latest    ./internal/cmd/netprobe
#   other projects' programs, built from the Go module proxy (scripts/build-gotool.sh, cached
#   outside the repository; nothing of theirs is committed):
#     traefik       backpack-test/traefik:v3.6.2     Traefik v3.6.2 (stands in for traefik:v3.6)
#     pebble        backpack-test/pebble:v2.10.3     Pebble v2.10.3, the test ACME CA, and its DNS
#
# Usage: scripts/build-images.sh [--force] [--verbose] [NAME...]   (no NAME: all of them)
#
# A second run is fast: every image carries the label com.backpackhq.backpack.inputs, a digest of its build
# context (binary, Dockerfile, files) and of its base image, and is rebuilt only when that
# changes. The Debian base is reused whenever it exists (--force with the name debian remakes
# it). The Dockerfiles live under deploy/; see docs/deploy.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
all=(api controlplane debian redis nginx postgres mongo traefik pebble netprobe) # netprobe last (see below)
label=com.backpackhq.backpack.inputs
declare -A images=(
  [api]=backpackhq/backpack-api:latest
  [controlplane]=backpackhq/backpack:latest
  [debian]=backpack-test/debian:bookworm
  [redis]=backpack-test/redis:7
  [nginx]=backpack-test/nginx:1
  [postgres]=backpack-test/postgres:15
  [mongo]=backpack-test/mongo:7
  [netprobe]=backpack-test/netprobe:latest
  [traefik]=backpack-test/traefik:v3.6.2
  [pebble]=backpack-test/pebble:v2.10.3
)
debian_image=${images[debian]}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  -f, --force    rebuild the named images (all by default) even when their inputs are
                 unchanged, without the build cache
  -v, --verbose  show the output of go build and docker build
  -h, --help     this text
Environment:
  BACKPACK_DEBIAN_MIRROR  Debian mirror for debootstrap; default: the host's bookworm source in
                          /etc/apt, else http://deb.debian.org/debian
EOF
}

die() {
  echo "build-images: $*" >&2
  exit 1
}

force=0
verbose=0
selected=()
while [ $# -gt 0 ]; do
  case "$1" in
    -f | --force) force=1 ;;
    -v | --verbose) verbose=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      [[ " ${all[*]} " == *" $1 "* ]] || die "unknown image $1; choose among: ${all[*]}"
      selected+=("$1")
      ;;
  esac
  shift
done
explicit=1
if [ ${#selected[@]} -eq 0 ]; then
  explicit=0
  selected=("${all[@]}")
fi
wants() { [[ " ${selected[*]} " == *" $1 "* ]]; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0): debootstrap and the Docker socket need it"
command -v docker >/dev/null || die "docker is not installed (apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "the Docker Engine does not answer (docker info failed); start dockerd, e.g. with scripts/test-env.sh"

# netprobe is written separately; without its source, "all" means all the others.
if wants netprobe && [ ! -d "$repo/internal/cmd/netprobe" ]; then
  [ "$explicit" -eq 0 ] || die "netprobe: $repo/internal/cmd/netprobe does not exist"
  echo "build-images: skipped netprobe (internal/cmd/netprobe does not exist)"
  selected=("${all[@]:0:${#all[@]}-1}")
fi

# Plain `docker build` with the classic builder: buildx is not installed everywhere, and the
# classic builder handles everything these Dockerfiles use (COPY --chown, no RUN in scratch).
export DOCKER_BUILDKIT=0

work=$(mktemp -d /tmp/backpack-images.XXXXXX)
# cleanup removes the work directory, after unmounting what a failed debootstrap may have left
# mounted in it (proc, sys).
cleanup() {
  findmnt -rn -o TARGET | grep "^$work/" | sort -r | xargs -r umount -l || true
  rm -rf "$work"
}
trap cleanup EXIT

# run_quiet CMD...: runs CMD, showing its output only with --verbose or when it fails.
run_quiet() {
  if [ "$verbose" -eq 1 ]; then
    "$@"
  elif ! "$@" >"$work/out.log" 2>&1; then
    cat "$work/out.log" >&2
    return 1
  fi
}

summary=()
# report IMAGE WHAT: remembers what happened to IMAGE (built, reused) for the summary.
report() {
  local size
  size=$(docker image inspect -f '{{.Size}}' "$1" | numfmt --to=si --suffix=B)
  summary+=("$(printf '%-7s %-34s %s' "$2" "$1" "$size")")
  echo "build-images: $2 $1 ($size)"
}

# Go binaries: static (CGO_ENABLED=0), without local paths (-trimpath) or symbol tables; one
# go build for all of them, so packages are compiled in parallel and once.
declare -A binaries=(
  [api]=./cmd/backpack-api
  [controlplane]=./cmd/backpack
  [mongo]=./internal/cmd/mongo-standin
  [netprobe]=./internal/cmd/netprobe
)
packages=()
for name in "${!binaries[@]}"; do
  wants "$name" && packages+=("${binaries[$name]}")
done
if [ ${#packages[@]} -gt 0 ]; then
  command -v go >/dev/null || die "go is not installed (needed to build ${packages[*]})"
  echo "build-images: go build ${packages[*]}"
  mkdir "$work/bin"
  (cd "$repo" && export CGO_ENABLED=0 && run_quiet go build -trimpath -ldflags='-s -w' -o "$work/bin/" "${packages[@]}") ||
    die "go build failed"
fi

# context_digest DIR [EXTRA]: a digest of everything in the build context DIR (names, modes,
# contents; not times or owners), and of EXTRA (the base image's id).
context_digest() {
  {
    tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - .
    printf '%s' "${2:-}"
  } | sha256sum | cut -d' ' -f1
}

# build NAME IMAGE CONTEXT [BASE]: builds IMAGE from CONTEXT unless an image with the same
# inputs exists already.
build() {
  local name=$1 image=$2 ctx=$3 base=${4:-} base_id="" digest current old_id
  if [ -n "$base" ]; then
    base_id=$(docker image inspect -f '{{.Id}}' "$base")
  fi
  digest=$(context_digest "$ctx" "$base_id")
  current=$(docker image inspect -f "{{index .Config.Labels \"$label\"}}" "$image" 2>/dev/null || true)
  if [ "$force" -eq 0 ] && [ "$current" = "$digest" ]; then
    report "$image" reused
    return
  fi
  old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  echo "build-images: building $image"
  # --force also skips the build cache, so apt installs the packages the mirror has now.
  local cache=()
  [ "$force" -eq 0 ] || cache=(--no-cache)
  run_quiet docker build "${cache[@]}" --label "$label=$digest" -t "$image" "$ctx" || die "$name: docker build failed"
  # The image it replaces, now untagged, goes unless something still uses it.
  if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
  fi
  report "$image" built
}

# scratch_context NAME BINARY DATADIR...: a build context for a FROM scratch image: the
# Dockerfile from deploy/, the binary, rootfs/ with the host's CA certificates and a /tmp
# (mode 1777: Go and SQLite put temporary files there), and data/ with the given empty
# directories (copied to /data, owned by the image's user).
scratch_context() {
  local ctx="$work/ctx/$1" binary=$2 dir=$3 d
  shift 3
  [ -r /etc/ssl/certs/ca-certificates.crt ] || die "/etc/ssl/certs/ca-certificates.crt is missing (apt-get install ca-certificates)"
  mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/tmp" "$ctx/data"
  cp "$repo/deploy/$dir/Dockerfile" "$ctx/"
  cp "$work/bin/$binary" "$ctx/"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/"
  chmod 1777 "$ctx/rootfs/tmp"
  for d in "$@"; do
    mkdir -p "$ctx/data/$d"
  done
  chmod -R u=rwX,go=rX "$ctx/Dockerfile" "$ctx/data" "$ctx/rootfs/etc"
  echo "$ctx"
}

# debian_context NAME: a build context for an image on the Debian base: deploy/testimages/NAME.
debian_context() {
  local ctx="$work/ctx/$1"
  mkdir -p "$ctx"
  cp -a "$repo/deploy/testimages/$1/." "$ctx/"
  echo "$ctx"
}

# tool_context NAME: a build context for the image of another project's program: the files of
# deploy/testimages/NAME and what scripts/build-gotool.sh NAME built (binaries, certs/), plus,
# for a FROM scratch image, rootfs/ with the host's CA certificates and a /tmp.
tool_context() {
  local ctx="$work/ctx/$1" built
  built=$(bash "$repo/scripts/build-gotool.sh" "$1") || die "$1: scripts/build-gotool.sh $1 failed"
  mkdir -p "$ctx"
  cp -a "$repo/deploy/testimages/$1/." "$ctx/"
  find "$built" -maxdepth 1 -type f -perm -u+x -exec cp {} "$ctx/" \;
  [ ! -d "$built/certs" ] || cp -a "$built/certs" "$ctx/"
  if grep -q '^FROM scratch' "$ctx/Dockerfile"; then
    mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/tmp"
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/"
    chmod 1777 "$ctx/rootfs/tmp"
  fi
  echo "$ctx"
}

# debian_mirror prints the Debian mirror for debootstrap: BACKPACK_DEBIAN_MIRROR, else the
# first bookworm source apt uses on this host (one-line or deb822 format), else deb.debian.org.
debian_mirror() {
  local found=""
  if [ -n "${BACKPACK_DEBIAN_MIRROR:-}" ]; then
    echo "$BACKPACK_DEBIAN_MIRROR"
    return
  fi
  found=$(sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+bookworm[[:space:]].*/\2/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
  if [ -z "$found" ]; then
    # deb822: the URIs of the first stanza (paragraph) whose Suites include bookworm.
    found=$(awk 'BEGIN { RS = "" }
      {
        uri = ""; ok = 0; n = split($0, line, "\n")
        for (i = 1; i <= n; i++) {
          if (line[i] ~ /^URIs:/) { split(line[i], w, /[ \t]+/); uri = w[2] }
          if (line[i] ~ /^Suites:/ && line[i] ~ /[ \t]bookworm([ \t]|$)/) ok = 1
        }
        if (ok && uri != "") { print uri; exit }
      }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  fi
  echo "${found:-http://deb.debian.org/debian}"
}

# ensure_debian makes the Debian base with debootstrap unless it exists (or, with --force,
# when debian is among the images asked for).
ensure_debian() {
  local root mirror
  old_debian=$(docker image inspect -f '{{.Id}}' "$debian_image" 2>/dev/null || true)
  if [ -n "$old_debian" ] &&
    ! { [ "$force" -eq 1 ] && wants debian; }; then
    report "$debian_image" reused
    return
  fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  mirror=$(debian_mirror)
  root="$work/debian-root"
  echo "build-images: debootstrap bookworm from $mirror (about a minute)"
  run_quiet debootstrap --variant=minbase bookworm "$root" "$mirror" || die "debootstrap failed"
  # What Debian's own container images do: services never start while packages install (no
  # init runs in a container), apt keeps neither downloaded packages nor its caches (they
  # would double an image's size), and no host files leak in.
  printf '#!/bin/sh\n# Containers run no init: never start services from package scripts.\nexit 101\n' \
    >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
  : >"$root/etc/resolv.conf"
  echo backpack >"$root/etc/hostname"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase bookworm $mirror" \
    - "$debian_image" >/dev/null
  report "$debian_image" built
}

mkdir -p "$work/ctx"
if wants debian || wants redis || wants nginx || wants postgres || wants pebble; then
  ensure_debian
fi
for name in "${selected[@]}"; do
  base=""
  case "$name" in
    api) ctx=$(scratch_context api backpack-api images/api files site) ;;
    controlplane) ctx=$(scratch_context controlplane backpack images/controlplane backups) ;;
    mongo) ctx=$(scratch_context mongo mongo-standin testimages/mongo db configdb) ;;
    netprobe) ctx=$(scratch_context netprobe netprobe testimages/netprobe) ;;
    redis | nginx | postgres) ctx=$(debian_context "$name") base=$debian_image ;;
    traefik) ctx=$(tool_context traefik) ;;
    pebble) ctx=$(tool_context pebble) base=$debian_image ;;
    debian) continue ;;
  esac
  build "$name" "${images[$name]}" "$ctx" "$base"
done
# A Debian base made again replaces the old one once no image is built on it any more.
if [ -n "${old_debian:-}" ] && [ "$old_debian" != "$(docker image inspect -f '{{.Id}}' "$debian_image")" ]; then
  docker image rm "$old_debian" >/dev/null 2>&1 || true
fi

echo
echo "build-images: done"
printf '  %s\n' "${summary[@]}"
