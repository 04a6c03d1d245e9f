#!/usr/bin/env bash
# Speaks Rookery's wire protocol v1 with nothing but gpg, base64, curl, date and od: the worked
# example of docs/protocol.md, as one script.
#
#   enroll-and-submit.sh SERVER_URL HOSTNAME [GNUPGHOME [enroll|submit]]
#
# Without GNUPGHOME: makes a fresh GnuPG home under /tmp (short path: gpg-agent's sockets need
# one), generates an ed25519 signing key without passphrase and enrolls it as HOSTNAME. The home is
# kept and its path printed, so the same key can submit later.
# With GNUPGHOME: if the home holds no secret key yet (or does not exist), the key is made there and
# enrolled; if it holds one, one submission is sent, signed by that key. A fourth argument forces
# the mode: `enroll` asks again with an existing key (the server answers its current state),
# `submit` fails unless there is a key.
#
# Environment (all optional):
#   MACHINE_ID        machine id to enroll with (default: /etc/machine-id, else a random one)
#   ENROLLMENT_TOKEN  a token from the server's enrollment_tokens, to be accepted without an admin
#
# Prints the fingerprint, the HTTP status and the server's answer. Exit status: 0 when the server
# answered 200; 1 when it answered anything else (the error body is printed); 2 for a usage or local
# error; 3 when no answer came back at all (count it as not delivered: send again later).
# The gpg-agent of the home is stopped at the end, unless the home is your everyday one
# ($GNUPGHOME or ~/.gnupg).
set -euo pipefail

usage() {
    echo "usage: $0 SERVER_URL HOSTNAME [GNUPGHOME [enroll|submit]]" >&2
    exit 2
}
die() {
    echo "error: $*" >&2
    exit 2
}

[[ $# -ge 2 && $# -le 4 ]] || usage
server_url=${1%/}
host=$2
home=${3:-}
mode=${4:-}
case $mode in "" | enroll | submit) ;; *) usage ;; esac
for value in "$host" "${ENROLLMENT_TOKEN:-}" "${MACHINE_ID:-}"; do
    [[ $value != *[[:cntrl:]]* ]] || die "control character in the hostname, MACHINE_ID or ENROLLMENT_TOKEN"
done

for tool in gpg gpgconf base64 curl date od tr awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

# --- working files, GnuPG home and clean-up ------------------------------------------------------

work=$(mktemp -d /tmp/rkx-XXXXXX)   # request body, signature, answer; removed at exit
stop_agent=no
cleanup() {
    if [[ $stop_agent == yes ]]; then
        gpgconf --homedir "$home" --kill all >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

made_home=no
if [[ -z $home ]]; then
    home=$(mktemp -d /tmp/rkx-XXXXXX)
    made_home=yes
elif [[ ! -d $home ]]; then
    [[ $mode != submit ]] || die "no GnuPG home $home; enroll first"
    mkdir -p -m 700 "$home"
    made_home=yes
fi
home=$(cd "$home" && pwd)

# The agent gpg starts for this home is stopped at the end, except in the user's everyday home
# ($GNUPGHOME or ~/.gnupg), whose agent other programs share.
everyday=${GNUPGHOME:-${HOME:-/nonexistent}/.gnupg}
stop_agent=yes
if [[ $made_home == no && -d $everyday && $(cd "$everyday" && pwd) == "$home" ]]; then
    stop_agent=no
fi

gpg_() {
    # Every gpg call: this home only, never a question, messages to a log shown on failure.
    if ! gpg --homedir "$home" --batch --quiet "$@" 2>>"$work/gpg.log"; then
        cat "$work/gpg.log" >&2
        die "gpg $1 failed"
    fi
}

# --- JSON helpers -----------------------------------------------------------------------------------

# Prints TEXT as a JSON string literal: backslash and quote escaped, newline, CR and tab as \n, \r,
# \t. Other control characters are refused rather than sent wrong.
json_string() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    [[ $s != *[[:cntrl:]]* ]] || die "control character in a JSON value"
    printf '"%s"' "$s"
}

# 16 random bytes as 32 hex characters.
make_nonce() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# RFC 3339, UTC, whole seconds: 2025-01-31T12:00:00Z
now_utc() {
    date -u +%Y-%m-%dT%H:%M:%SZ
}

# --- the key ----------------------------------------------------------------------------------------

# The first fingerprint of the first secret key: the primary key, which is what must sign.
secret_fingerprint() {
    # awk reads to the end (no early exit), so gpg never dies of SIGPIPE under pipefail.
    { gpg --homedir "$home" --batch --with-colons --list-secret-keys 2>/dev/null || true; } \
        | awk -F: '$1 == "fpr" && !found { print $10; found = 1 }'
}

fpr=$(secret_fingerprint)
if [[ -z $mode ]]; then
    if [[ -n $fpr ]]; then mode=submit; else mode=enroll; fi
fi
if [[ -z $fpr ]]; then
    [[ $mode == enroll ]] || die "no secret key in $home; enroll first"
    # ed25519, usage "sign" only, so the primary key itself signs; no passphrase, never expires.
    gpg_ --passphrase '' --quick-gen-key "rookery device $host" ed25519 sign never
    fpr=$(secret_fingerprint)
    [[ -n $fpr ]] || die "key generation made no key"
fi
echo "GnuPG home:  $home"
echo "fingerprint: $fpr"

# --- the request body -------------------------------------------------------------------------------

# Each value is encoded into a variable first: a refusal inside json_string then stops the script.
# Values go in as printf arguments, never into the format, so their backslashes stay as they are.
nonce=$(make_nonce)
sent_at=$(now_utc)
host_json=$(json_string "$host")
# "endpoint" binds the body to the endpoint it is sent to ($mode): no other endpoint accepts it.
common=$(printf '"endpoint":"%s","host":%s,"key":"%s","nonce":"%s","sent_at":"%s"' "$mode" "$host_json" "$fpr" "$nonce" "$sent_at")

if [[ $mode == enroll ]]; then
    gpg_ --armor --export "$fpr" >"$work/key.asc"
    public_key=""
    IFS= read -r -d '' public_key <"$work/key.asc" || true   # whole file, final newline included
    key_json=$(json_string "$public_key")                     # its newlines become \n
    machine_id=${MACHINE_ID:-}
    if [[ -z $machine_id && -r /etc/machine-id ]]; then
        machine_id=$(tr -d ' \n' </etc/machine-id)
    fi
    [[ -n $machine_id ]] || machine_id=$(make_nonce)
    machine_json=$(json_string "$machine_id")
    token_field=""
    if [[ -n ${ENROLLMENT_TOKEN:-} ]]; then
        token_json=$(json_string "$ENROLLMENT_TOKEN")
        token_field=",\"enrollment_token\":$token_json"
    fi
    printf '{%s,"machine_id":%s,"public_key":%s%s}' \
        "$common" "$machine_json" "$key_json" "$token_field" >"$work/body.json"
else
    # One submission: a unique id (a repeat of it would be answered "duplicate"), the plugin results.
    submission_id="example-$(date -u +%Y%m%dT%H%M%SZ)-${nonce:0:8}"
    printf '{%s,"collected_at":"%s","plugins":{"example":{"script":"enroll-and-submit.sh","sent_at":"%s"}},"submission_id":"%s"}' \
        "$common" "$sent_at" "$sent_at" "$submission_id" >"$work/body.json"
    echo "submission:  $submission_id"
fi

# --- sign the exact bytes, send the same bytes -------------------------------------------------------

gpg_ --local-user "$fpr" --detach-sign --output "$work/body.sig" "$work/body.json"
signature=$(base64 -w0 "$work/body.sig")

status=$(curl --silent --show-error --max-time 30 \
    --output "$work/answer.json" --write-out '%{http_code}' \
    --header 'Content-Type: application/json' \
    --header "Rookery-Signature: $signature" \
    --data-binary "@$work/body.json" \
    "$server_url/rookery/v1/$mode") || status=000

if [[ $status == 000 ]]; then
    echo "no answer from $server_url: count it as not delivered and send again later" >&2
    exit 3
fi
echo "HTTP $status"
cat "$work/answer.json"
echo
if [[ $status != 200 ]]; then
    echo "error: the server refused the $mode request (HTTP $status)" >&2
    exit 1
fi
if [[ $made_home == yes && $mode == enroll ]]; then
    echo "to submit with this key: $0 $server_url $host $home"
fi
