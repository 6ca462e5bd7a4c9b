#!/usr/bin/env bash
# Installs the test database of the MongoDB store, once per machine: FerretDB 2.5.0 (MongoDB wire protocol) on
# PostgreSQL 15 with Microsoft's DocumentDB extension, which plans MongoDB queries onto PostgreSQL indexes.
# test/support/ferretdb.js starts private instances of it (a PostgreSQL cluster + FerretDB on free loopback ports).
#
# What goes where (nothing inside the repository):
#   - PostgreSQL 15 from Debian's archive (apt), and DocumentDB 0.106, pg_cron 1.6.3, pgvector 0.8.0 built from
#     source and installed into it (/usr/lib/postgresql/15, /usr/share/postgresql/15/extension);
#   - the FerretDB 2.5.0 binary at $SCIM_TESTDB_HOME/bin/ferretdb (built from the Go module proxy; needs Go).
# A second run finds both and takes seconds; it ends with a start/stop of an instance either way, which also
# leaves the cluster template that makes later starts fast.
#
# The sources (DocumentDB and friends travel as a tarball; their hosts are unreachable from CI) and the build
# scripts are those of shared/documentdb/ beside the repository: $SCIM_TESTDB_SOURCES, default
# <repo>/../shared/documentdb. They are only read when something is missing.
#
# Env:
#   SCIM_TESTDB_HOME      machine-level state: bin/ferretdb and the cluster template
#                         (default /opt/scim-testdb as root, else ${XDG_CACHE_HOME:-~/.cache}/scim-testdb)
#   SCIM_TESTDB_SOURCES   directory with documentdb-stack-src.tar.gz, build-documentdb-stack.sh, build-ferretdb.sh
#   FERRETDB_BIN          use this FerretDB 2.5 binary instead of $SCIM_TESTDB_HOME/bin/ferretdb
#   JOBS                  compile jobs (default nproc)
# Without any of this, point the tests at a MongoDB of your own instead: MONGODB_URI=mongodb://... npm test
set -euo pipefail

FERRETDB_VERSION=v2.5.0
DOCUMENTDB_VERSION=0.106-0
TARBALL=documentdb-stack-src.tar.gz
TARBALL_SHA256=386256f8d9c1f96db66b20508653b6263066dbefbe902e8377ecc419986ed9dc
PGBIN=/usr/lib/postgresql/15/bin
PGLIB=/usr/lib/postgresql/15/lib
PGEXT=/usr/share/postgresql/15/extension

root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(id -u)" -eq 0 ]; then default_home=/opt/scim-testdb; else default_home="${XDG_CACHE_HOME:-$HOME/.cache}/scim-testdb"; fi
home="${SCIM_TESTDB_HOME:-$default_home}"
bin="${FERRETDB_BIN:-$home/bin/ferretdb}"
sources="${SCIM_TESTDB_SOURCES:-$root/../shared/documentdb}"
started=$(date +%s)
say() { echo "[install-test-db +$(($(date +%s) - started))s] $*"; }
die() { echo "install-test-db: $*" >&2; exit 1; }

# --- what is there already ------------------------------------------------------------------------------------------
engine_missing=()
[ -x "$PGBIN/postgres" ] && [ -x "$PGBIN/initdb" ] || engine_missing+=("PostgreSQL 15 ($PGBIN)")
for f in pg_documentdb_core.so pg_documentdb.so pg_cron.so vector.so postgis-3.so rum.so; do
  [ -f "$PGLIB/$f" ] || engine_missing+=("$PGLIB/$f")
done
for c in documentdb_core documentdb pg_cron vector postgis rum; do
  [ -f "$PGEXT/$c.control" ] || engine_missing+=("$PGEXT/$c.control")
done
if [ -f "$PGEXT/documentdb.control" ] && ! grep -q "^default_version = '$DOCUMENTDB_VERSION'" "$PGEXT/documentdb.control"; then
  engine_missing+=("DocumentDB $DOCUMENTDB_VERSION (another version is installed)")
fi
# A build from the module proxy's sources (build-ferretdb.sh) says "version: unknown" (no generated version.txt), so
# it is recognised by the DocumentDB release it is made for, a string compiled into FerretDB 2.5.0.
# (Capture the whole output first: with pipefail, `| grep -q` can end the pipe early and kill the command by SIGPIPE.)
ferretdb_ok() {
  local b="${1:-$bin}" v; v="$("$b" --version 2>/dev/null)" || return 1
  [[ "$v" == *"version: $FERRETDB_VERSION"* ]] || grep -qaF "releases/tag/v0.106.0-ferretdb-2.5.0" "$b"
}
ferretdb_missing=""
ferretdb_ok || ferretdb_missing="FerretDB $FERRETDB_VERSION ($bin)"

# --- build what is missing ---------------------------------------------------------------------------------------------
if [ ${#engine_missing[@]} -gt 0 ] || [ -n "$ferretdb_missing" ]; then
  missing=("${engine_missing[@]}"); [ -n "$ferretdb_missing" ] && missing+=("$ferretdb_missing")
  say "missing: $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g')"
  need=()
  [ ${#engine_missing[@]} -gt 0 ] && need+=("$TARBALL" build-documentdb-stack.sh)
  [ -n "$ferretdb_missing" ] && need+=(build-ferretdb.sh)
  for f in "${need[@]}"; do
    if [ ! -f "$sources/$f" ]; then
      cat >&2 <<EOF
install-test-db: cannot install the test database: $sources/$f does not exist.
  The MongoDB store tests need a MongoDB wire-protocol server. Either
    - point them at any MongoDB you have:   MONGODB_URI=mongodb://host:27017/ npm test
    - or provide the sources of FerretDB 2.5 + DocumentDB (the shared/documentdb/ directory that sits beside the
      repository in CI: $TARBALL (sha256 $TARBALL_SHA256),
      build-documentdb-stack.sh, build-ferretdb.sh) and run:
        SCIM_TESTDB_SOURCES=/path/to/documentdb scripts/install-test-db.sh
EOF
      exit 1
    fi
  done
  if [ ${#engine_missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "installing PostgreSQL 15 + DocumentDB needs root (apt, /usr/lib/postgresql); run this as root"
    command -v apt-get >/dev/null || die "installing PostgreSQL 15 + DocumentDB needs Debian 12 (apt-get)"
    echo "$TARBALL_SHA256  $sources/$TARBALL" | sha256sum -c --quiet - \
      || die "$sources/$TARBALL does not have the sha256 $TARBALL_SHA256"
  fi
  if [ -n "$ferretdb_missing" ]; then
    command -v go >/dev/null || die "building FerretDB $FERRETDB_VERSION needs Go (https://go.dev/dl/), or set FERRETDB_BIN"
  fi

  logs="$(mktemp -d "/tmp/scim-testdb-install.XXXXXX")"
  # FerretDB (Go, mostly downloading) builds beside the DocumentDB compile.
  ferret_pid=""
  if [ -n "$ferretdb_missing" ]; then
    say "building FerretDB $FERRETDB_VERSION into $bin (log: $logs/ferretdb.log)"
    mkdir -p "$(dirname "$bin")"
    bash "$sources/build-ferretdb.sh" "$bin.tmp" > "$logs/ferretdb.log" 2>&1 &
    ferret_pid=$!
  fi
  if [ ${#engine_missing[@]} -gt 0 ]; then
    # WORK must not be inside a git work tree: DocumentDB would take its version header from that repository.
    work="$(mktemp -d "/tmp/scim-documentdb-build.XXXXXX")"
    if git -C "$work" rev-parse --is-inside-work-tree >/dev/null 2>&1; then die "$work is inside a git work tree"; fi
    say "PostgreSQL 15 + DocumentDB $DOCUMENTDB_VERSION, pg_cron, pgvector (apt, then compile; log: $logs/documentdb.log)"
    if ! WORK="$work" bash "$sources/build-documentdb-stack.sh" "$sources/$TARBALL" > "$logs/documentdb.log" 2>&1; then
      tail -30 "$logs/documentdb.log" >&2
      [ -n "$ferret_pid" ] && wait "$ferret_pid" || true
      die "build-documentdb-stack.sh failed (log: $logs/documentdb.log)"
    fi
    rm -rf "$work"
    say "DocumentDB installed"
  fi
  if [ -n "$ferret_pid" ]; then
    # The build script's last step, `ferretdb --version | head -1` under pipefail, can fail by SIGPIPE alone (head
    # exits before ferretdb has written the rest) after a good build: the binary itself is what decides.
    if ! wait "$ferret_pid" && ! ferretdb_ok "$bin.tmp"; then
      tail -30 "$logs/ferretdb.log" >&2
      die "build-ferretdb.sh failed (log: $logs/ferretdb.log)"
    fi
    mv -f "$bin.tmp" "$bin"
    say "FerretDB built"
  fi
  ferretdb_ok || die "$bin does not report FerretDB $FERRETDB_VERSION"
  rm -rf "$logs"
fi

# --- prove it works (and leave the cluster template behind) ----------------------------------------------------------
pg_version="$("$PGBIN/postgres" --version)"
say "${pg_version#postgres (PostgreSQL) } with DocumentDB $DOCUMENTDB_VERSION; FerretDB $FERRETDB_VERSION at $bin"
SCIM_TESTDB_HOME="$home" FERRETDB_BIN="$bin" node "$root/test/support/ferretdb.js" check
say "ready"
