#!/usr/bin/env bash
# Installs the Debian 12 packages libami needs to build, test and run its
# tools. Safe to run again; does nothing when everything is present, and
# then needs no root (scripts/test.sh calls it first, as any user).
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # the build
  clang                              # second compiler, libFuzzer, sanitizers
  libssl-dev                         # OpenSSL: MD5 challenge login and TLS
  libcmocka-dev                      # unit-test framework
  libjansson-dev                     # JSON output of the `ami` tool
  libncurses-dev                     # `ami top`'s full-screen view (ncursesw)
  tmux                               # the CLI tests drive `ami top` and `ami shell` in a terminal
  libedit-dev                        # `ami shell`: line editing, history, completion
  jq python3                         # the CLI tests check JSON with jq; scripted peers
  clang-format valgrind procps
  libuv1-dev libev-dev libevent-dev  # event-loop adapter tests (optional); libuv: amid's loop
  libwebsockets-dev libwebsockets-evlib-uv  # amid: HTTP, WebSocket, TLS on the libuv loop
  libinih-dev                        # amid: amid.conf (INI)
  libnats-dev nats-server            # amid's optional JetStream publishing; its tests start nats-server -js
  python3-websockets curl            # amid's end-to-end tests; the demo's REST call
  chromium                           # the panel's browser tests (tests/browser: playwright-core drives Debian's chromium)
)

# Node.js and npm run the browser tests (npm ci of tests/browser). A machine
# may already have them from another packaging of Node (nodesource's nodejs
# carries its own npm and conflicts with Debian's npm package), so ask for
# Debian's only when the commands are missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing ${missing[*]}; run this script as root once to apt-get install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
