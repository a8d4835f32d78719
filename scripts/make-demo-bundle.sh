#!/usr/bin/env bash
# Builds the appshare demo appliance bundle (format v1) from Debian packages only.
#
#   scripts/make-demo-bundle.sh [--tar FILE] [--cache DIR] [--app-version V]
#                               [--source-file PATH]... [--source-url URL]... [OUTDIR]
#
# OUTDIR (default build/demo-bundle) receives:
#   appliance.xml      the manifest (name appshare-demo, digests and sizes filled in)
#   images/base.qcow2  the shared base: ext4 holding busybox and the demo application (qcow2 v3, no backing file)
#   boot/vmlinuz       Debian's cloud kernel, for direct kernel boot
#   boot/initrd.img    a busybox initramfs that loads the virtio disk driver and switches to the base disk
# --tar FILE also writes the same bundle as a tar archive (.tar, .tar.gz, .tar.xz by FILE's name).
# --source-file / --source-url add <sources> the base can be re-loaded from.
#
# Packages: linux-image-<ver>-cloud-amd64 (what linux-image-cloud-amd64 depends on) and
# busybox-static, fetched with `apt-get download` into the cache (default
# /var/cache/appshare-demo, or $APPSHARE_DEMO_CACHE) and checked against apt's SHA-256; nothing
# is installed on the host. Needs apt lists (scripts/install-deps.sh runs apt-get update),
# dpkg-deb, mkfs.ext4 and debugfs (e2fsprogs), qemu-img, cpio, gzip, sha256sum, and a built
# appshare ($APPSHARE_BIN, else $APPSHARE_BUILD_DIR/bin/appshare or build/bin/appshare, else on
# PATH), whose `appshare pack` writes the manifest and verifies the bundle.
# The output is reproducible: same packages + same SOURCE_DATE_EPOCH give the same bytes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
guest="$here/demo-appliance"

app_name=appshare-demo
app_version=1.0.0
disk_size_mib=64
memory_mib=256
cmdline="console=ttyS0 root=/dev/vda rw quiet tsc=reliable no_timer_check mitigations=off"
fs_uuid=6a1f3c2e-0d4b-4e55-9a3a-2d5f7b1c0de1
epoch=${SOURCE_DATE_EPOCH:-1704067200}
cache=${APPSHARE_DEMO_CACHE:-/var/cache/appshare-demo}
out=""
tar_file=""
source_files=()
source_urls=()
# The virtio disk stack in load order; each is either built in or must exist as a module.
disk_modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk)

die() { echo "make-demo-bundle.sh: $*" >&2; exit 1; }
usage() {
    sed -n '3,5p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while (($#)); do
    case "$1" in
        --tar) (($# >= 2)) || usage; tar_file=$2; shift 2 ;;
        --cache) (($# >= 2)) || usage; cache=$2; shift 2 ;;
        --app-version) (($# >= 2)) || usage; app_version=$2; shift 2 ;;
        --source-file) (($# >= 2)) || usage; source_files+=("$2"); shift 2 ;;
        --source-url) (($# >= 2)) || usage; source_urls+=("$2"); shift 2 ;;
        -h | --help) usage ;;
        --) shift; break ;;
        -*) echo "make-demo-bundle.sh: unknown option $1" >&2; usage ;;
        *) [[ -z "$out" ]] || usage; out=$1; shift ;;
    esac
done
(($# <= 1)) || usage
[[ $# -eq 0 ]] || { [[ -z "$out" ]] || usage; out=$1; }
out=${out:-build/demo-bundle}

[[ "$app_version" =~ ^[A-Za-z0-9][A-Za-z0-9.+~_-]{0,63}$ ]] ||
    die "--app-version '$app_version' is not a valid manifest version; use letters, digits and . + ~ _ -."
for p in "${source_files[@]}"; do
    [[ "$p" == /* ]] || die "--source-file '$p' must be an absolute path."
done
for u in "${source_urls[@]}"; do
    [[ "$u" =~ ^https?:// ]] || die "--source-url '$u' must be an http:// or https:// URL."
done
compress=(cat)
case "$tar_file" in
    "" | *.tar) ;;
    *.tar.gz | *.tgz) compress=(gzip -n) ;;
    *.tar.xz | *.txz) compress=(xz -T1 -6) ;;
    *) die "--tar $tar_file must end in .tar, .tar.gz or .tar.xz." ;;
esac
# The appshare command that packs the bundle: $APPSHARE_BIN, else the build's, else on PATH.
appshare=${APPSHARE_BIN:-${APPSHARE_BUILD_DIR:-$here/../build}/bin/appshare}
[[ -x "$appshare" ]] || appshare=$(command -v appshare) ||
    die "no appshare command to pack the bundle; build it (cmake --build build) or set APPSHARE_BIN."
for tool in apt-get apt-cache dpkg-deb mkfs.ext4 debugfs qemu-img cpio gzip sha256sum tar; do
    command -v "$tool" >/dev/null || die "'$tool' is missing; run scripts/install-deps.sh first."
done
for f in initramfs-init.sh base-init.sh appshare-demo.sh; do
    [[ -r "$guest/$f" ]] || die "guest file $guest/$f is missing; restore it from the repository."
done

# Refuse to clobber anything that is not a previous demo bundle.
if [[ -e "$out" ]]; then
    [[ -d "$out" ]] || die "output $out exists and is not a directory; remove it or pick another path."
    if [[ -n "$(ls -A "$out")" ]] && ! grep -qs "<name>$app_name</name>" "$out/appliance.xml"; then
        die "output directory $out is not empty and holds no demo bundle; remove it or pick another path."
    fi
fi

mkdir -p "$cache" || die "cannot create the package cache $cache; run as root or pass --cache DIR."
work=$(mktemp -d "${TMPDIR:-/tmp}/appshare-demo-bundle.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT

# apt's records (candidate versions) of the packages we use; apt-cache is slow, so ask twice only.
apt_records=$(apt-cache show --no-all-versions linux-image-cloud-amd64 busybox-static 2>/dev/null) || apt_records=""
# Prints field $2 of package $1 from $apt_records.
apt_field() {
    awk -v pkg="$1" -v field="$2" '
        /^Package: / { cur = substr($0, 10) }
        cur == pkg && index($0, field ": ") == 1 { print substr($0, length(field) + 3); exit }
    ' <<<"$apt_records"
}

# Makes sure the candidate .deb of package $1 is in the cache, verified; prints its path.
fetch_deb() {
    local pkg=$1 filename sha deb
    filename=$(apt_field "$pkg" Filename)
    sha=$(apt_field "$pkg" SHA256)
    [[ -n "$filename" && -n "$sha" ]] ||
        die "apt knows no package $pkg; run scripts/install-deps.sh (it runs apt-get update) and retry."
    deb="$cache/$(basename "$filename")"
    if [[ -f "$deb" ]] && [[ $(sha256sum <"$deb" | cut -d' ' -f1) == "$sha" ]]; then
        echo "$deb"
        return
    fi
    local dl="$work/download-$pkg"
    mkdir -p "$dl"
    (cd "$dl" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
        die "apt-get download $pkg failed; check the network and apt sources, then retry."
    local got=("$dl"/*.deb)
    [[ ${#got[@]} -eq 1 && -f "${got[0]}" ]] || die "apt-get download $pkg produced no single .deb in $dl."
    [[ $(sha256sum <"${got[0]}" | cut -d' ' -f1) == "$sha" ]] ||
        die "downloaded $pkg does not match apt's SHA-256; run apt-get update and retry."
    mv -f "${got[0]}" "$deb.part" && mv -f "$deb.part" "$deb"
    echo "$deb"
}

# linux-image-cloud-amd64 depends on the versioned kernel package, e.g. linux-image-6.1.0-56-cloud-amd64.
kernel_pkg=$(apt_field linux-image-cloud-amd64 Depends | tr ',' '\n' |
    sed -n 's/^ *\(linux-image-[^ ]*-cloud-amd64\)\( .*\)\{0,1\}$/\1/p' | head -n1)
[[ -n "$kernel_pkg" ]] ||
    die "apt cannot resolve linux-image-cloud-amd64; run scripts/install-deps.sh (it runs apt-get update) and retry."
kver=${kernel_pkg#linux-image-}
apt_records+=$'\n'$(apt-cache show --no-all-versions "$kernel_pkg" 2>/dev/null) || true
kernel_deb=$(fetch_deb "$kernel_pkg")
busybox_deb=$(fetch_deb busybox-static)

# --- unpack only what is needed --------------------------------------------------------
# Unpacks members of .deb $1 (tar patterns $3...) once into the cache; sets $2 to that tree.
# Unpacking a kernel package takes seconds, so warm builds reuse the tree (keyed by the .deb's name).
unpack_cached() {
    local deb=$1 var=$2 tree="$1.unpacked"
    shift 2
    if [[ ! -d "$tree" ]]; then
        local tmp
        tmp=$(mktemp -d "$tree.XXXXXX")
        dpkg-deb --fsys-tarfile "$deb" | tar -C "$tmp" -x --wildcards "$@" ||
            { rm -rf "$tmp"; die "cannot unpack $* from $deb; delete it and retry."; }
        mv -T "$tmp" "$tree" 2>/dev/null || rm -rf "$tmp"   # another build may have won the race
    fi
    printf -v "$var" '%s' "$tree"
}
kx="" bx=""
unpack_cached "$kernel_deb" kx "./boot/vmlinuz-$kver" "./lib/modules/$kver/modules.builtin" \
    "./lib/modules/$kver/kernel/drivers/virtio/*" "./lib/modules/$kver/kernel/drivers/block/*"
unpack_cached "$busybox_deb" bx ./bin/busybox
busybox="$bx/bin/busybox"
moddir="$kx/lib/modules/$kver"

# --- initramfs: busybox, the virtio disk modules, /init -----------------------------------
ird="$work/initramfs"
mkdir -p "$ird"/{bin,dev,etc,lib/modules,newroot,proc,sys}
install -m 0755 "$busybox" "$ird/bin/busybox"
for applet in sh mount umount insmod sleep cat poweroff switch_root sync; do
    ln -s busybox "$ird/bin/$applet"
done
install -m 0755 "$guest/initramfs-init.sh" "$ird/init"
: >"$ird/etc/modules"
for m in "${disk_modules[@]}"; do
    ko=$(find "$moddir/kernel" -name "$m.ko" -print -quit)
    if [[ -n "$ko" ]]; then
        install -m 0644 "$ko" "$ird/lib/modules/$m.ko"
        echo "$m" >>"$ird/etc/modules"
    elif grep -q "/$m\.ko$" "$moddir/modules.builtin"; then
        :
    else
        die "kernel $kver has virtio driver $m neither as a module nor built in; this script needs updating."
    fi
done
mknod -m 0600 "$ird/dev/console" c 5 1 2>/dev/null || true

# --- base disk root: busybox with its applet links, init, the application ----------------
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,etc/appshare-demo,var/lib/appshare-demo}
chmod 1777 "$rootfs/tmp"
install -m 0755 "$busybox" "$rootfs/bin/busybox"
while read -r applet; do
    [[ -n "$applet" && "$applet" != bin/busybox && ! -e "$rootfs/$applet" ]] || continue
    case "$applet" in
        bin/* | sbin/*) ln -s ../bin/busybox "$rootfs/$applet" ;;
        usr/bin/* | usr/sbin/*) ln -s ../../bin/busybox "$rootfs/$applet" ;;
        *) ;;   # linuxrc: not wanted
    esac
done < <("$busybox" --list-full | LC_ALL=C sort)
rm -f "$rootfs/sbin/init"
install -m 0755 "$guest/base-init.sh" "$rootfs/sbin/init"
install -m 0755 "$guest/appshare-demo.sh" "$rootfs/usr/bin/appshare-demo"
echo "$app_version" >"$rootfs/etc/appshare-demo/version"
echo "$app_name" >"$rootfs/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"

# Fixed timestamps make the images reproducible.
find "$ird" "$rootfs" -exec touch -h -d "@$epoch" {} +

# --- images ------------------------------------------------------------------------------
stage="$work/stage"
mkdir -p "$stage"
(cd "$ird" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet --reproducible -o -H newc -R 0:0 | gzip -9 -n) >"$stage/initrd.img"

raw="$work/base.raw"
truncate -s "${disk_size_mib}M" "$raw"
E2FSPROGS_FAKE_TIME=$epoch mkfs.ext4 -q -F -L "$app_name" -U "$fs_uuid" -m 0 \
    -E "hash_seed=$fs_uuid,root_owner=0:0" -d "$rootfs" "$raw" ||
    die "mkfs.ext4 could not build the base file system."
# mkfs.ext4 -d copies each file's change time, which touch cannot set; pin it with debugfs.
{
    echo "sif / ctime @$epoch"
    (cd "$rootfs" && find . -mindepth 1 | LC_ALL=C sort | sed "s|^\.\(.*\)$|sif \"\1\" ctime @$epoch|")
} >"$work/debugfs.cmd"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$work/debugfs.cmd" "$raw" >/dev/null 2>"$work/debugfs.log" ||
    die "debugfs could not open the base file system to pin its timestamps."
if grep -v '^debugfs [0-9]' "$work/debugfs.log" >&2; then
    die "debugfs could not pin timestamps in the base file system (messages above)."
fi
qemu-img convert -f raw -O qcow2 -o compat=1.1 "$raw" "$stage/base.qcow2" ||
    die "qemu-img could not convert the base disk to qcow2."

# --- the bundle: appshare pack writes the manifest (digests, sizes) and verifies it ------
pack_args=(pack "$stage/base.qcow2" --name "$app_name" --version "$app_version"
    --description "Busybox demo appliance: Debian cloud kernel $kver, application on the shared base disk"
    --arch x86_64 --memory "${memory_mib}M" --vcpus 1
    --kernel "$kx/boot/vmlinuz-$kver" --initrd "$stage/initrd.img" --cmdline "$cmdline"
    --network none --console serial -o "$work/bundle")   # the demo application does not use the network
for p in "${source_files[@]}"; do pack_args+=(--source-file "$p"); done
for u in "${source_urls[@]}"; do pack_args+=(--source-url "$u"); done
APPSHARE_NO_PROGRESS=1 APPSHARE_TEMPLATE_DIR=${APPSHARE_TEMPLATE_DIR:-$here/../xml-templates} \
    "$appshare" "${pack_args[@]}" >/dev/null || die "appshare pack could not make the bundle (its message above)."
stage="$work/bundle"
base="$stage/images/base.qcow2"
virtual_size=$((disk_size_mib * 1024 * 1024))
find "$stage" -exec touch -h -d "@$epoch" {} +

# --- publish -----------------------------------------------------------------------------
mkdir -p "$out"
rm -rf --one-file-system "${out:?}/appliance.xml" "${out:?}/images" "${out:?}/boot"
cp -a "$stage/images" "$stage/boot" "$out/"
cp -a "$stage/appliance.xml" "$out/appliance.xml"   # last: a bundle with a manifest is complete

if [[ -n "$tar_file" ]]; then
    mkdir -p "$(dirname "$tar_file")"
    tar -C "$stage" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
        --format=gnu -cf - appliance.xml boot images | "${compress[@]}" >"$tar_file.part" ||
        die "cannot write the tar archive $tar_file."
    mv -f "$tar_file.part" "$tar_file"
fi

echo "demo bundle: $out (kernel $kver, base $(stat -c %s "$base") bytes, virtual $virtual_size bytes)${tar_file:+, tar $tar_file}"
