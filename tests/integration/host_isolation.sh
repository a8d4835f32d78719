#!/usr/bin/env bash
# Proves scripts/libvirt-sandbox.sh keeps its hands off the host: inside a sandbox, define and
# start a domain on a qcow2 overlay, drop a hook into /etc/libvirt/hooks/qemu.d/, write into
# /var/lib/libvirt/images, and leave the domain running. Afterwards the host's /etc/libvirt
# (paths, modes, owners, contents, hooks included) must be identical, its
# /var/lib/libvirt/images must hold no new file, no process of the sandbox (libvirtd,
# virtlogd, QEMU) may be left, its scratch folder must be gone, and /dev/null and /dev/kvm must
# be exactly as before (the sandbox binds /dev/null over /dev/kvm in its own mount namespace
# only, and QEMU runs there as libvirt-qemu with libvirt's DAC driver relabelling files).
# Exits non-zero, saying why, if any of that fails. Run as root.
#
#   tests/integration/host_isolation.sh [SOURCE_DIR]
set -euo pipefail

# shellcheck source=../support/shell_test.sh
source "$(dirname "$0")/../support/shell_test.sh"
shell_test_begin "${1:-}" scripts/libvirt-sandbox.sh /tmp/appshare-isolation
sandbox="$script"

# Paths, types, modes, owners, link targets and SHA-256 of every file under a directory.
fingerprint() {
    local dir="$1"
    [[ -e "$dir" ]] || { echo "(absent)"; return; }
    (cd "$dir" && find . -printf '%p %y %m %U:%G %l\n' | LC_ALL=C sort
     find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}
listing() { if [[ -d "$1" ]]; then (cd "$1" && find . -mindepth 1 -printf '%p\n' | LC_ALL=C sort); fi; }

fingerprint /etc/libvirt >"$work/etc.before"
fingerprint /etc/libvirt/hooks >"$work/hooks.before"
listing /var/lib/libvirt/images >"$work/images.before"
[[ -c /dev/null ]] || fail "/dev/null is not a character device before the test (fix the host first)"
# Type, device numbers, mode, owner and inode: a bind mount that leaked out, a chown or a chmod by
# libvirt's DAC driver would each change one (not the ctime: every write to /dev/null sets it).
devices() { local d; for d in /dev/null /dev/kvm; do stat -c '%n %F %t:%T %a %u:%g %i' "$d" 2>/dev/null || echo "$d absent"; done; }
devices >"$work/dev.before"

name="appshare-isolation-$$"
cat >"$work/inside.sh" <<'INSIDE'
set -euo pipefail
name="$1" out="$2"
echo "$APPSHARE_SANDBOX" >"$out/state"
images=/var/lib/libvirt/images
qemu-img create -q -f qcow2 "$images/$name-base.qcow2" 16M
qemu-img create -q -f qcow2 -F qcow2 -b "$images/$name-base.qcow2" "$images/$name.qcow2"
echo written >"$images/$name-marker"
mkdir -p /etc/libvirt/hooks/qemu.d
printf '#!/bin/sh\necho "$1 $2" >>%s/hook-ran\n' "$APPSHARE_SANDBOX" >/etc/libvirt/hooks/qemu.d/appshare-isolation
chmod 755 /etc/libvirt/hooks/qemu.d/appshare-isolation
echo "# written by host_isolation.sh" >>/etc/libvirt/qemu.conf
cat >"$out/domain.xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$images/$name.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'><source path='$APPSHARE_SANDBOX/$name-console.log'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
virsh -q define "$out/domain.xml" >/dev/null
# A hook added after the daemon started runs only once the daemon has reloaded.
kill -HUP "$(cat "$APPSHARE_SANDBOX/libvirtd.pid")"
for _ in $(seq 100); do virsh -q version >/dev/null 2>&1 && break; sleep 0.05; done
virsh -q start "$name" >/dev/null
virsh -q domstate "$name" >"$out/domstate"
grep -q "^$name prepare" "$APPSHARE_SANDBOX/hook-ran" && echo yes >"$out/hook-ran"
cat "/run/libvirt/qemu/$name.pid" >"$out/qemu-pid"
# Inside, /dev/kvm (if the machine has one) is the null device, and QEMU runs as libvirt-qemu.
if [[ -e /dev/kvm ]]; then stat -c '%t:%T' /dev/kvm >"$out/kvm-inside"; stat -c '%t:%T' /dev/null >"$out/null-inside"; fi
awk '/^Uid:/ {print $2}' "/proc/$(cat "$out/qemu-pid")/status" >"$out/qemu-uid"
# Leave the domain running: tearing it down is the sandbox's job.
INSIDE

rc=0
"$sandbox" -- bash "$work/inside.sh" "$name" "$work" || rc=$?
[[ $rc -eq 0 ]] || fail "the command inside the sandbox failed with status $rc"
[[ "$(cat "$work/domstate" 2>/dev/null)" == "running" ]] || fail "the domain did not run inside the sandbox"
[[ -f "$work/hook-ran" ]] || fail "the hook dropped into the sandbox's hooks/qemu.d did not run at start"
state=$(cat "$work/state" 2>/dev/null || true)
[[ -n "$state" ]] || fail "the sandbox did not tell its scratch folder"

fingerprint /etc/libvirt >"$work/etc.after"
fingerprint /etc/libvirt/hooks >"$work/hooks.after"
listing /var/lib/libvirt/images >"$work/images.after"
diff -u "$work/hooks.before" "$work/hooks.after" >&2 || fail "the host's /etc/libvirt/hooks changed"
diff -u "$work/etc.before" "$work/etc.after" >&2 || fail "the host's /etc/libvirt changed"
new_images=$(comm -13 "$work/images.before" "$work/images.after")
[[ -z "$new_images" ]] || fail "new files in the host's /var/lib/libvirt/images: $new_images"
[[ -c /dev/null ]] || fail "/dev/null is no longer a character device"
devices >"$work/dev.after"
diff -u "$work/dev.before" "$work/dev.after" >&2 || fail "the host's /dev/null or /dev/kvm changed"
if [[ -e /dev/kvm ]]; then
    [[ "$(cat "$work/kvm-inside" 2>/dev/null)" == "$(cat "$work/null-inside" 2>/dev/null)" ]] ||
        fail "/dev/kvm inside the sandbox was not the null device ($(cat "$work/kvm-inside" 2>/dev/null))"
fi
[[ "$(cat "$work/qemu-uid" 2>/dev/null)" == "$(id -u libvirt-qemu)" ]] ||
    fail "QEMU ran as uid $(cat "$work/qemu-uid" 2>/dev/null) inside the sandbox, not as libvirt-qemu"

# Processes of this sandbox: libvirtd and virtlogd name its scratch folder on their command
# line, QEMU names the domain.
leftovers=""
for proc in /proc/[0-9]*; do
    cmd=$( { tr '\0' ' ' <"$proc/cmdline"; } 2>/dev/null) || continue
    if [[ -n "$state" && "$cmd" == *"$state"* ]] || [[ "$cmd" == *"guest=$name"* ]]; then
        leftovers+="${proc#/proc/}: ${cmd:0:100}"$'\n'
    fi
done
[[ -z "$leftovers" ]] || fail "processes of the sandbox are still running:"$'\n'"$leftovers"
[[ -z "$state" || ! -e "$state" ]] || fail "the sandbox's scratch folder $state was not removed"

shell_test_end "host /etc/libvirt, hooks and images unchanged; nothing of the sandbox left."
