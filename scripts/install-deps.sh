#!/usr/bin/env bash
# Installs the Debian 12 packages libami needs to build, test and run its
# tools. Safe to run again; does nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # the build
  clang                              # second compiler, libFuzzer, sanitizers
  libssl-dev                         # OpenSSL: MD5 challenge login (TLS later)
  libcmocka-dev                      # unit-test framework
  libjansson-dev                     # JSON output of the `ami` tool
  libedit-dev                        # `ami shell`: line editing, history, completion
  tmux                               # the `ami shell` tests drive it in a terminal
  jq python3                         # the CLI tests check JSON with jq; scripted peers
  clang-format valgrind procps
  libuv1-dev libev-dev libevent-dev  # event-loop adapter tests (optional)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to apt-get install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
