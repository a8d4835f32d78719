#!/bin/sh
# /sbin/init on the appshare demo base disk: PID 1 after the initramfs switched to the root
# disk. Mounts the kernel file systems, runs the application once, then stays up (PID 1
# must never exit).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 tmpfs /run

if ! /usr/bin/appshare-demo; then
    echo "appshare-demo failed: the application exited with an error" >/dev/console
fi

# Stay up until the domain is destroyed or powered off, counting on the serial console (and
# on the disk, in the context overlay) every second: a guest that keeps running through a live
# migration goes on counting on the destination from where it was, a reboot would start anew.
tick=0
while :; do
    tick=$((tick + 1))
    echo "appshare-demo tick $tick" >/dev/console
    echo "$tick" >/var/lib/appshare-demo/ticks 2>/dev/null
    sleep 1
done
