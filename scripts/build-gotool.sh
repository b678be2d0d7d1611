#!/usr/bin/env bash
# Builds another project's Go program that Backpack's tests and benchmarks use, from the Go
# module proxy, in a throw-away module outside the repository: none of their code is committed
# here, and the repository's go.mod does not depend on them.
#
#   pocketbase  PocketBase v0.34.2, the peer `make bench` measures Backpack against: what its
#               releases ship (examples/base with the jsvm, migratecmd and ghupdate plugins)
#   traefik     Traefik v3.6.2, the platform's edge (scripts/build-images.sh puts it in the image
#               backpack-test/traefik:v3.6.2); its go.mod replaces three modules with the
#               containous forks, which `go install …@v3.6.2` refuses, so the wrapper module here
#               repeats them (about 10 minutes on 2 cores, 180 MB)
#   pebble      Pebble v2.10.3, Let's Encrypt's test ACME CA, and pebble-challtestsrv, the DNS it
#               asks (for backpack-test/pebble); also Pebble's test certificates for its own
#               HTTPS endpoint (certs/)
#
# Usage: scripts/build-gotool.sh NAME   (prints the directory holding the binaries on stdout)
#
# Binaries are static (CGO_ENABLED=0), cached under ${XDG_CACHE_HOME:-$HOME/.cache}/backpack/
# NAME-VERSION/ together with the inputs they were built from (the versions, the wrapper's
# go.mod, Go's version); a second run with the same inputs reuses them.
set -euo pipefail

die() {
  echo "build-gotool: $*" >&2
  exit 1
}

[ $# -eq 1 ] || die "usage: $0 pocketbase|traefik|pebble"
tool=$1
replaces=""
case "$tool" in
  pocketbase)
    version=v0.34.2
    module=github.com/pocketbase/pocketbase
    gets=("$module/examples/base" "$module/plugins/jsvm" "$module/plugins/migratecmd" "$module/plugins/ghupdate")
    builds=("pocketbase=$module/examples/base")
    ;;
  traefik)
    version=v3.6.2
    module=github.com/traefik/traefik/v3
    gets=("$module/cmd/traefik")
    builds=("traefik=$module/cmd/traefik")
    # The replace directives of traefik v3.6.2's own go.mod.
    replaces='replace (
	github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e
	github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59
	github.com/mailgun/minheap => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595
)'
    ;;
  pebble)
    version=v2.10.3
    module=github.com/letsencrypt/pebble/v2
    gets=("$module/cmd/pebble" "$module/cmd/pebble-challtestsrv")
    builds=("pebble=$module/cmd/pebble" "pebble-challtestsrv=$module/cmd/pebble-challtestsrv")
    ;;
  *) die "unknown tool $tool; choose among: pocketbase traefik pebble" ;;
esac

command -v go >/dev/null || die "go is not installed"
dir=${XDG_CACHE_HOME:-$HOME/.cache}/backpack/$tool-$version
inputs="$tool $version $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH) $(printf '%s' "$replaces" | sha256sum | cut -c1-16)"

if [[ -f $dir/inputs && $(cat "$dir/inputs") == "$inputs" ]]; then
  echo "build-gotool: $tool $version: reusing $dir (built from: $inputs)" >&2
  echo "$dir"
  exit 0
fi

echo "build-gotool: $tool $version: building into $dir from the Go module proxy ($inputs)…" >&2
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
# The cache is stale until every binary and the inputs are written.
go mod init "backpack-tools/$tool" >/dev/null 2>&1
if [ -n "$replaces" ]; then
  printf '\n%s\n' "$replaces" >>go.mod
fi
args=()
for p in "${gets[@]}"; do
  args+=("$p@$version")
done
# Go's output goes to build.log, shown when a step fails.
quiet() {
  "$@" >>build.log 2>&1 || {
    cat build.log >&2
    die "$tool: $* failed"
  }
}
quiet go get "${args[@]}"
for b in "${builds[@]}"; do
  quiet env CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "${b%%=*}.tmp" "${b#*=}"
  mv "${b%%=*}.tmp" "${b%%=*}"
done
if [ "$tool" = pebble ]; then
  # Pebble's own test certificates: its HTTPS endpoint's (valid for localhost and pebble) and
  # the root that signed it, which ACME clients must trust to talk to it.
  src=$(go list -m -f '{{.Dir}}' "$module")
  mkdir -p certs
  cp "$src/test/certs/localhost/cert.pem" "$src/test/certs/localhost/key.pem" "$src/test/certs/pebble.minica.pem" certs/
  chmod 644 certs/*
fi
echo "$inputs" >inputs
echo "build-gotool: $tool $version: built $(ls -1 | grep -v -e '^go\.' -e '^inputs$' -e '^build\.log$' | tr '\n' ' ')($(du -sh . | cut -f1))" >&2
echo "$dir"
