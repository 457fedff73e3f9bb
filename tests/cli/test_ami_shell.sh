#!/usr/bin/env bash
# `ami shell` driven in tmux against ami-sim: completion of an action and
# of its headers (from the server's own documentation, cached on disk), a
# missing required header refused with nothing sent, events printed while
# a line is half typed, filters, help, cli, Ctrl-C giving up on a waiting
# action, Ctrl-D, history across runs, --record.
source "$(dirname "$0")/ami_lib.sh"
# libedit's own leak (see the file), for the ASan build.
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan_libedit.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
command -v tmux >/dev/null || fail "tmux is needed (scripts/install-deps.sh)"
export AMI_SECRET=amp111
TSOCK="$TMP/tmux.sock"
cleanup() {
    tmux -S "$TSOCK" kill-server 2>/dev/null || true
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    # Bounded: a sim that does not exit (seen once: LeakSanitizer's exit
    # check stuck on a loaded machine) is killed with its `timeout` parent,
    # so no process outlives the test.
    for p in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        pkill -KILL -P "$p" 2>/dev/null || true
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
sim shell --record "$TMP/actions.log"
mkdir -p "$TMP/home"

start_shell() {
    tmux -S "$TSOCK" new-session -d -s "$1" -x 160 -y 60 \
        "env HOME=$TMP/home XDG_CACHE_HOME= XDG_STATE_HOME= AMI_HISTORY= TERM=xterm \
         AMI_SECRET=amp111 $AMI -p $PORT -u admin shell $2; echo SHELL-EXIT=\$?; read x"
}
keys() { tmux -S "$TSOCK" send-keys -t "$S" "$@"; }
pane() { tmux -S "$TSOCK" capture-pane -p -J -S -200 -t "$S"; }
# wait_pane REGEX: poll the screen until REGEX (grep -E) shows, 20 s at most.
wait_pane() {
    for _ in $(seq 400); do
        pane | grep -qE -- "$1" && return 0
        sleep 0.05
    done
    fail "the shell never showed '$1'; screen:
$(pane)"
}
# last_line REGEX: the cursor's line (the last non-empty one) matches.
last_line() {
    for _ in $(seq 400); do
        # As shown, or without the blanks a longer line left behind.
        local l
        l=$(pane | grep -v '^$' | tail -1)
        [[ "$l" =~ $1 ]] && return 0
        l=$(printf '%s' "$l" | sed 's/ *$//')
        [[ "$l" =~ $1 ]] && return 0
        sleep 0.05
    done
    fail "the last line is not '$1': $(pane | grep -v '^$' | tail -3)"
}
sent() { tr -d '\r' <"$TMP/actions.log" | grep -c -- "$1" || true; }

S=one
start_shell one "--record $TMP/rec"
wait_pane "^connected to localhost:$PORT"

# An action name, then header names, as the server documents them.
keys 'Orig' Tab
last_line '^ami> Originate $'
keys 'Cont' Tab
last_line '^ami> Originate Context=$'
keys 'test Exten=100 Prio' Tab
last_line '^ami> Originate Context=test Exten=100 Priority=$'
# Two candidates: the common part, then the list.
keys '1 Chan' Tab
last_line 'Priority=1 Channel$'
keys Tab
wait_pane '^Channel +ChannelId *$'
keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace Enter
wait_pane 'Originate needs Channel \(the server documents it as required\) — nothing was sent'
[ "$(sent '^Action: Originate$')" = 0 ] || fail "the refused Originate was sent"
[ "$(sent '^Command: manager show command Originate$')" = 1 ] || fail "docs not fetched once"

# Events between prompts, the line being typed kept.
keys 'events on' Enter
wait_pane '^events on$'
keys 'Pin'
last_line '^ami> Pin$'
run 0 -p "$PORT" -u admin action UserEvent UserEvent=HalfTyped
wait_pane '^UserEvent: HalfTyped$'
last_line '^ami> Pin$'
keys Tab
last_line '^ami> Ping $'
keys Enter
wait_pane '^Ping: Pong$'

# filter Key=GLOB: only matching events are printed.
keys 'filter UserEvent=Only*' Enter
last_line '^ami> $'
run 0 -p "$PORT" -u admin action UserEvent UserEvent=Nope
run 0 -p "$PORT" -u admin action UserEvent UserEvent=OnlyThis
wait_pane '^UserEvent: OnlyThis$'
pane | grep -q '^UserEvent: Nope$' && fail "the filter let UserEvent Nope through"

# help, cli, wire form.
keys 'help Originate' Enter
wait_pane '^Required: Channel$'
keys 'help event Hangup' Enter
wait_pane '^Event Hangup — Raised when a channel is hung up\.$'
keys 'cli core show version' Enter
wait_pane '^Asterisk 22\.10\.1 built by root'
keys 'Action: Getvar' Enter 'Variable: GLOBALVAR' Enter Enter
wait_pane '^Value: initial-value$'
keys 'Getvar Channel=x' Enter
wait_pane 'Getvar needs Variable'

# Ctrl-C gives up waiting (the sim holds WaitEvent); the late answer is
# dropped with a note, and the shell goes on.
keys 'WaitEvent Timeout=30' Enter
for _ in $(seq 200); do [ "$(sent '^Action: WaitEvent$')" = 1 ] && break; sleep 0.05; done
keys C-c
wait_pane 'stopped waiting for WaitEvent'
run 0 -p "$PORT" -u admin action UserEvent UserEvent=EndWait
wait_pane 'the answer to the cancelled WaitEvent came \(Success\) and was dropped'
keys 'Ping' Enter
for _ in $(seq 200); do [ "$(pane | grep -c '^Ping: Pong$')" = 2 ] && break; sleep 0.05; done
[ "$(pane | grep -c '^Ping: Pong$')" = 2 ] || fail "no Ping after Ctrl-C: $(pane)"

# Ctrl-C at the prompt discards the line being typed.
keys 'Getvar Variable=DISCARDED'
last_line 'DISCARDED$'
keys C-c
last_line '^ami> $'
keys Enter
[ "$(sent '^Variable: DISCARDED$')" = 0 ] || fail "Ctrl-C sent the line"
# Lower-case shell commands, capitalised AMI actions of the same name.
keys 'Filter Operation=Add Filter=Event:\ UserEvent' Enter
wait_pane '^Message: Success$'
[ "$(sent '^Action: Filter$')" = 1 ] || fail "Filter (the action) was not sent"

# Ctrl-D leaves (status 0); the recording is complete and masked.
keys C-d
wait_pane '^SHELL-EXIT=0$'
grep -q $'^Secret: \*\*\*\*\*\*\*\*\r$' "$TMP/rec.sent" || fail "shell --record: secret not masked"
grep -q amp111 "$TMP/rec.sent" && fail "shell --record: the secret leaked"
grep -q $'^Action: Ping\r$' "$TMP/rec.sent" || fail "shell --record lacks Ping"
grep -q $'^UserEvent: HalfTyped\r$' "$TMP/rec.raw" || fail "shell --record lacks the event"
[ -s "$TMP/rec.timeline" ] || fail "no timeline"

# History across runs, and the documentation from the cache.
[ -s "$TMP/home/.local/state/ami/shell_history" ] || fail "no history file"
S=two
start_shell two ""
wait_pane "^connected to localhost:$PORT"
keys Up
last_line '^ami> Filter Operation=Add Filter=Event:\\ UserEvent$'
keys Up
last_line '^ami> Ping$'
keys C-u 'Originate Exten=1' Enter
wait_pane 'Originate needs Channel'
[ "$(sent '^Command: manager show command Originate$')" = 1 ] ||
    fail "the second run did not use the cached documentation"
ls "$TMP/home/.cache/ami/"*/*/command.Originate >/dev/null || fail "no cache file"
keys C-d
wait_pane '^SHELL-EXIT=0$'

# A tampered cache file is not trusted: removed, fetched again.
for f in "$TMP/home/.cache/ami/"*/*/command.Originate; do printf 'garbage\n' >"$f"; done
S=three
start_shell three ""
wait_pane "^connected to localhost:$PORT"
keys 'Originate Exten=1' Enter
wait_pane 'Originate needs Channel'
[ "$(sent '^Command: manager show command Originate$')" = 2 ] || fail "tampered cache used"
keys 'quit' Enter
wait_pane '^SHELL-EXIT=0$'
# No server at start: the shell says so, keeps trying with the same
# options, and says when it is connected.
sim gone
GONE=$PORT
kill "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null || true
PORT=$GONE
S=four
start_shell four "--timeout 0.5"
wait_pane "still trying in the background"
last_line '^ami \(not connected\)> $'
timeout --foreground 120 "$SIM" --listen "127.0.0.1:$GONE" >"$TMP/back.out" 2>&1 &
PIDS+=($!)
wait_pane "^ami: connected to localhost:$GONE$"
keys 'Ping' Enter
wait_pane '^Ping: Pong$'
keys C-d
wait_pane '^SHELL-EXIT=0$'
echo "shell: ok"
