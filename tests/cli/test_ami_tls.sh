#!/usr/bin/env bash
# `ami --tls` against ami-sim --tls-cert/--tls-key with a throw-away CA made
# here by the openssl command: a good certificate works (action, cli,
# events, two servers), an unknown CA or a wrong name ends with 3 and a
# message about the certificate and --cafile, --insecure works with a
# warning every time, client certificates, option checks.
set -euo pipefail

source "$(dirname "$0")/ami_lib.sh"
: "${AMI_FIXTURES:?set AMI_FIXTURES}"
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }
if ! command -v openssl >/dev/null; then
    echo "SKIP: the openssl command is needed to make a throw-away CA"
    exit 0
fi
if ! "$SIM" --help 2>&1 | grep -q -- --tls-cert; then
    echo "SKIP: this ami-sim has no --tls-cert (libami built without OpenSSL)"
    exit 0
fi

unset AMI_HOST AMI_PORT
export AMI_USER=admin AMI_SECRET=amp111

# ---- the throw-away CAs: ca signs the servers and the client, other_ca
# signs nothing we trust.
ssl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $*"; }
mkca() {
    ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/$1.key" \
        -out "$TMP/$1.pem" -days 2 -subj "/CN=$2" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign
}
# mkleaf NAME CA CN EXTENSIONS
mkleaf() {
    printf '%b\n' "$4" >"$TMP/$1.ext"
    ssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/$1.key" \
        -out "$TMP/$1.csr" -subj "/CN=$3"
    ssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/$2.pem" -CAkey "$TMP/$2.key" -CAcreateserial \
        -out "$TMP/$1.pem" -days 2 -extfile "$TMP/$1.ext"
}
mkca ca "ami test CA"
mkca other_ca "unrelated CA"
mkleaf server ca localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'
mkleaf other other_ca localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'
mkleaf client ca ami-client 'extendedKeyUsage=clientAuth'
chmod 600 "$TMP"/*.key

sim good --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key"
G=$PORT
sim bad --tls-cert "$TMP/other.pem" --tls-key "$TMP/other.key"
X=$PORT
sim plain
PLAIN=$PORT
sim mtls --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key" --tls-ca "$TMP/ca.pem"
M=$PORT
CA=(--tls --cafile "$TMP/ca.pem")

# ---- a certificate that verifies: every command.
run 0 "${CA[@]}" -H "127.0.0.1:$G" action Ping
grep -qx 'Ping: Pong' "$TMP/out" || fail "TLS Ping: $(cat "$TMP/out")"
err_lacks 'warning'
run 0 "${CA[@]}" -H "localhost:$G" --md5 -f json action Ping
jq -e '.[0].Ping == "Pong"' "$TMP/out" >/dev/null || fail "TLS MD5 Ping by name"
run 0 "${CA[@]}" -H "127.0.0.1:$G" cli core show version
grep -q '^Asterisk' "$TMP/out" || fail "TLS cli: $(cat "$TMP/out")"
run 0 "${CA[@]}" -H "127.0.0.1:$G" -f ndjson events --until Event=FullyBooted
jq -e -s 'length == 1 and .[0].Event == "FullyBooted"' "$TMP/out" >/dev/null || fail "TLS events: $(cat "$TMP/out")"
# --capath: a hashed directory of CA certificates.
mkdir "$TMP/cadir"
cp "$TMP/ca.pem" "$TMP/cadir/"
ln -s ca.pem "$TMP/cadir/$(openssl x509 -hash -noout -in "$TMP/ca.pem").0"
run 0 --tls --capath "$TMP/cadir" -H "127.0.0.1:$G" action Ping
# Two TLS servers watched at once, tagged.
sim good2 --tls-cert "$TMP/server.pem" --tls-key "$TMP/server.key"
G2=$PORT
run 0 "${CA[@]}" -H "127.0.0.1:$G" -H "localhost:$G2" -f ndjson events --count 2 --filter Event=FullyBooted
jq -e -s --arg a "127.0.0.1:$G" --arg b "localhost:$G2" '[.[].Server] | sort == ([$a, $b] | sort)' "$TMP/out" \
    >/dev/null || fail "two TLS servers: $(cat "$TMP/out")"

# ---- an unknown CA: 3, the certificate named, --cafile advised.
for cmd in "action Ping" "cli core show version" "events"; do
    # shellcheck disable=SC2086
    run 3 "${CA[@]}" -H "127.0.0.1:$X" $cmd
    err_has 'certificate'
    err_has 'did not verify'
    err_has -- '--cafile'
done
# The system store does not know our CA either.
run 3 --tls -H "127.0.0.1:$G" action Ping
err_has 'certificate.*--cafile'
# A name the certificate does not carry.
run 3 "${CA[@]}" --tls-server-name pbx.example.com -H "127.0.0.1:$G" action Ping
err_has 'certificate.*--tls-server-name'
run 3 "${CA[@]}" --tls-server-name pbx.example.com -H "127.0.0.1:$G" events
err_has 'certificate.*--tls-server-name'
run 0 "${CA[@]}" --tls-server-name localhost -H "127.0.0.1:$G" action Ping

# ---- --insecure: works, and warns every time.
run 0 --tls --insecure -H "127.0.0.1:$X" action Ping
err_has '^ami: warning: --insecure: .*NOT verified'
run 0 --tls --insecure -H "127.0.0.1:$X" -f ndjson events --until Event=FullyBooted
err_has '^ami: warning: --insecure'
jq -e -s '.[0].Event == "FullyBooted"' "$TMP/out" >/dev/null || fail "--insecure events"

# ---- client certificates.
run 3 "${CA[@]}" -H "127.0.0.1:$M" action Ping
run 0 "${CA[@]}" --cert "$TMP/client.pem" --key "$TMP/client.key" -H "127.0.0.1:$M" action Ping
run 0 "${CA[@]}" --cert "$TMP/client.pem" --key "$TMP/client.key" -H "127.0.0.1:$M" events --count 1
grep -q '^Event: ' "$TMP/out" || fail "client certificate events: $(cat "$TMP/out")"

# ---- TLS against a plain port: 3. Plain against a TLS port: the server
# waits for a TLS hello, the client for a banner: a timeout (5) that
# suggests --tls.
run 3 "${CA[@]}" -H "127.0.0.1:$PLAIN" --timeout 3 action Ping
run 5 -H "127.0.0.1:$G" --timeout 1 action Ping
err_has 'add --tls'
run 5 -H "127.0.0.1:$G" --timeout 1 events
err_has 'add --tls'

# ---- the default port becomes 5039 with --tls (a port given wins).
run 0 "${CA[@]}" -H 127.0.0.1 -p "$G" action Ping
set +e
timeout -k 30 60 "$AMI" --tls --cafile "$TMP/ca.pem" -H 127.0.0.1 --timeout 2 action Ping </dev/null >/dev/null 2>"$TMP/err"
set -e
err_has '127\.0\.0\.1:5039'

# ---- option checks: usage errors, nothing sent.
run 2 --cafile "$TMP/ca.pem" -H "127.0.0.1:$G" action Ping
err_has -- '--cafile only applies with --tls'
run 2 --insecure -H "127.0.0.1:$G" action Ping
run 2 --tls --cert "$TMP/client.pem" -H "127.0.0.1:$G" action Ping
err_has -- '--cert needs --key'
run 2 --tls --cafile "$TMP/nonexistent.pem" -H "127.0.0.1:$G" action Ping
err_has 'cannot read --cafile'
run 2 --tls --insecure --cafile "$TMP/ca.pem" -H "127.0.0.1:$G" action Ping

echo ok
