#!/usr/bin/env bash
# The demo on several simulated hosts (scripts/demo.sh --hosts N), run inside the bed:
#   demo-hosts.sh BUILD_DIR SOURCE_DIR BUNDLE INSTANCES_PER_HOST
set -euo pipefail
build=$1 src=$2 bundle=$3 per_host=$4
# shellcheck source=bed-story.sh
source "$src/scripts/lib/bed-story.sh"
story_init "$build" "$src" "$bundle"

echo "== install $per_host instances on each of ${#story_hosts[@]} hosts (contexts only; the base stays on the shared volume)"
names=()
for h in "${story_hosts[@]}"; do
    for i in $(seq 1 "$per_host"); do
        n="$h-demo-$i"
        names+=("$h:$n")
        story_install "$h" "$n" >/dev/null
    done
done
story_register_hooks

echo "== start all ${#names[@]} instances at once with virsh, on every host (the base is not loaded yet)"
t0=$(date +%s%N)
failed=$(story_start_all "${names[@]}")
[[ -z "$failed" ]] || { echo "$failed"; exit 1; }

echo
printf '%-14s %-20s %-10s %s\n' HOST INSTANCE READY "WHAT THE GUEST SAYS"
status=0
for hn in "${names[@]}"; do
    h=${hn%%:*} n=${hn#*:}
    line=$(story_wait_ready "$h" "$n" 300 || true)
    if [[ -z "$line" ]]; then echo "$n on $h: no ready line"; status=1; continue; fi
    printf '%-14s %-20s %-10s %s\n' "$h" "$n" "$(( ($(date +%s%N) - t0) / 1000000 )) ms" "${line#*appshare-demo ready }"
done

echo
loader=$(story_loader | head -1)
echo "== the shared volume: copies of the base made by all hosts together: $(story_loads) (by $loader)"
ls -l "$APPSHARE_BED_BRICK" | grep -v '\.glusterfs' | grep -E "qcow2|kernel|initrd" | sed 's/^/   /'
waits=$(story_waiters_naming "$loader")
if [[ -n "$waits" ]]; then
    echo "== starts on other hosts that waited for $loader's load (their hook logs):"
    sed 's/^/   /' <<<"$waits" | head -n 6
else
    echo "== no start on another host had to wait: $loader's load was done before they looked"
fi
echo "== what each host's startup binary did:"
for h in "${story_hosts[@]}"; do
    grep -hE "loaded|waiting for a lock|prepared on" "$(story_hook_log "$h")" | sed "s/^/   $h: /" | head -n 8
done
for hn in "${names[@]}"; do on-host "${hn%%:*}" virsh -q destroy "${hn#*:}" >/dev/null 2>&1 || true; done
exit "$status"
