#!/usr/bin/env bash
# Builds FerretDB 1.24.2 (the MongoDB wire-protocol server the MongoDB store is tested against) into .tools/bin.
#
# Why not plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: the module as served by the Go
# module proxy lacks build/version/version.txt, which FerretDB embeds with go:embed and checks at start-up, so the
# binary that `go install` builds panics at once. We fetch the very same module through the proxy
# (`go mod download`), add the version file its build expects, and build it.
set -euo pipefail
VERSION=v1.24.2
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin/ferretdb"
# Capture the whole output first: with pipefail, `| grep -q` or `| head` can end the pipe early and make the
# version command die of SIGPIPE, which reads as a failure.
if [ -x "$bin" ] && [[ "$("$bin" --version 2>/dev/null)" == *"version: $VERSION"* ]]; then
  echo "ferretdb $VERSION already built at $bin"
  exit 0
fi
command -v go >/dev/null || { echo "install-ferretdb: go is not installed" >&2; exit 1; }
dir=$(go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "install-ferretdb: go mod download gave no directory" >&2; exit 1; }
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/"
chmod -R u+w "$work"
echo "$VERSION" > "$work/build/version/version.txt"
mkdir -p "$(dirname "$bin")"
(cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/ferretdb)
built=$("$bin" --version)
echo "${built%%$'\n'*}"
