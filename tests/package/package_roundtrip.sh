#!/usr/bin/env bash
# The Debian package, built with cpack, is installed and purged with dpkg inside a throwaway
# root: a copy-on-write overlay of this machine's / (its upper layer a tmpfs) in a private
# mount namespace, entered with chroot. dpkg and the maintainer scripts run there for real,
# against a copy of the dpkg database and /etc/libvirt; the host's own are never written.
# It checks: lintian finds nothing unjustified; the hook is registered and a running libvirtd
# (a stand-in named libvirtd, started before) is reloaded; appshare runs from /usr/bin; another
# package's hook in qemu.d stays; the conffile is a conffile; purge leaves nothing behind but
# dpkg's own records and logs. Needs root.
#   tests/package/package_roundtrip.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
fail() { echo "package round trip: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (a private mount namespace and chroot)"

work=$(mktemp -d /tmp/appshare-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
host_state() { { md5sum /var/lib/dpkg/status; find /etc/libvirt /etc/appshare -printf '%p %y %l\n' 2>/dev/null | sort; } | md5sum; }
host_before=$(host_state)

# --- build the package
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1 ||
    fail "cpack failed: $(tail -5 "$work/cpack.log")"
deb=$(echo "$work"/pkg/appshare_*_amd64.deb)
[[ -f $deb ]] || fail "cpack made no appshare_<version>_amd64.deb: $(ls "$work/pkg")"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libvirt-daemon-system qemu-system-x86 qemu-utils libvirt0 libxml2 libc6; do
    grep -qE "(^|, )$d( |,|$)" <<<"$depends" || fail "Depends lacks $d: $depends"
done
# Every tag lintian reports must be overridden, with its reason (packaging/debian/lintian-overrides).
lintian --fail-on error,warning "$deb" >"$work/lintian.log" 2>&1 ||
    fail "lintian: $(cat "$work/lintian.log")"

# --- install and purge it in the throwaway root
cat >"$work/inside.sh" <<'INSIDE'
set -euo pipefail
work="$1"; deb="$2"
fail() { echo "package round trip: $*" >&2; exit 1; }
mount -t tmpfs appshare-test "$work/layers"
mkdir "$work/layers/upper" "$work/layers/work" "$work/layers/root"
root="$work/layers/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/layers/upper,workdir=$work/layers/work" "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mkdir -p "$root/tmp/appshare-test"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
! in_root dpkg-query -W appshare >/dev/null 2>&1 || fail "appshare is already installed on this machine; this test needs it absent"

# Another package's hook, which nothing of appshare may touch.
mkdir -p "$root/etc/libvirt/hooks/qemu.d"
printf '#!/bin/sh\nexit 0\n' >"$root/etc/libvirt/hooks/qemu.d/other-package"
chmod 755 "$root/etc/libvirt/hooks/qemu.d/other-package"
# A running "libvirtd" (sleep under that name) started before the hook is registered: the
# package must reload it (SIGHUP ends it with status 129).
cp /bin/sleep "$root/tmp/appshare-test/libvirtd"
chroot "$root" /tmp/appshare-test/libvirtd 600 &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true' EXIT
sleep 1.5
# What the upper layer holds before: new files and folders (folders merely copied up are
# not counted).
listing() {
    (cd "$work/layers/upper" && find . -mindepth 1 \( -type d -printf '%p d\n' -o -printf '%p %y %l\n' \)) |
        sed 's|^\.||' | while read -r p t l; do
            [[ $t == d && -d "/$p" ]] && continue
            echo "$p $t $l"
        done | grep -vE '^/(var/lib/dpkg|var/log|tmp|var/cache/(debconf|man)|var/lib/man-db)(/| )' | sort
}
# A clean system: empty folders of the package's that this machine has without any package
# owning them (left by earlier experiments) are taken away first, so purge may remove them.
for d in $(dpkg-deb -c "$deb" | awk '$1 ~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort -r); do
    [[ -d "$root$d" && -z "$(ls -A "$root$d")" ]] || continue
    in_root dpkg -S "${d%/}" >/dev/null 2>&1 || rmdir "$root$d"
done
before=$(listing)

cp "$deb" "$root/tmp/appshare-test/"
in_root dpkg -i "/tmp/appshare-test/$(basename "$deb")" >"$work/dpkg-install.log" 2>&1 ||
    fail "dpkg -i failed: $(cat "$work/dpkg-install.log")"
link="$root/etc/libvirt/hooks/qemu.d/appshare"
[[ -L $link && $(readlink "$link") == /usr/libexec/appshare/appshare-hook ]] ||
    fail "the hook is not registered: $(ls -l "$root/etc/libvirt/hooks/qemu.d"; cat "$work/dpkg-install.log")"
[[ -x "$root/usr/libexec/appshare/appshare-hook" ]] || fail "the hook is not in /usr/libexec/appshare"
timeout 10 tail --pid="$daemon" -f /dev/null || true
kill "$daemon" 2>/dev/null || true
wait "$daemon" && rc=0 || rc=$?
[[ $rc -eq 129 ]] || fail "the running libvirtd was not reloaded (SIGHUP) by the package (exit $rc): $(cat "$work/dpkg-install.log")"
grep -q "reloaded libvirtd" "$work/dpkg-install.log" || fail "postinst did not say it reloaded libvirtd: $(cat "$work/dpkg-install.log")"
version=$(in_root appshare --version) || fail "the installed appshare does not run"
[[ $version == *"$(in_root dpkg-query -W -f '${Version}' appshare)"* ]] || fail "appshare --version says '$version'"
in_root dpkg-query -W -f '${Conffiles}\n' appshare | grep -q "/etc/appshare/appshare.conf" ||
    fail "/etc/appshare/appshare.conf is not a conffile"
in_root man -w appshare >/dev/null || fail "man does not find appshare(1) once installed"
[[ -f "$root/usr/share/bash-completion/completions/appshare" ]] || fail "the bash completion is not installed"

in_root dpkg --purge appshare >"$work/dpkg-purge.log" 2>&1 || fail "dpkg --purge failed: $(cat "$work/dpkg-purge.log")"
[[ ! -e $link && ! -L $link ]] || fail "the hook is still registered after purge"
[[ -x "$root/etc/libvirt/hooks/qemu.d/other-package" ]] || fail "purge touched another package's hook"
after=$(listing)
[[ "$before" == "$after" ]] || fail "purge left these behind: $(diff <(echo "$before") <(echo "$after") || true)"
echo "installed, reloaded libvirtd, purged: nothing left"
INSIDE
mkdir "$work/layers"
unshare -m --propagation private bash "$work/inside.sh" "$work" "$deb" || fail "see above"
[[ "$(host_state)" == "$host_before" ]] || fail "the host's dpkg database or /etc/libvirt changed"
echo "package round trip: ok ($(basename "$deb"))"
