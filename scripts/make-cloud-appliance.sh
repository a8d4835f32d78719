#!/usr/bin/env bash
# Builds a real Debian 12 cloud appliance bundle (format v1) from Debian packages only: systemd,
# cloud-init and OpenSSH on an ext4 root disk, booted directly with its own kernel and
# initramfs. The integration test of cloud-init seeds (tests/integration/test_cloud_init.cpp)
# installs it; anyone can use it to try --ssh-key and --user-data on a stock cloud system.
#
#   scripts/make-cloud-appliance.sh [--cache DIR] [--user-data FILE] [--pack APPSHARE] OUTDIR
#
# --pack APPSHARE makes the bundle with `APPSHARE pack` instead of the hand-made recipe.
# --user-data FILE ships FILE in the bundle as the appliance's default cloud-init user-data
# (<cloud-init><user-data path="cloud-init/user-data">; an instance's --user-data replaces it).
#
# The image (the slow part: mmdebstrap, about a minute plus downloads) is cached in
# DIR/<key>/ (default /var/cache/appshare-tests/cloud-appliance, or $APPSHARE_CLOUD_CACHE),
# where <key> is a hash of this script: a second run only makes the bundle. The bundle is made
# by one function, make_bundle, with the README's hand-made recipe (sha256sum, qemu-img info).
#
# Needs root (mmdebstrap in root mode, files owned by root in the image), mmdebstrap, mke2fs
# (e2fsprogs, `-d` fills the file system from a folder: no loop mount), qemu-img, and apt
# access to Debian's archive (the host's sources).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${APPSHARE_CLOUD_CACHE:-/var/cache/appshare-tests/cloud-appliance}
out=""
user_data=""
pack=""
die() { echo "make-cloud-appliance.sh: $*" >&2; exit 1; }
usage() { sed -n '6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
    case "$1" in
        --cache) (($# >= 2)) || usage; cache_root=$2; shift 2 ;;
        --user-data) (($# >= 2)) || usage; user_data=$2; shift 2 ;;
        --pack) (($# >= 2)) || usage; pack=$2; shift 2 ;;
        -h | --help) usage ;;
        -*) echo "make-cloud-appliance.sh: unknown option $1" >&2; usage ;;
        *) [[ -z "$out" ]] || usage; out=$1; shift ;;
    esac
done
[[ -n "$out" ]] || usage
[[ $(id -u) -eq 0 ]] || die "run as root (mmdebstrap builds the root file system as root)."
for tool in mmdebstrap mke2fs qemu-img sha256sum; do
    command -v "$tool" >/dev/null || die "'$tool' is missing; run scripts/install-deps.sh first."
done

suite=bookworm
packages=(linux-image-cloud-amd64 initramfs-tools systemd-sysv udev cloud-init openssh-server
          ifupdown isc-dhcp-client)
disk_size=1G
cmdline="console=ttyS0 root=/dev/vda rw quiet tsc=reliable no_timer_check mitigations=off"
# cloud-init: NoCloud only, and only the modules a first boot here needs (no locale generation,
# no package work), so a TCG boot reaches its user-data in about a minute or two; one host key type.
cloud_cfg='datasource_list: [ NoCloud, None ]
ssh_genkeytypes: [ ed25519 ]
cloud_init_modules: [ seed_random, bootcmd, write-files, growpart, resizefs, set_hostname, update_hostname, update_etc_hosts, users-groups, ssh ]
cloud_config_modules: [ set-passwords, runcmd ]
cloud_final_modules: [ scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, ssh-authkey-fingerprints, keys-to-console, final-message ]
'

# The cache key: the packages, disk size and the image recipe (build_image's text), not the
# bundle's making, so changing make_bundle does not rebuild the image.
key=$( { echo "$suite ${packages[*]} $disk_size $cloud_cfg"; sed -n '/^build_image()/,/^}/p' "$0"; } | sha256sum | cut -c1-16)
image_dir=$cache_root/$key

build_image() {
    local stage
    stage=$(mktemp -d "$cache_root/.build.XXXXXX")
    trap 'rm -rf --one-file-system "$stage"' RETURN
    local t0=$SECONDS
    # minbase plus what a cloud system needs; no documentation, manual pages or translations;
    # apt lists and caches removed. initramfs-tools' MODULES=most puts virtio_blk in the initramfs.
    mmdebstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook='echo "/dev/vda / ext4 defaults 0 1" >"$1/etc/fstab"' \
        --customize-hook='echo appliance >"$1/etc/hostname"' \
        --customize-hook="printf '%s' '$cloud_cfg' >\"\$1/etc/cloud/cloud.cfg.d/90-appshare.cfg\"" \
        --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true' \
        --customize-hook='rm -f "$1"/etc/machine-id; touch "$1"/etc/machine-id' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log' \
        "$suite" "$stage/root" >"$stage/mmdebstrap.log" 2>&1 ||
        { tail -n 30 "$stage/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)."; }
    local kernel initrd
    kernel=$(ls "$stage"/root/boot/vmlinuz-* | head -n1)
    initrd=$(ls "$stage"/root/boot/initrd.img-* | head -n1)
    [[ -f "$kernel" && -f "$initrd" ]] || die "the image has no kernel or initramfs in /boot."
    cp "$kernel" "$stage/vmlinuz"
    cp "$initrd" "$stage/initrd.img"
    mke2fs -q -t ext4 -L root -d "$stage/root" "$stage/root.img" "$disk_size" >/dev/null
    qemu-img convert -f raw -O qcow2 "$stage/root.img" "$stage/base.qcow2"
    rm -f "$stage/root.img"
    rm -rf --one-file-system "$stage/root"
    echo "$((SECONDS - t0))" >"$stage/build-seconds"
    rm -rf --one-file-system "$image_dir"
    mv "$stage" "$image_dir"
    trap - RETURN
    echo "cloud appliance image built in $(cat "$image_dir/build-seconds") s: $image_dir" >&2
}

# The bundle, with `appshare pack` (--pack) or by the README's former hand-made recipe.
make_bundle() {
    if [[ -n "$pack" ]]; then
        rm -rf --one-file-system "$1"
        "$pack" pack "$image_dir/base.qcow2" --name appshare-cloud --version 1.0.0 \
            --description "Debian 12 with cloud-init and OpenSSH (scripts/make-cloud-appliance.sh)" \
            --memory 512M --kernel "$image_dir/vmlinuz" --initrd "$image_dir/initrd.img" --cmdline "$cmdline" \
            ${user_data:+--user-data "$user_data"} -o "$1" >/dev/null
        return
    fi
    make_bundle_by_hand "$1"
}

# Digests with sha256sum, sizes with qemu-img info.
make_bundle_by_hand() {
    local dir=$1 name=appshare-cloud
    mkdir -p "$dir/images" "$dir/boot"
    cp "$image_dir/base.qcow2" "$dir/images/base.qcow2"
    cp "$image_dir/vmlinuz" "$dir/boot/vmlinuz"
    cp "$image_dir/initrd.img" "$dir/boot/initrd.img"
    digest() { sha256sum <"$1" | cut -d' ' -f1; }
    local virtual_size
    virtual_size=$(qemu-img info --output=json "$dir/images/base.qcow2" |
        sed -n 's/^ *"virtual-size": \([0-9]*\),*$/\1/p' | head -n1)
    local cloud_init=""
    if [[ -n "$user_data" ]]; then
        mkdir -p "$dir/cloud-init"
        cp "$user_data" "$dir/cloud-init/user-data"
        cloud_init="  <cloud-init>
    <user-data path=\"cloud-init/user-data\"><sha256>$(digest "$dir/cloud-init/user-data")</sha256></user-data>
  </cloud-init>"
    fi
    cat >"$dir/appliance.xml" <<EOF
<appliance format="1">
  <name>$name</name>
  <version>1.0.0</version>
  <description>Debian 12 with cloud-init and OpenSSH (scripts/make-cloud-appliance.sh)</description>
  <arch>x86_64</arch>
  <memory unit="MiB">512</memory>
  <vcpus>1</vcpus>
  <base>
    <image path="images/base.qcow2" format="qcow2">
      <sha256>$(digest "$dir/images/base.qcow2")</sha256>
      <virtual-size unit="B">$virtual_size</virtual-size>
      <size>$(stat -c %s "$dir/images/base.qcow2")</size>
    </image>
    <boot>
      <kernel path="boot/vmlinuz"><sha256>$(digest "$dir/boot/vmlinuz")</sha256></kernel>
      <initrd path="boot/initrd.img"><sha256>$(digest "$dir/boot/initrd.img")</sha256></initrd>
      <cmdline>$cmdline</cmdline>
    </boot>
  </base>
  <network type="user"/>
  <console type="serial"/>
$cloud_init
</appliance>
EOF
}

mkdir -p "$cache_root"
# One build at a time: a second caller (the test, while scripts/test.sh's early build runs)
# waits for the first and then finds the image cached.
exec 9>"$cache_root/.lock"
flock 9
if [[ ! -f "$image_dir/base.qcow2" ]]; then
    build_image
else
    echo "cloud appliance image cached: $image_dir (built in $(cat "$image_dir/build-seconds" 2>/dev/null || echo '?') s)" >&2
fi
mkdir -p "$out"
make_bundle "$out"
echo "cloud appliance bundle: $out (base $(stat -c %s "$out/images/base.qcow2") bytes)"
