#!/usr/bin/env bash
# The Debian package: built with `cargo deb`, installed with `dpkg -i` on this machine, its
# files and unit checked, the installed binary run with the installed configuration and the
# master key the installation generated; purged at the end. Needs root (tests/run runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

if ! command -v cargo-deb >/dev/null 2>&1; then
    echo "tests/package.sh: installing cargo-deb" >&2
    env -u CARGO_TARGET_DIR cargo install --locked cargo-deb@3.8.0
fi
rm -rf "$target/debian"
cargo deb --locked --output "$target/debian/" >/dev/null
deb=$(ls "$target"/debian/nixa_*.deb)
echo "package: $(basename "$deb") ($(du -h "$deb" | cut -f1))" >&2

dpkg --purge nixa >/dev/null 2>&1 || true
trap 'dpkg --purge nixa >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb" >/dev/null

fail() { echo "tests/package.sh: $*" >&2; exit 1; }
[ "$(stat -c '%a %U' /usr/bin/nixa)" = "755 root" ] || fail "/usr/bin/nixa"
[ "$(stat -c '%a %U' /etc/nixa/nixa.toml)" = "640 root" ] || fail "/etc/nixa/nixa.toml is not 0640 root"
[ "$(stat -c '%a %U' /etc/nixa/master.key)" = "600 root" ] || fail "the installation did not generate a root-only master key"
grep -q /etc/nixa/nixa.toml /var/lib/dpkg/info/nixa.conffiles || fail "nixa.toml is not a conffile"
unit=/lib/systemd/system/nixa.service
[ -f "$unit" ] || fail "no systemd unit"
for hardening in DynamicUser=yes StateDirectory=nixa ProtectSystem=strict NoNewPrivileges=yes "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" "ExecStartPre=/usr/bin/nixa --config %d/nixa.toml migrate"; do
    grep -qxF "$hardening" "$unit" || fail "the unit lacks $hardening"
done
if command -v systemd-analyze >/dev/null 2>&1; then
    verdict=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $verdict"
    [ -z "$verdict" ] || fail "systemd-analyze verify: $verdict"
fi
/usr/bin/nixa --version >/dev/null

# Run as the unit would (minus systemd): the installed configuration with an issuer and a
# state directory of the test's own, the generated master key, migrate then serve.
state=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s|^# issuer = .*|issuer = \"http://localhost:$port\"|" \
    -e "s|^listen = .*|listen = \"127.0.0.1:$port\"|" \
    -e "s|sqlite:///var/lib/nixa/nixa.db|sqlite://$state/nixa.db|" \
    -e "s|/run/credentials/nixa.service/master.key|/etc/nixa/master.key|" \
    /etc/nixa/nixa.toml > "$state/nixa.toml"
echo 'metrics_listen = ""' >> "$state/nixa.toml"
/usr/bin/nixa --config "$state/nixa.toml" migrate >/dev/null
/usr/bin/nixa --config "$state/nixa.toml" serve > "$state/out.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; dpkg --purge nixa >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
ready=""
for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:$port/readyz', timeout=2).status == 200 else 1)" 2>/dev/null; then
        ready=yes && break
    fi
    sleep 0.2
done
[ -n "$ready" ] || { cat "$state/out.log" >&2; fail "the installed nixa did not become ready"; }
issuer=$(python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:$port/.well-known/openid-configuration'))['issuer'])")
[ "$issuer" = "http://localhost:$port" ] || fail "discovery says issuer $issuer"
kill $server && wait $server || true

# Purge removes the configuration and the generated key.
dpkg --purge nixa >/dev/null
[ ! -e /usr/bin/nixa ] && [ ! -e /etc/nixa/master.key ] && [ ! -e /etc/nixa/nixa.toml ] || fail "purge left files behind"
echo "tests/package.sh: the Debian package installs, runs and purges" >&2
