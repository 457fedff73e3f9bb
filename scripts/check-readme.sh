#!/usr/bin/env bash
# Compiles every ```c block of README.md against the built library, so the
# README's examples cannot drift from the API.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -v dir="$work" '
  /^```c$/ { n++; out = dir "/snippet" n ".c"; inside = 1; next }
  /^```$/  { inside = 0; next }
  inside   { print > out }
' README.md
count=0
for f in "$work"/snippet*.c; do
  [[ -e $f ]] || continue
  cc -std=c11 -Wall -Wextra -Werror -Iinclude "$f" "$build/libami.a" -lcrypto -lssl -o "$f.bin"
  count=$((count + 1))
done
echo "README: $count C snippet(s) compile"
