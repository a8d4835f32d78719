#!/usr/bin/env bash
# The whole appshare story on one machine, end to end:
#   set-up and build, make the demo appliance bundle from Debian packages, verify it, install
#   it as three instances (one shared base, three thin contexts), start them in parallel with
#   plain `virsh start` (each start goes through the hook's lock-and-load), wait for each
#   guest's ready line, and print a report: identities, boot times, disk used by the base and
#   each context, and the saving against full copies.
#
#   scripts/demo.sh [--instances N] [--system [--keep]] [--shell]
#   scripts/demo.sh --hosts N [--instances M]
#
#   --instances N  how many instances (default 3; with --hosts, per host, default 2)
#   --hosts N      the story on N simulated hosts sharing one GlusterFS volume
#                  (scripts/multihost-sandbox.sh): one load of the base for all of them, each
#                  host's instances with their own identities, waiters naming the loader's host
#   --system       use the host's own libvirtd (qemu:///system) instead of a private one;
#                  the demo's domains are removed at the end unless --keep is given
#   --keep         with --system: leave the instances installed
#   --shell        with the private daemon: open a shell next to it before tearing it down
#
# By default everything runs next to a private libvirtd (scripts/libvirt-sandbox.sh), so the
# demo never disturbs a user's own domains, and everything it made is gone afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

instances=""
hosts=0
system=0
keep=0
shell=0
while (($#)); do
    case "$1" in
        --instances) instances="$2"; shift 2 ;;
        --hosts) hosts="$2"; shift 2 ;;
        --system) system=1; shift ;;
        --keep) keep=1; shift ;;
        --shell) shell=1; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "demo.sh: unknown option '$1'; see --help." >&2; exit 2 ;;
    esac
done
[[ "$hosts" =~ ^[0-9]$ ]] && ((hosts != 1)) || { echo "demo.sh: --hosts takes a number from 2 to 9." >&2; exit 2; }
((hosts >= 2 && system)) && { echo "demo.sh: --hosts and --system do not go together: the hosts are simulated." >&2; exit 2; }
[[ -n "$instances" ]] || instances=$((hosts >= 2 ? 2 : 3))
[[ "$instances" =~ ^[1-9][0-9]?$ ]] || { echo "demo.sh: --instances takes a number from 1 to 99." >&2; exit 2; }

build=${APPSHARE_BUILD_DIR:-$root/build}
bundle="$build/demo-bundle"

if [[ -z "${APPSHARE_DEMO_INNER:-}" ]]; then
    [[ $(id -u) -eq 0 ]] || { echo "demo.sh: run as root (it installs packages and runs libvirtd)." >&2; exit 2; }
    echo "== set-up and build"
    bash scripts/install-deps.sh >/dev/null
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j"$(nproc)" --target appshare_programs >/dev/null   # not the tests: scripts/test.sh builds those
    echo "== demo appliance bundle (Debian cloud kernel + busybox, application on the base disk)"
    APPSHARE_BUILD_DIR="$build" bash scripts/make-demo-bundle.sh "$bundle" >/dev/null
    export APPSHARE_DEMO_INNER=1 APPSHARE_BUILD_DIR="$build"
    args=(--instances "$instances")
    ((keep)) && args+=(--keep)
    ((shell)) && args+=(--shell)
    if ((system)); then
        exec bash "$0" --system "${args[@]}"
    fi
    if ((hosts >= 2)); then
        echo "== starting a GlusterFS volume and $hosts simulated hosts, each with its own libvirtd"
        conf="$build/demo-hosts.conf"
        printf 'lock_wait_seconds = 120\nvirt_type = "qemu"\nuri = "qemu:///system"\nlog = "/var/log/libvirt/appshare.log"\nallowed_source_dirs = ["%s"]\n' \
            "$(readlink -f "$bundle/images")" >"$conf"
        exec scripts/multihost-sandbox.sh --hosts "$hosts" --conf "$conf" -- bash scripts/lib/demo-hosts.sh "$build" "$root" "$bundle" "$instances"
    fi
    echo "== starting a private libvirtd (the host's libvirt is not touched)"
    exec scripts/libvirt-sandbox.sh -- bash "$0" "${args[@]}"
fi

# ---- from here on: next to the libvirtd the demo uses ----
appshare="$build/bin/appshare"
export APPSHARE_HOOK_BIN="$build/libexec/appshare/appshare-hook"
export APPSHARE_TEMPLATE_DIR="$root/xml-templates"
names=()
for i in $(seq 1 "$instances"); do names+=("appshare-demo-$i"); done

if [[ -n "${APPSHARE_SANDBOX:-}" ]]; then
    # Private daemon: a private /etc/appshare too; keep the hook's log where we can show it.
    hook_log=/var/log/libvirt/appshare-hook.log
    # The bundle's image folder is an allowed source, so the hook may load the base from it.
    printf 'lock_wait_seconds = 60\nlog = "%s"\nallowed_source_dirs = ["%s"]\n' \
        "$hook_log" "$(readlink -f "$bundle/images")" >/etc/appshare/appshare.conf
else
    hook_log=""
fi

cleanup() {
    if ((system)) && ((keep == 0)); then
        for n in "${names[@]}"; do "$appshare" uninstall --force "$n" >/dev/null 2>&1 || true; done
    fi
}
trap cleanup EXIT

echo "== verify the bundle"
"$appshare" verify "$bundle"

# With the private daemon, install with --lazy: the shared base is not copied at install, and
# the parallel starts below load it through the hook's lock-and-load (exactly once).
lazy=()
[[ -n "${APPSHARE_SANDBOX:-}" ]] && lazy=(--lazy)
echo "== install ${instances} instances (only the context of each; the base is shared)"
for n in "${names[@]}"; do
    t0=$(date +%s%N)
    "$appshare" install "$bundle" --name "$n" --virt-type qemu "${lazy[@]}" >"$build/demo-install-$n.log"
    echo "   installed $n in $(( ($(date +%s%N) - t0) / 1000000 )) ms: $(grep -m1 'base:' "$build/demo-install-$n.log" | sed 's/^ *base: *//')"
done
"$appshare" hook register --reload

echo "== start all instances in parallel with virsh (each start runs the hook's lock-and-load)"
results=$(mktemp -d)
start_and_wait() {
    local n="$1" log="/var/log/libvirt/qemu/$1-serial.log" t0 line
    t0=$(date +%s%N)
    if ! virsh -q start "$n" >"$results/$n.start" 2>&1; then
        echo "FAILED $(cat "$results/$n.start")" >"$results/$n"
        return
    fi
    for _ in $(seq 1 1800); do
        line=$(grep -a -m1 'appshare-demo ready' "$log" 2>/dev/null || true)
        if [[ -n "$line" ]]; then
            echo "$(( ($(date +%s%N) - t0) / 1000000 )) ${line//$'\r'/}" >"$results/$n"
            return
        fi
        sleep 0.1
    done
    echo "TIMEOUT no ready line after 180 s" >"$results/$n"
}
for n in "${names[@]}"; do start_and_wait "$n" & done
wait

echo
echo "== report"
printf '%-18s %-8s %-18s %-38s %-6s %s\n' INSTANCE BOOT HOSTNAME INSTANCE-ID BOOTS CONTEXT
status=0
for n in "${names[@]}"; do
    read -r ms rest <"$results/$n" || true
    if [[ "$ms" == FAILED || "$ms" == TIMEOUT ]]; then
        echo "$n: $ms $rest"; status=1; continue
    fi
    host=$(sed -n 's/.* host=\([^ ]*\).*/\1/p' <<<"$rest")
    inst=$(sed -n 's/.* instance=\([^ ]*\).*/\1/p' <<<"$rest")
    boots=$(sed -n 's/.* boots=\([0-9]*\).*/\1/p' <<<"$rest")
    ctx=$(du -sh "/var/lib/libvirt/images/appshare/contexts/$n" 2>/dev/null | cut -f1)
    printf '%-18s %-8s %-18s %-38s %-6s %s\n' "$n" "$(awk "BEGIN{printf \"%.1f s\", $ms/1000}")" "$host" "$inst" "$boots" "$ctx"
done
echo
"$appshare" list
if [[ -n "$hook_log" && -f "$hook_log" ]]; then
    echo
    echo "== what the startup binary did (its log)"
    grep -E 'loaded|prepared|waiting|independent' "$hook_log" | sed 's/^[^ ]* //' | tail -n 12
    echo "   copies of the base made by the hook: $(grep -c 'loaded .*/shared/.*qcow2 from' "$hook_log" || true)"
fi

if ((shell)) && [[ -n "${APPSHARE_SANDBOX:-}" ]]; then
    echo
    echo "== a shell next to the private libvirtd; exit to tear everything down"
    bash -i || true
fi
exit "$status"
