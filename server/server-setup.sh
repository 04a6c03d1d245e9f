#!/usr/bin/env bash
# server-setup.sh: install the Rookery server into an install root.
#
#   server/server-setup.sh --root DIR [--yes] [--port N] [--binary PATH] [--user NAME]
#                          [--unit-dir DIR | --no-service] [--cron-dir DIR | --no-cron]
#                          [--email-owners] [--no-packages]
#
# Installs the OS packages the server needs (gnupg, libgpgme, libsqlite3, sqlite3), lays out DIR
# (bin/, lib/rookery/, server/, var/server/), writes server/settings.yml from the template if
# there is none and server/issues.yml (the audit's checks) if there is none, creates the server's
# keyring and its own signing key, and installs a systemd unit (default
# /etc/systemd/system/rookery-server.service; enable it with systemctl) that runs the server as
# the unprivileged system user NAME (default rookery, created if missing when a unit or a cron
# file is installed), who owns var/server/ and can read server/settings.yml.
# It also writes the cron file DIR/rookery-issues-audit (default /etc/cron.d), which runs
# `bin/issues audit --cron` every hour as NAME (with --email-owners: `--cron --email`, which also
# mails each device's owner) and mails what it prints to audit.mailto from server/settings.yml.
# That file is generated: every run rewrites it, so change the settings and run this again.
# --yes answers yes to every question. It never overwrites server/settings.yml or server/issues.yml:
# --port N goes into new settings only (a rerun says so; change ports with bin/configure_ports).
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$source_dir/bin/_setup-common"
root="" yes=0 port="" binary="" unit_dir="/etc/systemd/system" cron_dir="/etc/cron.d" packages=1 user="rookery"
email_owners=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="$2"; shift 2 ;;
        --yes|-y) yes=1; shift ;;
        --port) port="$2"; shift 2 ;;
        --binary) binary="$2"; shift 2 ;;
        --user) user="$2"; shift 2 ;;
        --unit-dir) unit_dir="$2"; shift 2 ;;
        --no-service) unit_dir=""; shift ;;
        --cron-dir) cron_dir="$2"; shift 2 ;;
        --no-cron) cron_dir=""; shift ;;
        --email-owners) email_owners=1; shift ;;
        --no-packages) packages=0; shift ;;
        --help|-h) usage; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$root" ] || { echo "error: --root DIR is required (see --help)" >&2; exit 2; }
if [ -n "$port" ]; then
    [[ "$port" =~ ^[0-9]{1,5}$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
        { echo "error: --port $port: a port is a number from 1 to 65535" >&2; exit 2; }
fi
root="$(realpath -m "$root")"
if [ -n "$cron_dir" ]; then
    # Both go into a cron line, which cron hands to /bin/sh (and where % means a newline).
    [[ "$root" =~ ^[A-Za-z0-9/._+-]+$ ]] ||
        { echo "error: the cron line cannot name the root $root; use a plainer path or --no-cron" >&2; exit 2; }
    [[ "$user" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "error: --user $user is not a user name" >&2; exit 2; }
fi

# Prints audit.mailto from a settings file, as the template writes it (a block `audit:` with an
# indented `mailto:` line), without quotes or comment; nothing when it is unset or empty.
audit_mailto() {
    awk '
        /^[^[:space:]#]/ { in_audit = ($0 ~ /^audit:[[:space:]]*(#.*)?$/); next }
        in_audit && /^[[:space:]]+mailto:/ {
            sub(/^[[:space:]]+mailto:[[:space:]]*/, "")
            sub(/^#.*$/, ""); sub(/[[:space:]]+#.*$/, ""); sub(/[[:space:]]+$/, "")
            if ($0 ~ /^".*"$/ || $0 ~ /^\047.*\047$/) $0 = substr($0, 2, length($0) - 2)
            if ($0 == "~" || $0 == "null") $0 = ""
            print
            exit
        }' "$1"
}


[ "$packages" -eq 1 ] && rookery_offer_packages gnupg libgpgme11 libsqlite3-0 sqlite3

[ -n "$binary" ] || binary="$(rookery_built_binary "$source_dir" rookery)"
[ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 1; }

mkdir -p "$root/bin" "$root/lib/rookery" "$root/server" "$root/var/server" "$root/var/client_releases"
chmod 700 "$root/var/server"
rookery_install_binary "$binary" "$root" rookery
rookery_install_files "$source_dir" "$root" 755 bin/_find-binary bin/server bin/clients \
    bin/client_release bin/patch_hosts bin/client_command bin/client_wipe bin/client_download \
    bin/issues bin/client_parameters bin/save_password bin/configure_ports
# What bin/client_release ships to devices, besides the client binary.
mkdir -p "$root/client/plugins"
rookery_install_files "$source_dir" "$root" 755 bin/_setup-common bin/client-cron bin/rookery-client \
    client/client-setup.sh
rookery_install_files "$source_dir" "$root" 644 client/crontab client/settings.yml.template
[ "$source_dir/client/plugins" -ef "$root/client/plugins" ] ||
    find "$source_dir/client/plugins" -maxdepth 1 -type f -perm -u+x -exec install -m 755 {} "$root/client/plugins/" \;
client_binary="$(dirname "$binary")/rookery-client"
[ -x "$client_binary" ] && rookery_install_binary "$client_binary" "$root" rookery-client
rookery_install_files "$source_dir" "$root" 644 server/settings.yml.template
if [ ! -f "$root/server/settings.yml" ]; then
    cp "$root/server/settings.yml.template" "$root/server/settings.yml"
    [ -n "$port" ] && sed -i "s|^listen_port: .*|listen_port: $port|" "$root/server/settings.yml"
    chmod 640 "$root/server/settings.yml"
elif [ -n "$port" ] && ! grep -qx "listen_port: $port" "$root/server/settings.yml"; then
    # The settings are the admin's now (ports may have been added with TLS): never rewritten here.
    echo "note: --port $port is not applied: $root/server/settings.yml exists and is never changed by this" >&2
    echo "script. Change ports with bin/configure_ports (docs/ports.md), then restart the server." >&2
fi
# The audit's checks: an admin's own issues.yml is never replaced.
[ -f "$root/server/issues.yml" ] || install -m 644 "$source_dir/server/issues.yml" "$root/server/issues.yml"
if [ -n "$cron_dir" ]; then
    mailto="$(audit_mailto "$root/server/settings.yml")"
    # Addresses, commas and spaces only: the value becomes a line of a file that cron reads as root.
    [[ "$mailto" =~ ^[A-Za-z0-9@._+,\ -]*$ ]] || {
        echo "error: audit.mailto in $root/server/settings.yml may hold only e-mail addresses separated by" >&2
        echo "commas; found ${mailto@Q}" >&2
        exit 1
    }
    mailto="${mailto// /}"
fi

# The server's own signing key (used to sign what the server tells clients to do).
gnupg_home="$root/var/server/gnupg"
mkdir -p "$gnupg_home" && chmod 700 "$gnupg_home"
if ! gpg --homedir "$gnupg_home" --batch --list-secret-keys 2>/dev/null | grep -q '^sec'; then
    if [ -f "$root/server/server-key.asc" ]; then
        echo "error: $root/server/server-key.asc names a server key that devices pin, but its secret half is" >&2
        echo "not in $gnupg_home. Restore that directory from a backup (or remove server-key.asc to start over)." >&2
        exit 1
    fi
    # gpg narrates what it creates (keybox, trustdb, revocation certificate): shown only on failure.
    gpg_said="$(gpg --homedir "$gnupg_home" --batch --passphrase '' --quick-gen-key "rookery server" ed25519 sign never 2>&1)" || {
        echo "error: gpg could not make the server key in $gnupg_home:" >&2
        printf '%s\n' "$gpg_said" >&2
        exit 1
    }
fi
# With gpg's own trust model, the first run after a key is made checks the trustdb and says so on
# stderr; nothing here depends on trust (the server uses trust-model always too).
server_key="$(gpg --homedir "$gnupg_home" --batch --trust-model always --with-colons --list-secret-keys |
    awk -F: '/^fpr/ {print $10; exit}')"
gpg --homedir "$gnupg_home" --batch --trust-model always --armor --export "$server_key" > "$root/server/server-key.asc"
echo "server key: $server_key (public half in $root/server/server-key.asc)"

if [ -n "$unit_dir" ] || [ -n "$cron_dir" ]; then
    # The server reads OpenPGP data from anyone who connects: it runs as nobody in particular, and
    # so does the audit, which works on the same database.
    if ! id "$user" >/dev/null 2>&1; then
        rookery_confirm "Create the system user $user to run the server?" || { echo "error: no user $user" >&2; exit 1; }
        useradd --system --home-dir "$root/var/server" --no-create-home --shell /usr/sbin/nologin "$user"
    fi
    chown -R "$user:$(id -gn "$user")" "$root/var/server" "$root/var/client_releases"
    # The settings may hold the SMTP password: readable by the server's group, not by everyone.
    chgrp "$(id -gn "$user")" "$root/server/settings.yml"
fi
if [ -n "$unit_dir" ]; then
    mkdir -p "$unit_dir"
    for unit in rookery-server.service rookery-enroll-check.socket rookery-enroll-check@.service; do
        sed -e "s|ROOT|$root|g" -e "s|USER|$user|g" -e "s|GROUP|$(id -gn "$user")|g" \
            "$source_dir/server/$unit" > "$unit_dir/$unit"
    done
    echo "systemd units: $unit_dir/rookery-server.service, rookery-enroll-check.socket and rookery-enroll-check@.service"
    echo "  (systemctl daemon-reload; systemctl enable --now rookery-enroll-check.socket rookery-server)"
fi
if [ -n "$cron_dir" ]; then
    # cron.d skips names with a dot, so the temporary file is never run half written.
    mkdir -p "$cron_dir"
    audit_args="--cron"
    [ "$email_owners" -eq 1 ] && audit_args="--cron --email"
    {
        echo "# The hourly issues audit of the Rookery server in $root (see docs/issues.md)."
        echo "# Cron mails what it prints, the alerts due now, to MAILTO (audit.mailto in server/settings.yml)."
        echo "# Written by server/server-setup.sh, which rewrites this file on every run: change the settings"
        echo "# and run it again rather than editing here."
        [ -n "$mailto" ] && echo "MAILTO=$mailto"
        echo "0 * * * * $user $root/bin/issues audit $audit_args"
    } > "$cron_dir/.rookery-issues-audit.new"
    chmod 644 "$cron_dir/.rookery-issues-audit.new"
    mv -f "$cron_dir/.rookery-issues-audit.new" "$cron_dir/rookery-issues-audit"
    echo "cron: $cron_dir/rookery-issues-audit runs bin/issues audit $audit_args hourly as $user"
    if [ -z "$mailto" ]; then
        echo "note: audit.mailto is not set in $root/server/settings.yml, so cron mails the audit to $user's" >&2
        echo "local mailbox, if anywhere. Set audit.mailto to the administrators' addresses and run this again." >&2
    fi
fi
echo "server installed in $root"
