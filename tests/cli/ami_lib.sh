# Shared set-up of the `ami` shell tests: the binaries, a temp dir removed
# at exit with every simulator started, and the helpers most scripts use.
# Sourced by tests/cli/test_ami_*.sh and test_security.sh; a script may
# redefine any function after sourcing (trap calls `cleanup` by name).
set -euo pipefail

: "${AMI_BIN_DIR:?set AMI_BIN_DIR}"
AMI="$AMI_BIN_DIR/ami"
SIM="$AMI_BIN_DIR/ami-sim"
[ -x "$AMI" ] || { echo "ami binary not found under $AMI_BIN_DIR" >&2; exit 1; }
[ -x "$SIM" ] || { echo "ami-sim binary not found under $AMI_BIN_DIR" >&2; exit 1; }

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# ami-sim drops a client whose socket accepts nothing for 100 ms, as
# Asterisk does; on a loaded machine a client that reads as it should may
# not be scheduled for that long. Tests not about that timeout get a
# generous one (a --write-timeout in ARGS comes later and wins).
SIM_WRITE_TIMEOUT=30000

# A process the test signals (kill -INT, or kill in cleanup) runs under
# `timeout --foreground`. Without it, timeout forwards the signal and then
# sends SIGCONT to the child and its process group; a sanitized child that
# is by then exiting is in LeakSanitizer's leak check, whose ptrace attach
# stops it with a SIGSTOP, and a SIGCONT arriving before that SIGSTOP is
# taken discards it (POSIX): the tracer waits for a stop that never comes
# and the process hangs, fully done, until timeout's -k SIGKILL (exit 137).
# On a loaded machine timeout can be scheduled out between the two sends
# for longer than ami takes to log off and exit. --foreground forwards the
# signal to the child alone and sends no SIGCONT; -k still applies.

# sim NAME ARGS...: start ami-sim (at most 120 s) on a free loopback port
# with ARGS, set $PORT from its "listening on" line; its log goes to
# $TMP/NAME.err.
sim() {
    local name=$1
    shift
    timeout --foreground -k 30 120 "$SIM" --listen 127.0.0.1:0 --verbose --write-timeout "$SIM_WRITE_TIMEOUT" "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS+=($!)
    PORT=
    for _ in $(seq 600); do
        PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$TMP/$name.out" 2>/dev/null || true)
        [ -n "$PORT" ] && break
        sleep 0.05
    done
    [ -n "$PORT" ] || fail "ami-sim $name $* did not start: $(cat "$TMP/$name.err")"
}

# run STATUS ARGS...: run `ami ARGS` (at most 60 s, no stdin) into
# $TMP/out and $TMP/err and require exit status STATUS.
# Every timeout(1) here has -k 30: timeout starts its KILL timer when it
# forwards any signal (the SIGINT tests send it one), and a sanitized ami
# logging off on a loaded machine can take more than a few seconds.
run() {
    local want=$1 rc
    shift
    set +e
    timeout -k 30 60 "$AMI" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq "$want" ] || fail "ami $*: exit $rc, want $want; stderr: $(cat "$TMP/err")"
}
err_has() { grep -qE -- "$1" "$TMP/err" || fail "stderr lacks '$1': $(cat "$TMP/err")"; }
err_lacks() { grep -qE -- "$1" "$TMP/err" && fail "stderr has '$1': $(cat "$TMP/err")" || true; }
