#!/usr/bin/env bash
# Builds bin/ecode with a progress line instead of minutes of silence (or of
# "go: downloading" lines): modules downloaded, packages compiled out of the
# total. Errors are printed in full. Usage: scripts/gobuild.sh OUT [go build flags...]
set -o pipefail
out=$1
shift
go=${GO:-go}
echo "==> Building $out (the first build downloads and compiles the Go modules: a few minutes)"
total=$($go list "$@" -deps ./cmd/ecode 2>/dev/null | wc -l)
downloaded=0
compiled=0
status() { printf '\r    %d modules downloaded, %d of at most %d packages compiled   ' "$downloaded" "$compiled" "$total"; }
$go build -v "$@" -o "$out" ./cmd/ecode 2>&1 | while IFS= read -r line; do
  case $line in
    "go: downloading "*) downloaded=$((downloaded + 1)); status ;;
    *" "* | "#"* | *:*) printf '\n%s\n' "$line" ;; # an error or a warning
    *) compiled=$((compiled + 1)); status ;;
  esac
done
rc=$?
echo
[ $rc = 0 ] && echo "==> Built $out"
exit $rc
