#!/bin/sh
# /init of the appshare demo initramfs. It does only what the kernel cannot do alone: load
# the virtio disk driver, mount the root disk (the instance's context overlay, backed by the
# shared base) and hand over to the base's /sbin/init. The application itself lives on the
# base disk, not here.
#
# Kernel command line: root=DEV (default /dev/vda), ro|rw (default rw), init=PATH (default
# /sbin/init), rootwait=SECONDS (default 30).
export PATH=/bin

fail() {
    echo "appshare-demo failed: $* (initramfs)" >/dev/console
    sync
    sleep 2
    poweroff -f
}

mount -t proc proc /proc || fail "cannot mount /proc"
mount -t sysfs sysfs /sys || fail "cannot mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "cannot mount /dev"

root=/dev/vda
mode=rw
init=/sbin/init
rootwait=30
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        root=*) root=${arg#root=} ;;
        ro | rw) mode=$arg ;;
        init=*) init=${arg#init=} ;;
        rootwait=*) rootwait=${arg#rootwait=} ;;
    esac
done

# Modules in dependency order, as listed at build time (built-in ones are left out).
while read -r module; do
    [ -n "$module" ] || continue
    insmod "/lib/modules/$module.ko" || fail "cannot load kernel module $module"
done </etc/modules

tries=$((rootwait * 20))
while [ ! -b "$root" ]; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || fail "root disk $root did not appear within $rootwait s"
    sleep 0.05
done

mount -t ext4 -o "$mode" "$root" /newroot || fail "cannot mount root disk $root"
[ -x "/newroot$init" ] || fail "root disk $root has no executable $init"
mount -o move /dev /newroot/dev || fail "cannot move /dev to the root disk"
umount /sys /proc
exec switch_root /newroot "$init"
fail "switch_root to $root failed"
