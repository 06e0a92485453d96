#!/usr/bin/env bash
# Package test: builds the .debs, checks them (lintian, systemd-analyze), then
# installs, runs, upgrades, removes and purges them in a Debian 12 chroot.
#   tests/package/install_test.sh [WORK_DIR]
# WORK_DIR (default build/package-test) holds the packages and the chroot.
# The debootstrap root is cached as a tarball in HIEGATE_CACHE_DIR (default
# ~/.cache/hiegate) and downloaded packages in its apt-archives/; delete them
# to start afresh. Exit 77 (CTest: skipped) when a tool or root is missing,
# except under CI=true, where that is a failure.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$src/build/package-test}
cache=${HIEGATE_CACHE_DIR:-$HOME/.cache/hiegate}
start=$SECONDS
phase_start=$SECONDS
phase() { echo "== $* (+$((SECONDS - phase_start)) s)"; phase_start=$SECONDS; }
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
  if [ "${CI:-}" = true ]; then fail "$* (the package test must run in CI: HIEGATE_SETUP_PACKAGING=1 scripts/setup)"; fi
  echo "SKIP: $* (install the tools with HIEGATE_SETUP_PACKAGING=1 scripts/setup)"
  exit 77
}

[ "$(id -u)" -eq 0 ] || skip "the package test needs root (debootstrap, chroot)"
for tool in dpkg-buildpackage dh lintian debootstrap systemd-analyze unshare chroot curl; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
# Mounts below (proc, /dev, the apt cache) live in a private mount namespace
# and vanish with this process, whatever way it ends.
if [ -z "${HIEGATE_PACKAGE_TEST_NS:-}" ]; then
  HIEGATE_PACKAGE_TEST_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

version=$(sed -n 's/^project(hiegate VERSION \([0-9][0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
rm -rf "$work/root" "$work/v1" "$work/v2"
mkdir -p "$work/v1" "$work/v2" "$cache/apt-archives"

# --- build: revision 1. Revision 2, for the upgrade, is the same package
# repacked under the next version: the upgrade exercises the maintainer
# scripts and the state kept across them, which a second full build (minutes
# of CI) would not exercise any better.
"$src/scripts/package" --revision 1 --out "$work/pkg" >/dev/null
mv "$work/pkg/"*"_$version-1_"* "$work/v1/"
deb1=$work/v1/hiegate_$version-1_amd64.deb
deb2=$work/v2/hiegate_$version-2_amd64.deb
sec1=$work/v1/hiegate-secretariat_$version-1_amd64.deb
rm -rf "$work/repack"
dpkg-deb -R "$deb1" "$work/repack"
sed -i "s/^Version: $version-1\$/Version: $version-2/" "$work/repack/DEBIAN/control"
grep -qx "Version: $version-2" "$work/repack/DEBIAN/control" || fail "could not set revision 2 in the repacked control file"
dpkg-deb --root-owner-group --build "$work/repack" "$deb2" >/dev/null
rm -rf "$work/repack"
phase "built $version-1 and $version-2"

# --- static checks
lint_rc=0
lintian --fail-on error,warning --pedantic "$work/v1/hiegate_$version-1_amd64.changes" >"$work/lintian.txt" 2>&1 ||
  lint_rc=$?
grep -v 'running with root privileges' "$work/lintian.txt" || true
if [ "$lint_rc" -ne 0 ] || grep -qE '^[EW]: ' "$work/lintian.txt"; then fail "lintian reports errors or warnings"; fi
unit=$src/systemd/hiegate.service
dpkg-deb --fsys-tarfile "$deb1" | tar -xOf - ./lib/systemd/system/hiegate.service | cmp - "$unit" ||
  fail "the packaged unit differs from systemd/hiegate.service"
exposure=$(systemd-analyze security --offline=true "$unit" 2>&1 |
  sed -n 's/.*Overall exposure level for hiegate.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security printed no exposure level"
echo "systemd-analyze security exposure: $exposure (limit 1.5)"
awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }' || fail "exposure $exposure is above 1.5"
phase "lintian and security checks"

# --- a Debian 12 root, from the cached tarball or debootstrap
# The same mirrors as this machine: its deb822 or one-line sources for Debian.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] && grep -q 'debian' "$f" && grep -Eq '^(deb |Types:)' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || skip "no Debian apt sources in /etc/apt"
mirror=$(sed -n 's/^URIs: *//p; s/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) bookworm .*/\2/p' "${sources[@]}" |
  grep -v security | head -1)
[ -n "$mirror" ] || skip "no bookworm mirror in ${sources[*]}"
include=systemd,ca-certificates
key=$(printf '%s\n' "$mirror" "$include" "v1" | sha256sum | cut -c1-12)
tarball=$cache/debootstrap-bookworm-$key.tar
root=$work/root
if [ ! -f "$tarball" ]; then
  echo "making the Debian 12 root from $mirror (cached as $tarball)"
  rm -rf "$root.new"
  debootstrap --variant=minbase --include="$include" bookworm "$root.new" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log"; fail "debootstrap failed (log: $work/debootstrap.log)"; }
  rm -f "$root.new"/etc/apt/sources.list
  cp "${sources[@]}" "$root.new/etc/apt/sources.list.d/"
  chroot "$root.new" apt-get update -qq >/dev/null || fail "apt-get update in the new root failed"
  chroot "$root.new" apt-get clean
  tar -C "$root.new" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$root.new"
fi
mkdir -p "$root"
tar -C "$root" -xf "$tarball"
mount_root() {
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
}
umount_root() { umount -R "$root/dev" "$root/proc"; }
mount_root
# Downloaded packages are kept in the cache (copied, not shared: another
# developer's test may run apt at the same time).
for f in "$cache"/apt-archives/*.deb; do
  [ -e "$f" ] || continue
  ln "$f" "$root/var/cache/apt/archives/" 2>/dev/null || cp "$f" "$root/var/cache/apt/archives/"
done
cp "$deb1" "$deb2" "$sec1" "$root/tmp/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
apt_install() {
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confold "$@" >"$work/apt.log" 2>&1 && return 0
  # Lists in the cached root may name versions the mirror no longer has.
  in_root apt-get update -qq >/dev/null
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confold "$@" >"$work/apt.log" 2>&1 ||
    { tail -n 30 "$work/apt.log"; fail "apt-get install $* failed (log: $work/apt.log)"; }
}
save_downloads() {
  find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' \
    -exec cp -n -t "$cache/apt-archives/" {} + 2>/dev/null || true
}
phase "Debian 12 root ready"

# --- install
apt_install "/tmp/$(basename "$deb1")" "/tmp/$(basename "$sec1")"
save_downloads
grep -q 'generated the master key /etc/hiegate/master-key' "$work/apt.log" || fail "postinst did not report the new key"
phase "installed $version-1"

expect_stat() {  # PATH "owner:group mode"
  local got
  got=$(in_root stat -c '%U:%G %a' "$1") || fail "$1 is missing"
  [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}
for f in /usr/sbin/hiegated /usr/bin/hiegatectl /usr/bin/hiegate-secretariat /usr/libexec/hiegate/preflight; do
  expect_stat "$f" "root:root 755"
done
for f in /lib/systemd/system/hiegate.service /usr/lib/sysusers.d/hiegate.conf /usr/lib/tmpfiles.d/hiegate.conf \
  /usr/share/man/man8/hiegated.8.gz /usr/share/man/man8/hiegatectl.8.gz /usr/share/man/man5/hiegate.toml.5.gz \
  /usr/share/man/man8/hiegate-secretariat.8.gz /usr/share/doc/hiegate/README.Debian \
  /usr/share/doc/hiegate/examples/peers.conf; do
  expect_stat "$f" "root:root 644"
done
expect_stat /etc/hiegate "root:hiegate 750"
expect_stat /etc/hiegate/hiegate.toml "root:hiegate 640"
expect_stat /etc/hiegate/tls "root:hiegate 750"
expect_stat /etc/hiegate/master-key "hiegate:hiegate 400"
expect_stat /var/lib/hiegate "hiegate:hiegate 700"
grep -qx /etc/hiegate/hiegate.toml "$root/var/lib/dpkg/info/hiegate.conffiles" || fail "hiegate.toml is not a conffile"
IFS=: read -r _ _ uid gid _ home shell < <(grep '^hiegate:' "$root/etc/passwd") || fail "no hiegate user"
if [ "$uid" -ge 1000 ] || [ "$home" != /var/lib/hiegate ] || [ "$shell" != /usr/sbin/nologin ]; then
  fail "hiegate user: uid $uid home $home shell $shell"
fi
[ "$(stat -c %s "$root/etc/hiegate/master-key")" = 32 ] || fail "the master key is not 32 bytes"
[ "$(od -An -v -tx1 "$root/etc/hiegate/master-key" | tr -d ' \n' | tr -d 0)" != "" ] || fail "the master key is all zero"
key_sum=$(sha256sum <"$root/etc/hiegate/master-key")
[ "$(in_root hiegated --version)" = "hiegated $version" ] || fail "hiegated --version is not $version"
[ "$(in_root hiegate-secretariat --version)" = "hiegate-secretariat $version" ] || fail "hiegate-secretariat --version"
in_root systemd-analyze verify --man=no hiegate.service || fail "systemd-analyze verify reports problems"
phase "files, owners, modes, user, key, verify"

# --- refusals until configured: the shipped config, then the preflight
as_hiegate() { chroot --userspec="$uid:$gid" "$root" env -i PATH=/usr/sbin:/usr/bin:/bin LC_ALL=C.UTF-8 "$@"; }
if out=$(as_hiegate hiegatectl check-config --quiet /etc/hiegate/hiegate.toml 2>&1); then
  fail "the shipped config passes check-config before [network] is filled in"
fi
grep -q 'network' <<<"$out" || fail "check-config does not name the missing [network] keys: $out"
creds=/run/hiegate-test-creds  # what systemd would hand over
mkdir -p "$root$creds"
cp "$root/etc/hiegate/master-key" "$root$creds/master-key"
printf absent >"$root$creds/tls-key"
chown -R "$uid:$gid" "$root$creds"
if out=$(as_hiegate env CREDENTIALS_DIRECTORY=$creds /usr/libexec/hiegate/preflight 2>&1); then
  fail "preflight accepts a gateway without certificates and keyset"
fi
for what in "TLS key /etc/hiegate/tls/key.pem is missing" "certificate /etc/hiegate/tls/cert.pem is missing" \
  "CA certificate /etc/hiegate/tls/ca.pem is missing" "keyset /etc/hiegate/keyset.json is missing" "4 item(s) missing"; do
  grep -qF "$what" <<<"$out" || fail "preflight does not say '$what':"$'\n'"$out"
done
grep -q 'master key' <<<"$out" && fail "preflight complains about the master key that is there: $out"
# A dev PKI of the profile's shape: P-256 CA and gateway certificate with the
# facility's URI SAN. The keyset is a placeholder (the preflight checks only
# that one is installed).
tls=$root/etc/hiegate/tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=testnet-ca \
  -keyout "$work/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=1310000011 \
  -keyout "$tls/key.pem" -out "$work/gw.csr" 2>/dev/null
openssl x509 -req -in "$work/gw.csr" -CA "$tls/ca.pem" -CAkey "$work/ca.key" -days 2 \
  -extfile <(echo "subjectAltName=URI:hie://testnet/facility/1310000011") -out "$tls/cert.pem" 2>/dev/null
cp "$tls/key.pem" "$root$creds/tls-key"
echo '{"type": "keyset"}' >"$root/etc/hiegate/keyset.json"
chgrp "$gid" "$tls"/*.pem "$root/etc/hiegate/keyset.json"
chmod 0640 "$tls"/*.pem "$root/etc/hiegate/keyset.json"
as_hiegate env CREDENTIALS_DIRECTORY=$creds /usr/libexec/hiegate/preflight || fail "preflight refuses a complete set"
cp "$root$creds/master-key" "$work/master-key.saved"
printf absent >"$root$creds/master-key"
if out=$(as_hiegate env CREDENTIALS_DIRECTORY=$creds /usr/libexec/hiegate/preflight 2>&1); then
  fail "preflight accepts a missing master key"
fi
grep -qF "master key /etc/hiegate/master-key is missing" <<<"$out" || fail "preflight: $out"
cp "$work/master-key.saved" "$root$creds/master-key"
phase "refusals"

# --- run hiegated (without systemd) with a dev config; /v1/health via the socket
token_out=$(in_root hiegatectl token new --name test)
token=$(sed -n 's/^token: //p' <<<"$token_out")
{
  printf '[network]\nid = "testnet"\nfacility = "1310000011"\n'
  printf '[daemon]\nstate_dir = "/var/lib/hiegate"\n'
  printf '[local_api]\nlisten = ["127.0.0.1:0"]\nunix_socket = "/run/hiegate/local.sock"\n'
  sed -n '/^\[\[local_api.tokens\]\]/,$p' <<<"$token_out"
} >"$root/etc/hiegate/dev.toml"
chgrp "$gid" "$root/etc/hiegate/dev.toml"
chmod 0640 "$root/etc/hiegate/dev.toml"
as_hiegate hiegatectl check-config /etc/hiegate/dev.toml || fail "check-config rejects the dev config"
install -d -o "$uid" -g "$gid" -m 0750 "$root/run/hiegate"
# Not through as_hiegate: a backgrounded shell function is a subshell, and
# $! would be that subshell, not the daemon (which would outlive the kill
# below and still hold the state directory). chroot and env exec, so $! is
# hiegated itself.
chroot --userspec="$uid:$gid" "$root" env -i PATH=/usr/sbin:/usr/bin:/bin LC_ALL=C.UTF-8 \
  hiegated --config /etc/hiegate/dev.toml >"$work/hiegated.log" 2>&1 &
daemon=$!
stop_daemon() { kill -TERM "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
trap stop_daemon EXIT
for _ in $(seq 100); do [ -S "$root/run/hiegate/local.sock" ] && break; sleep 0.1; done
health=$(curl -sf --unix-socket "$root/run/hiegate/local.sock" http://gateway/v1/health) ||
  { cat "$work/hiegated.log"; fail "/v1/health did not answer"; }
echo "health: $health"
grep -q '"ok"\|ok' <<<"$health" || fail "unexpected /v1/health: $health"
as_hiegate env HIEGATE_TOKEN="$token" hiegatectl status | grep -q "hiegated $version" || fail "hiegatectl status"
stop_daemon
trap - EXIT
phase "hiegated serves /v1/health in the root"

# --- the real unit under systemd 252: boot the root in a container, where a
# probe starts the gateway, asks its status through the socket, reloads it,
# and powers off. Facility IT's edit of the config also checks the upgrade.
sed -i 's/^#id = .*/id = "testnet"/; s/^#facility = .*/facility = "1310000011"/' "$root/etc/hiegate/hiegate.toml"
sed -n '/^\[\[local_api.tokens\]\]/,$p' <<<"$token_out" >>"$root/etc/hiegate/hiegate.toml"
if command -v systemd-nspawn >/dev/null; then
  printf '%s' "$token" >"$root/root/token"
  cat >"$root/etc/systemd/system/hiegate-probe.service" <<'UNIT'
[Unit]
After=multi-user.target
[Service]
Type=oneshot
StandardOutput=file:/probe.txt
StandardError=inherit
ExecStart=/bin/sh -c 'systemctl start hiegate; systemctl is-active hiegate; \
  hiegatectl status --token-file /root/token; systemctl reload hiegate; systemctl is-active hiegate; \
  journalctl -b -o cat -u hiegate; systemctl poweroff'
[Install]
WantedBy=multi-user.target
UNIT
  in_root systemctl enable hiegate-probe.service 2>/dev/null
  umount_root  # nspawn sets up /dev and /proc itself
  timeout 120 systemd-nspawn --quiet --register=no --keep-unit --private-network --boot -D "$root" >"$work/boot.log" 2>&1 || true
  mount_root
  probe=$(cat "$root/probe.txt" 2>/dev/null || true)
  echo "  probe: ${probe//$'\n'/$'\n'  probe: }"
  [ "$(grep -c '^active$' <<<"$probe")" = 2 ] || fail "hiegate.service did not run (or not after reload) under systemd"
  grep -q "hiegated $version, facility 1310000011" <<<"$probe" || fail "hiegatectl status through the socket failed"
  grep -q 'config_reloaded\|reloaded' <<<"$probe" || fail "systemctl reload did not reload the config"
  in_root systemctl disable hiegate-probe.service 2>/dev/null
  rm -f "$root/etc/systemd/system/hiegate-probe.service" "$root/probe.txt" "$root/root/token"
  phase "hiegate.service runs under systemd (container boot)"
elif [ "${CI:-}" = true ]; then
  fail "systemd-nspawn is missing (systemd-container)"
else
  echo "SKIP: the unit under systemd (install systemd-container for systemd-nspawn)"
fi

# --- upgrade keeps the state, the key, the admin's config edit and the modes
echo "upgrade marker" >"$root/var/lib/hiegate/marker"
chown "$uid:$gid" "$root/var/lib/hiegate/marker"
apt_install "/tmp/$(basename "$deb2")"
# shellcheck disable=SC2016 # dpkg-query's own ${Version}
[ "$(in_root dpkg-query -W -f='${Version}' hiegate)" = "$version-2" ] || fail "not upgraded to $version-2"
[ "$(cat "$root/var/lib/hiegate/marker")" = "upgrade marker" ] || fail "the state did not survive the upgrade"
[ "$(sha256sum <"$root/etc/hiegate/master-key")" = "$key_sum" ] || fail "the master key changed on upgrade"
grep -q '^facility = "1310000011"' "$root/etc/hiegate/hiegate.toml" || fail "the config edit was lost on upgrade"
expect_stat /etc/hiegate/hiegate.toml "root:hiegate 640"
expect_stat /etc/hiegate/master-key "hiegate:hiegate 400"
expect_stat /var/lib/hiegate "hiegate:hiegate 700"
phase "upgraded to $version-2"

# --- remove keeps everything; purge deletes state and keys, saying so
in_root apt-get remove -y -q hiegate >"$work/apt.log" 2>&1 || fail "apt-get remove failed"
for f in /var/lib/hiegate/marker /etc/hiegate/master-key /etc/hiegate/hiegate.toml; do
  [ -f "$root$f" ] || fail "remove deleted $f"
done
rm "$root/etc/hiegate/dev.toml"  # the test's own file; purge keeps files it did not make
in_root apt-get purge -y -q hiegate >"$work/apt.log" 2>&1 || fail "apt-get purge failed"
grep -q 'purge deletes the gateway' "$work/apt.log" || fail "purge did not say what it deletes"
for d in /var/lib/hiegate /etc/hiegate; do
  [ ! -e "$root$d" ] || fail "purge left $d behind"
done
if in_root dpkg-statoverride --list | grep -q hiegate; then fail "purge left a dpkg-statoverride"; fi
phase "removed and purged"
echo "package test passed in $((SECONDS - start)) s"
