#!/usr/bin/env bash
# Live migration measured (issue 13, item 6): as root, from a clone, after the build
# (scripts/test.sh or demo.sh builds into build/; APPSHARE_BUILD_DIR overrides).
#
#   bench/migration.sh [--rounds N] [--base-mib S] [--writes-mib W]
#
# On the multi-host bed (scripts/multihost-sandbox.sh, 2 hosts, shared_root on GlusterFS,
# host-local contexts), the demo guest on a base padded to S MiB of data (default 1024: the demo
# base resized and the new space written with qemu-io, so all of it is allocated), installed
# twice on h1, each overlay given W MiB of guest writes offline (default 50, qemu-io 'write -P
# 0x5a'), both guests started. Then N rounds (default 3), each migrating both h1 -> h2 and back:
#   appshare   `virsh migrate --live --persistent --copy-storage-inc` (only the overlay moves)
#   full copy  the same domain with `--copy-storage-all` (the whole disk, base included, moves
#              into the destination's overlay: what a user without a shared base pays)
# interleaved leg by leg. Time = wall clock of `virsh migrate`; bytes from `virsh domjobinfo
# --completed` on the source (memory, disk = "File processed", total = "Data processed").
# Prints the table (medians, ratios) and writes it to bench/migration-results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rounds=3 base_mib=1024 writes_mib=50
while [[ -z "${APPSHARE_BED:-}" ]] && (($#)); do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --base-mib) base_mib=$2; shift 2 ;;
        --writes-mib) writes_mib=$2; shift 2 ;;
        *) echo "migration.sh: unknown option '$1'." >&2; exit 2 ;;
    esac
done
build=${APPSHARE_BUILD_DIR:-$root/build}
[[ -x "$build/bin/appshare" ]] || { echo "migration.sh: build appshare first (scripts/test.sh)." >&2; exit 2; }

if [[ -z "${APPSHARE_BED:-}" ]]; then
    [[ $(id -u) -eq 0 ]] || { echo "migration.sh: run as root (it starts a bed of private daemons)." >&2; exit 2; }
    work=$(mktemp -d /tmp/appshare-bench-mig.XXXXXX)
    trap 'rm -rf --one-file-system "$work"' EXIT
    APPSHARE_BIN="$build/bin/appshare" bash scripts/make-demo-bundle.sh "$work/demo" >/dev/null
    # The demo base padded: S MiB more virtual size past its ext4 file system, all written.
    base="$work/demo/images/base.qcow2"
    old_size=$(qemu-img info --output=json "$base" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
    qemu-img resize -q -f qcow2 "$base" "$((old_size + base_mib * 1048576))"
    qemu-io -f qcow2 -c "write -P 0x61 $old_size ${base_mib}M" "$base" >/dev/null
    sha=$(sha256sum "$base" | cut -d' ' -f1)
    python3 - "$work/demo/appliance.xml" "$sha" "$((old_size + base_mib * 1048576))" "$(stat -c %s "$base")" <<'PY'
import re, sys
path, sha, virtual, size = sys.argv[1:]
text = open(path).read()
image = re.search(r'<image path="images/base.qcow2".*?</image>', text, re.S).group(0)
new = re.sub(r'<sha256>[0-9a-f]+</sha256>', f'<sha256>{sha}</sha256>', image)
new = re.sub(r'<virtual-size unit="B">\d+</virtual-size>', f'<virtual-size unit="B">{virtual}</virtual-size>', new)
new = re.sub(r'<size>\d+</size>', f'<size>{size}</size>', new)
open(path, 'w').write(text.replace(image, new))
PY
    "$build/bin/appshare" verify "$work/demo" >/dev/null
    printf 'lock_wait_seconds = 300\nvirt_type = "qemu"\nuri = "qemu:///system"\nlog = "/var/log/libvirt/appshare.log"\nallowed_source_dirs = ["%s"]\n' \
        "$work/demo/images" >"$work/conf"
    APPSHARE_BUILD_DIR="$build" scripts/multihost-sandbox.sh --hosts 2 --conf "$work/conf" -- \
        bash "$0" "$work" "$rounds" "$writes_mib" >"$work/samples"
    python3 - "$work/samples" "$base_mib" "$writes_mib" "$rounds" "$(stat -c %s "$base")" <<'PY' | tee bench/migration-results.md
import statistics, sys
path, base_mib, writes_mib, rounds, base_bytes = sys.argv[1:]
rows = {"inc": [], "all": []}
for line in open(path):
    kind, leg, ms, mem, disk, total = line.split()
    rows[kind].append((int(ms), int(mem), int(disk), int(total)))
med = {k: [statistics.median(s[i] for s in v) for i in range(4)] for k, v in rows.items()}
mib = lambda b: f"{b / 1048576:.1f} MiB"
print(f"Live migration of the demo guest (256 MiB of memory) on a {base_mib} MiB base ({int(base_bytes) / 1048576:.0f} MiB "
      f"allocated) with {writes_mib} MiB of guest writes in its overlay, between 2 hosts of the bed; "
      f"median of {len(rows['inc'])} migrations each ({rounds} rounds, both directions), interleaved.\n")
print("| measure | appshare (--copy-storage-inc) | full copy (--copy-storage-all) | ratio (full / appshare) |")
print("|---|---|---|---|")
names = ["time (virsh migrate)", "memory moved", "disk moved", "total moved"]
for i, name in enumerate(names):
    a, f = med["inc"][i], med["all"][i]
    fa, ff = (f"{a:.0f} ms", f"{f:.0f} ms") if i == 0 else (mib(a), mib(f))
    print(f"| {name} | {fa} | {ff} | {f / a:.1f} |" if a else f"| {name} | {fa} | {ff} | |")
print("\nSamples (kind leg ms memory-bytes disk-bytes total-bytes):\n")
print("```")
print(open(path).read().rstrip())
print("```")
PY
    exit 0
fi

# ---- inside the bed ---------------------------------------------------------------------------
work=$1 rounds=$2 writes_mib=$3
source "$root/scripts/lib/bed-story.sh"
source "$root/tests/multihost/lib.sh"
source "$root/tests/multihost/migration_lib.sh"
story_init "$build" "$root" "$work/demo"
read -r h1 h2 _ <<<"$APPSHARE_BED_HOSTS"
die() { echo "migration.sh: $*" >&2; exit 1; }
for name in bench-inc bench-all; do
    on-host "$h1" "${appshare[@]}" install "$work/demo" --name "$name" --virt-type qemu >/dev/null || die "installing $name failed"
    # The guest writes, made offline in the overlay (past the guest's file system).
    on-host "$h1" qemu-io -f qcow2 -c "write -P 0x5a 320M ${writes_mib}M" "$CONTEXTS/$name/disk.qcow2" >/dev/null ||
        die "writing into the overlay of $name failed"
done
# h2 hashes the base once (its own verification record) before anything is timed.
on-host "$h2" "${appshare[@]}" install "$work/demo" --name bench-warm --virt-type qemu >/dev/null || die "installing bench-warm on $h2 failed"
story_register_hooks
for name in bench-inc bench-all; do
    on-host "$h1" virsh -q start "$name" >/dev/null || die "starting $name failed"
done
for name in bench-inc bench-all; do story_wait_ready "$h1" "$name" 300 >/dev/null || die "$name printed no ready line"; done
echo "migration.sh: overlay of bench-inc $(on-host "$h1" du -k "$CONTEXTS/bench-inc/disk.qcow2" | cut -f1) KiB allocated" >&2

# leg NAME FROM TO OPTION: one migration; prints "kind leg ms memory disk total".
leg() {
    local name=$1 from=$2 to=$3 opt=$4 t0 ms info
    t0=$(now_ms)
    on-host "$from" virsh migrate --live --persistent "$opt" "$name" "qemu+tcp://$to/system" >/dev/null || die "migrating $name $from -> $to ($opt) failed"
    ms=$(($(now_ms) - t0))
    info=$(on-host "$from" virsh domjobinfo --completed "$name")
    on-host "$from" virsh -q undefine "$name" >/dev/null || die "undefining $name on $from failed"
    echo "${name#bench-} ${from#appshare-}-${to#appshare-} $ms $(bytes_of "Memory processed" <<<"$info") $(bytes_of "File processed" <<<"$info") $(bytes_of "Data processed" <<<"$info")"
}
for r in $(seq 1 "$rounds"); do
    for pair in "$h1 $h2" "$h2 $h1"; do
        read -r from to <<<"$pair"
        leg bench-inc "$from" "$to" --copy-storage-inc
        leg bench-all "$from" "$to" --copy-storage-all
    done
    echo "migration.sh: round $r done" >&2
done
