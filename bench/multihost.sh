#!/usr/bin/env bash
# Several hosts on one GlusterFS volume, measured (issue 9): as root, from a clone, after the
# build (scripts/test.sh or demo.sh builds into build/).
#
#   bench/multihost.sh [--hosts N] [--per-host M] [--copy-mib S]
#
#   1. Cold start: N hosts x M lazily installed demo instances started at once on a cold base
#      on the Gluster volume, against the same N x M instances on ONE host whose shared_root is
#      a local directory. Reports the time until every `virsh start` returned and until every
#      guest printed its ready line, and how many copies of the base were made (must be 1).
#   2. Copy onto the volume: a first `appshare install` of an appliance whose base has S MiB of
#      data (a raw image: the load copies, hashes and fsyncs it onto the Gluster mount) against
#      `cp` + `sync` of the same file onto the same mount. Ratio = appshare / cp.
# Writes the table to stdout and bench/multihost-results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
hosts=3 per_host=4 copy_mib=256
while [[ -z "${APPSHARE_BED:-}" ]] && (($#)); do
    case "$1" in
        --hosts) hosts=$2; shift 2 ;;
        --per-host) per_host=$2; shift 2 ;;
        --copy-mib) copy_mib=$2; shift 2 ;;
        *) echo "multihost.sh: unknown option '$1'." >&2; exit 2 ;;
    esac
done
build=${APPSHARE_BUILD_DIR:-$root/build}
[[ -x "$build/bin/appshare" ]] || { echo "multihost.sh: build appshare first (scripts/test.sh)." >&2; exit 2; }

if [[ -z "${APPSHARE_BED:-}" ]]; then
    work=$(mktemp -d /tmp/appshare-bench-mh.XXXXXX)
    trap 'rm -rf --one-file-system "$work"' EXIT
    APPSHARE_BUILD_DIR="$build" bash scripts/make-demo-bundle.sh "$work/demo" >/dev/null
    # A raw base of copy_mib MiB of data, for the copy figure.
    mkdir -p "$work/big/images"
    head -c "$((copy_mib * 1024 * 1024))" /dev/urandom >"$work/big/images/base.raw"
    sha=$(sha256sum "$work/big/images/base.raw" | cut -d' ' -f1)
    cat >"$work/big/appliance.xml" <<XML
<?xml version="1.0"?>
<appliance format="1">
  <name>bench-copy</name>
  <version>1</version>
  <description/>
  <arch>x86_64</arch>
  <memory unit="MiB">64</memory>
  <vcpus>1</vcpus>
  <base>
    <image path="images/base.raw" format="raw">
      <sha256>$sha</sha256>
      <virtual-size>$((copy_mib * 1024 * 1024))</virtual-size>
    </image>
  </base>
</appliance>
XML
    conf() {  # SHARED_ROOT
        printf 'lock_wait_seconds = 300\nvirt_type = "qemu"\nuri = "qemu:///system"\nlog = "/var/log/libvirt/appshare.log"\nallowed_source_dirs = ["%s"]\nshared_root = "%s"\n' \
            "$work/demo/images" "$1" >"$work/conf"
    }
    conf /var/lib/libvirt/images/appshare/shared
    scripts/multihost-sandbox.sh --hosts "$hosts" --conf "$work/conf" -- bash "$0" gluster "$work" "$per_host" >"$work/gluster.out"
    conf /var/lib/libvirt/images/appshare/local-shared
    scripts/multihost-sandbox.sh --hosts 1 --conf "$work/conf" -- bash "$0" local "$work" "$((hosts * per_host))" >"$work/local.out"
    conf /var/lib/libvirt/images/appshare/shared
    scripts/multihost-sandbox.sh --hosts 1 --conf "$work/conf" -- bash "$0" copy "$work" 0 >"$work/copy.out"
    read -r g_start g_ready g_loads <"$work/gluster.out"
    read -r l_start l_ready l_loads <"$work/local.out"
    read -r c_appshare c_cp <"$work/copy.out"
    ratio() { awk "BEGIN{printf \"%.2f\", $1/$2}"; }
    {
        echo "| measure | GlusterFS, $hosts hosts x $per_host | one host, local dir, $((hosts * per_host)) | ratio |"
        echo "|---|---|---|---|"
        echo "| all \`virsh start\` returned | ${g_start} ms | ${l_start} ms | $(ratio "$g_start" "$l_start") |"
        echo "| all guests ready | ${g_ready} ms | ${l_ready} ms | $(ratio "$g_ready" "$l_ready") |"
        echo "| copies of the base made | $g_loads | $l_loads | |"
        echo
        echo "| copy of a ${copy_mib} MiB base onto the Gluster mount | appshare install (load: copy + hash + fsync) | cp + sync | ratio |"
        echo "|---|---|---|---|"
        echo "| time | ${c_appshare} ms | ${c_cp} ms | $(ratio "$c_appshare" "$c_cp") |"
    } | tee bench/multihost-results.md
    exit 0
fi

# ---- inside a bed ---------------------------------------------------------------------------
mode=$1 work=$2 per_host=$3
source "$root/scripts/lib/bed-story.sh"
ms() { echo $(($(date +%s%N) / 1000000)); }
if [[ "$mode" == copy ]]; then
    h=${APPSHARE_BED_HOSTS%% *}
    story_init "$build" "$root" "$work/demo"
    t0=$(ms)
    on-host "$h" "${appshare[@]}" install "$work/big" --name bench-copy --virt-type qemu >/dev/null
    t1=$(ms)
    on-host "$h" bash -c "cp '$work/big/images/base.raw' '$APPSHARE_BED_SHARED/cp-copy.raw' && sync"
    t2=$(ms)
    echo "$((t1 - t0)) $((t2 - t1))"
    exit 0
fi
story_init "$build" "$root" "$work/demo"
names=()
for h in "${story_hosts[@]}"; do
    for i in $(seq 1 "$per_host"); do names+=("$h:$h-b$i"); story_install "$h" "$h-b$i" >/dev/null; done
done
story_register_hooks
t0=$(ms)
failed=$(story_start_all "${names[@]}")
t1=$(ms)
[[ -z "$failed" ]] || { echo "$failed" >&2; exit 1; }
for hn in "${names[@]}"; do story_wait_ready "${hn%%:*}" "${hn#*:}" 600 >/dev/null || { echo "no ready line from ${hn#*:}" >&2; exit 1; }; done
t2=$(ms)
echo "$((t1 - t0)) $((t2 - t0)) $(story_loads)"
