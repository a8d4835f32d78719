# The steps of the appshare story on the multi-host bed (scripts/multihost-sandbox.sh), shared by
# `scripts/demo.sh --hosts N` and tests/multihost/. Sourced inside the bed (on-host on PATH).
#   story_init BUILD_DIR SOURCE_DIR [BUNDLE]   sets $appshare (the command, as a host runs it), and
#                                              with a bundle $sha (its base's digest)
#   story_install HOST NAME [ARGS...]          installs the bundle lazily as NAME on HOST
#   story_start_all HOST:NAME...               virsh start of them all at once; prints failures
#   story_wait_ready HOST NAME [SECONDS]       prints the guest's ready line; status 1 if none came
#   story_serial_log HOST NAME                 the guest's serial console log, seen from the bed
#   story_loads                                "loaded" lines for the base in all hosts' logs
#   story_loader                               the host whose hook loaded the base
#   story_waiters_naming HOST                  waits logged on other hosts naming HOST as holder
#   story_hook_log HOST                        the host's hook log
#   story_backing_of HOST NAME                 the file NAME's overlay is backed by (through its link)
# shellcheck shell=bash

story_init() {
    story_build=$1 story_src=$2 story_bundle=${3:-}
    appshare=(env "APPSHARE_HOOK_BIN=$story_build/libexec/appshare/appshare-hook"
              "APPSHARE_TEMPLATE_DIR=$story_src/xml-templates" "$story_build/bin/appshare")
    read -r -a story_hosts <<<"$APPSHARE_BED_HOSTS"
    [[ -n "$story_bundle" ]] || return 0
    sha=$(sed -n 's/.*<sha256>\([0-9a-f]\{64\}\)<\/sha256>.*/\1/p' "$story_bundle/appliance.xml" | head -1)
    [[ -n "$sha" ]] || { echo "no base digest in $story_bundle/appliance.xml" >&2; return 1; }
}

story_hook_log() { echo "$APPSHARE_BED/hosts/$1/log/appshare.log"; }

story_install() {
    local host=$1 name=$2
    shift 2
    on-host "$host" "${appshare[@]}" install "$story_bundle" --name "$name" --virt-type qemu --lazy "$@"
}

story_register_hooks() {
    local h
    for h in "${story_hosts[@]}"; do on-host "$h" "${appshare[@]}" hook register --reload >/dev/null; done
}

story_start_all() {
    local hn out
    out=$(mktemp -d)
    for hn in "$@"; do
        (on-host "${hn%%:*}" virsh -q start "${hn#*:}" >"$out/${hn#*:}" 2>&1 || echo "FAILED" >>"$out/${hn#*:}") &
    done
    wait
    for hn in "$@"; do
        if grep -q FAILED "$out/${hn#*:}"; then echo "${hn#*:} on ${hn%%:*}: $(grep -v FAILED "$out/${hn#*:}")"; fi
    done
    rm -rf "$out"
}

story_serial_log() { echo "$APPSHARE_BED/hosts/$1/log/qemu/$2-serial.log"; }

story_wait_ready() {
    local log line
    log=$(story_serial_log "$1" "$2")
    for _ in $(seq 1 $((${3:-300} * 10))); do
        line=$(grep -a -m1 'appshare-demo ready' "$log" 2>/dev/null || true)
        [[ -n "$line" ]] && { echo "${line//$'\r'/}"; return 0; }
        sleep 0.1
    done
    return 1
}

story_loads() {
    local h n=0 c
    for h in "${story_hosts[@]}"; do
        c=$(grep -c "loaded .*/$sha\.qcow2 from" "$(story_hook_log "$h")" 2>/dev/null || true)
        n=$((n + c))
    done
    echo "$n"
}

story_loader() {
    local h
    for h in "${story_hosts[@]}"; do
        grep -q "loaded .*/$sha\.qcow2 from" "$(story_hook_log "$h")" 2>/dev/null && echo "$h"
    done
    return 0
}

story_waiters_naming() {
    local holder=$1 h
    for h in "${story_hosts[@]}"; do
        [[ "$h" == "$holder" ]] && continue
        grep -h "waiting for a lock held by pid [0-9]* on $holder " "$(story_hook_log "$h")" 2>/dev/null |
            sed "s/^/$h: /"
    done
    return 0
}

# The file the overlay of NAME on HOST is backed by (also while the guest runs: -U): its header's
# backing file, through the context's link `base` when the header names that link.
story_backing_of() {
    local contexts=/var/lib/libvirt/images/appshare/contexts named
    named=$(on-host "$1" qemu-img info -U --output=json "$contexts/$2/disk.qcow2" 2>/dev/null |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print(j.get("full-backing-filename") or j.get("backing-filename",""))' 2>/dev/null || true)
    if [[ "$named" == "$contexts/$2/base" ]]; then on-host "$1" readlink "$named" 2>/dev/null || true; else echo "$named"; fi
}
