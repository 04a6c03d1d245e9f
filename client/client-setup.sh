#!/usr/bin/env bash
# client-setup.sh: install the Rookery client into an install root.
#
#   client/client-setup.sh --root DIR [--yes] [--server-url URL] [--binary PATH]
#                          [--cron-file PATH | --no-cron] [--unit-dir DIR | --no-agent-unit]
#                          [--no-packages] [--enroll]
#
# Installs the OS packages the client needs (gnupg, libgpgme, libcurl), lays out DIR (bin/,
# lib/rookery/, client/, var/client/), writes client/settings.yml from the template if there is
# none, writes --server-url into client/release.yml (which the first release replaces), makes the
# device's own key, and installs the crontab line that runs bin/client-cron every
# minute (default /etc/cron.d/rookery-client), and the systemd unit rookery-agent.service that
# keeps `rookery-client agent` running (default in /etc/systemd/system, enabled there when systemd
# runs; --no-cron without --unit-dir writes no unit either). --yes answers yes to every question (for
# scripts). It never overwrites an existing client/settings.yml. Run from an unpacked release (see
# bin/client_download), it also installs the server key the device pins and the release settings.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$source_dir/bin/_setup-common"
root="" yes=0 server_url="" binary="" cron_file="/etc/cron.d/rookery-client" packages=1 enroll=0
unit_dir="/etc/systemd/system" unit_dir_given=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="$2"; shift 2 ;;
        --yes|-y) yes=1; shift ;;
        --server-url) server_url="$2"; shift 2 ;;
        --binary) binary="$2"; shift 2 ;;
        --cron-file) cron_file="$2"; shift 2 ;;
        --no-cron) cron_file=""; shift ;;
        --unit-dir) unit_dir="$2"; unit_dir_given=1; shift 2 ;;
        --no-agent-unit) unit_dir=""; unit_dir_given=1; shift ;;
        --no-packages) packages=0; shift ;;
        --enroll) enroll=1; shift ;;
        --help|-h) usage; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$root" ] || { echo "error: --root DIR is required (see --help)" >&2; exit 2; }
# --no-cron says "leave this machine's schedulers alone" (tests, quickstart): the unit too, unless asked.
if [ -z "$cron_file" ] && [ "$unit_dir_given" -eq 0 ]; then unit_dir=""; fi
# Written into the unit's ExecStart, which systemd splits at blanks and expands % and $ in.
if [ -n "$unit_dir" ] && ! [[ "$root" =~ ^/[A-Za-z0-9/._+-]+$ ]]; then
    echo "error: the agent's systemd unit cannot name the root $root; use a plainer absolute path or --no-agent-unit" >&2
    exit 2
fi
# Written double-quoted into client/release.yml: no quotes, backslashes, blanks or control characters.
if [ -n "$server_url" ] && ! [[ "$server_url" =~ ^https?://[^[:space:][:cntrl:]\"\\]+$ ]]; then
    echo "error: --server-url wants an http:// or https:// URL, like https://rookery.example.org:8443" >&2
    exit 2
fi

# Sets server_url in root $1's client/release.yml (made if missing, other lines kept) to $2.
write_release_url() {
    local file="$1/client/release.yml"
    if [ -e "$1/current" ]; then
        echo "warning: $1 runs a release (current/), whose client/release.yml names the server: --server-url" \
             "is not used. To keep this device on another URL whatever releases say, put server_url and" \
             "keep_server_url: true in $1/client/settings.yml (docs/ports.md)" >&2
    fi
    { [ -f "$file" ] && grep -v '^server_url:' "$file"; printf 'server_url: "%s"\n' "$2"; } > "$file.new"
    chmod 600 "$file.new"
    mv -f "$file.new" "$file"
}

[ "$packages" -eq 1 ] && rookery_offer_packages gnupg libgpgme11 libcurl4

[ -n "$binary" ] || binary="$(rookery_built_binary "$source_dir" rookery-client)"
[ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 1; }

mkdir -p "$root/bin" "$root/lib/rookery" "$root/client/plugins" "$root/var/client"
chmod 700 "$root/var/client"
rookery_install_binary "$binary" "$root" rookery-client
rookery_install_files "$source_dir" "$root" 755 bin/_find-binary bin/client-cron bin/rookery-client
rookery_install_files "$source_dir" "$root" 644 client/settings.yml.template
# Set up from an unpacked release: keep what it carries for the device (server key to pin,
# release settings, manifest with the release number, and the CA it pins for the server's TLS
# certificate, when it carries one).
for file in client/server-key.asc client/server-ca.pem manifest.json manifest.json.sig; do
    [ -f "$source_dir/$file" ] && rookery_install_files "$source_dir" "$root" 644 "$file"
done
# It may hold an enrollment token: readable by root only.
[ -f "$source_dir/client/release.yml" ] && rookery_install_files "$source_dir" "$root" 600 client/release.yml
if [ -d "$source_dir/client/plugins" ]; then
    find "$source_dir/client/plugins" -maxdepth 1 -type f -perm -u+x -exec install -m 755 {} "$root/client/plugins/" \;
fi
if [ ! -f "$root/client/settings.yml" ]; then
    cp "$root/client/settings.yml.template" "$root/client/settings.yml"
    # It may hold an enrollment token: readable by root only.
    chmod 600 "$root/client/settings.yml"
fi
# The server URL is the release's to manage: it goes into the root's client/release.yml, which the
# first release installed supersedes, never into the owner's client/settings.yml (docs/ports.md).
if [ -n "$server_url" ]; then
    write_release_url "$root" "$server_url"
fi

fingerprint="$(ROOKERY_HOME="$root" "$root/bin/rookery-client" key)"
echo "device key: $fingerprint"

if [ -n "$cron_file" ]; then
    sed "s|ROOT|$root|" "$source_dir/client/crontab" > "$cron_file.tmp" && mv "$cron_file.tmp" "$cron_file"
    echo "cron: $cron_file runs $root/bin/client-cron every minute"
fi
if [ -n "$unit_dir" ]; then
    mkdir -p "$unit_dir"
    # KillMode=process: stopping the agent leaves the shell sessions it started running (each is
    # in a session of its own and ends with its shell); exit 78 is `agent: false` in the settings.
    cat > "$unit_dir/.rookery-agent.service.new" <<EOF
[Unit]
Description=Rookery client agent: opens remote shells and takes urgent updates at once
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
Environment=ROOKERY_HOME=$root
ExecStart=$root/bin/rookery-client agent --wait
Restart=always
RestartSec=10
RestartPreventExitStatus=78
KillMode=process

[Install]
WantedBy=multi-user.target
EOF
    chmod 644 "$unit_dir/.rookery-agent.service.new"
    mv -f "$unit_dir/.rookery-agent.service.new" "$unit_dir/rookery-agent.service"
    echo "systemd unit: $unit_dir/rookery-agent.service"
    # Only the system's own unit directory, on a machine systemd runs: never a directory given for tests.
    if [ "$unit_dir" = /etc/systemd/system ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl daemon-reload && systemctl enable --now rookery-agent.service \
            || echo "warning: could not enable rookery-agent.service; client-cron starts the agent instead" >&2
    else
        echo "enable it with: systemctl enable --now rookery-agent (else client-cron starts the agent)"
    fi
fi
if [ "$enroll" -eq 1 ]; then
    ROOKERY_HOME="$root" "$root/bin/rookery-client" enroll
fi
echo "client installed in $root"
