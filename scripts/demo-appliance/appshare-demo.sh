#!/bin/sh
# The appshare demo application, installed on the shared base disk as /usr/bin/appshare-demo.
#
# Reads the instance identity from the NoCloud SMBIOS serial
# (/sys/class/dmi/id/product_serial = "ds=nocloud;h=<hostname>;i=<instance-id>", long forms
# local-hostname= and instance-id= accepted), counts boots in a file on its disk (which lands
# in the instance's context overlay, never in the shared base), records the identity in a
# per-instance file, flushes everything to disk, and then prints exactly one line on the
# console:
#   appshare-demo ready host=<hostname> instance=<id> app=<version> boots=<n>
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

state=/var/lib/appshare-demo
version=$(cat /etc/appshare-demo/version 2>/dev/null) || version=unknown

fail() {
    echo "appshare-demo failed: $*" >/dev/console
    exit 1
}

# Keeps only characters that are safe in a hostname or a file name.
clean() {
    printf '%s' "$1" | tr -c 'A-Za-z0-9._:-' '_'
}

serial=$(cat /sys/class/dmi/id/product_serial 2>/dev/null) || serial=
host=
instance=
old_ifs=$IFS
IFS=';'
for field in $serial; do
    case "$field" in
        h=*) host=${field#h=} ;;
        local-hostname=*) host=${field#local-hostname=} ;;
        i=*) instance=${field#i=} ;;
        instance-id=*) instance=${field#instance-id=} ;;
    esac
done
IFS=$old_ifs
[ -n "$host" ] || host=appshare-demo
[ -n "$instance" ] || instance=unknown
host=$(clean "$host")
instance=$(clean "$instance")
hostname "$host" 2>/dev/null

mkdir -p "$state/instances" || fail "cannot create $state on the root disk"
boots=$(cat "$state/boots" 2>/dev/null) || boots=0
case "$boots" in '' | *[!0-9]*) boots=0 ;; esac
boots=$((boots + 1))
if ! printf '%s\n' "$boots" >"$state/boots.new" || ! mv "$state/boots.new" "$state/boots"; then
    fail "cannot write the boot counter $state/boots"
fi

line="appshare-demo ready host=$host instance=$instance app=$version boots=$boots"
printf 'host=%s\ninstance=%s\napp=%s\nboots=%s\n' "$host" "$instance" "$version" "$boots" \
    >"$state/instances/$instance" || fail "cannot write the instance file $state/instances/$instance"
printf '%s\n' "$host" >/etc/hostname
printf '%s\n' "$line" >/run/appshare-demo.ready
# Everything above must survive a hard stop (virsh destroy) right after the ready line.
sync
printf '%s\n' "$line" >/dev/console
