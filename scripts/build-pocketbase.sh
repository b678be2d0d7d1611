#!/usr/bin/env bash
# Builds PocketBase, the peer `make bench` measures Backpack against, from the Go module proxy
# in a throw-away module outside the repository: none of PocketBase's code is committed here,
# and the repository's go.mod does not depend on it.
#
# Usage: scripts/build-pocketbase.sh   (prints the binary's path on stdout)
#
# The binary is what PocketBase's own releases ship (examples/base, with the jsvm, migratecmd
# and ghupdate plugins), built static with CGO_ENABLED=0. It is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/backpack/pocketbase-VERSION/ together with the inputs it was
# built from (PocketBase's version and Go's); a second run with the same inputs reuses it.
set -euo pipefail

version=v0.34.2
module=github.com/pocketbase/pocketbase
dir=${XDG_CACHE_HOME:-$HOME/.cache}/backpack/pocketbase-$version
bin=$dir/pocketbase
inputs="pocketbase $version $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"

if [[ -x $bin && -f $dir/inputs && $(cat "$dir/inputs") == "$inputs" ]]; then
  echo "PocketBase $version: reusing $bin (built from: $inputs)" >&2
  echo "$bin"
  exit 0
fi

echo "PocketBase $version: building $bin from the Go module proxy ($inputs)…" >&2
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
# The cache is stale until the binary and its inputs are both written.
go mod init backpack-bench/pocketbase >/dev/null 2>&1
go get "$module/examples/base@$version" "$module/plugins/jsvm@$version" \
  "$module/plugins/migratecmd@$version" "$module/plugins/ghupdate@$version"
CGO_ENABLED=0 go build -trimpath -o pocketbase.tmp "$module/examples/base"
mv pocketbase.tmp pocketbase
echo "$inputs" >inputs
echo "PocketBase $version: built $bin ($(du -h pocketbase | cut -f1))" >&2
echo "$bin"
