#!/usr/bin/env bash
# Runs every Fuzz* target in the module for the given time each (default
# 10s). go test accepts one fuzz target per run, so each runs on its own.
set -euo pipefail
fuzztime="${1:-10s}"
cd "$(dirname "$0")/.."
status=0
while IFS= read -r file; do
  pkg="$(dirname "$file")"
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "fuzz: $pkg $target for $fuzztime"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" > /tmp/fuzz-$$.log 2>&1; then
      cat /tmp/fuzz-$$.log
      status=1
    else
      tail -n 1 /tmp/fuzz-$$.log
    fi
  done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' . | sort)
rm -f /tmp/fuzz-$$.log
exit $status
