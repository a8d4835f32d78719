#!/usr/bin/env bash
# Inner half of multihost-sandbox.sh: PID 1 of the bed's private PID, mount, UTS and network
# namespaces. Builds the network, starts the storage server (bed-server.sh) and the hosts
# (bed-host.sh), each as PID 1 of its own namespaces, waits for all of them (bounded), runs
# the command, and kills them all when it ends; whatever is left dies with this script.
#   multihost-inner.sh STATE_DIR COMMAND [ARGS...]
# Settings come from the environment: BED_HOSTS, BED_CONF, BED_PING_TIMEOUT, BED_VOLUME_OPTIONS,
# BED_LOCK_MANAGER, BED_LOCKSPACE_DIR.
set -euo pipefail
state="$1"; shift
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bed-common.sh
source "$here/bed-common.sh"

die() { echo "multihost-sandbox.sh: $*" >&2; exit 3; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
started=$(now_ms)
up_timeout=${APPSHARE_BED_UP_TIMEOUT:-120}

names=()
for ((i = 1; i <= BED_HOSTS; i++)); do names+=("appshare-h$i"); done
mkdir -p "$state/server" "$state/hosts" "$state/empty"
for name in "${names[@]}"; do mkdir -p "$state/hosts/$name"; done

# --- the bed's network and names --------------------------------------------------------------
ip link set lo up
ip link add bed0 type bridge
ip addr add "$bed_gateway/24" dev bed0
ip link set bed0 up
{
    echo "127.0.0.1 localhost $(hostname)"
    echo "::1 localhost ip6-localhost ip6-loopback"
    echo "$bed_server $bed_storage_name"
    for ((i = 1; i <= BED_HOSTS; i++)); do echo "$(bed_host_address "$i") appshare-h$i"; done
} >"$state/hosts.txt"
mount --bind "$state/hosts.txt" /etc/hosts
# The machine's libvirtd stays out of reach of anything run in the bed outside the hosts.
if [[ -d /run/libvirt ]]; then mount --bind "$state/empty" /run/libvirt; fi

# --- servers and hosts, each PID 1 of its own namespaces --------------------------------------
children=()  # the unshare processes
stop_all() {
    set +e
    local pidfile pid deadline err
    # bash would report every namespace killed here as a "Killed" job; only our words count.
    exec {err}>&2 2>/dev/null
    for pidfile in "$state"/hosts/*/pid "$state/server/pid"; do
        [[ -s "$pidfile" ]] && kill -KILL "$(cat "$pidfile")" 2>/dev/null
    done
    for pid in "${children[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    # Each namespace is gone once its unshare process has been reaped (the kernel has then
    # killed and reaped everything in it). Bounded: a process stuck in the kernel is reported.
    deadline=$(($(now_ms) + 20000))
    for pid in "${children[@]}"; do
        while kill -0 "$pid" 2>/dev/null && (($(now_ms) < deadline)); do sleep 0.05; done
        kill -0 "$pid" 2>/dev/null && echo "multihost-sandbox.sh: process $pid of the bed did not end within 20 s." >&"$err"
    done
    wait
    return 0
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# setsid: a Ctrl-C at the terminal reaches the command, not the hosts and the server, which
# stay up until the command has ended and this script stops them. (setsid does not fork here:
# a background job of a shell without job control does not lead a process group.)
spawn() {  # LOG_FILE SCRIPT ARGS...: start SCRIPT as PID 1 of new namespaces; sets $spawned
    local log="$1"; shift
    setpriv --pdeathsig KILL -- setsid unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
        --uts --net -- bash "$@" </dev/null >"$log" 2>&1 &
    spawned=$!
    children+=("$spawned")
}

# The PID 1 of a namespace started by spawn, as the bed sees it: unshare's only child.
namespace_init() {  # UNSHARE_PID DIR: writes DIR/pid
    local upid="$1" dir="$2" child="" deadline
    deadline=$(($(now_ms) + 10000))
    while [[ "$(cat "/proc/$upid/comm" 2>/dev/null)" != unshare ]]; do  # until setpriv and setsid exec'd
        kill -0 "$upid" 2>/dev/null || die "a namespace of the bed ended at once; its log $dir/console.log says: $(tail -n 5 "$dir/console.log" 2>/dev/null)"
        (($(now_ms) < deadline)) || die "process $upid did not become unshare within 10 s."
        sleep 0.01
    done
    while [[ -z "$child" ]]; do
        child=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null || true)
        child=${child%% *}
        [[ -n "$child" ]] && break
        kill -0 "$upid" 2>/dev/null || die "a namespace of the bed ended at once; its log $dir/console.log says: $(tail -n 5 "$dir/console.log" 2>/dev/null)"
        (($(now_ms) < deadline)) || die "a namespace of the bed did not start within 10 s."
        sleep 0.01
    done
    echo "$child" >"$dir/pid"
}

# A veth pair: BRIDGE_SIDE on bed0, eth0 with ADDRESS inside the namespace of PID.
wire() {  # PID BRIDGE_SIDE ADDRESS DIR
    ip link add "$2" type veth peer name eth0 netns "$1"
    ip link set "$2" master bed0 up
    nsenter --target "$1" --net -- sh -c "ip link set lo up && ip addr add $3/24 dev eth0 && ip link set eth0 up"
    touch "$4/net-ready"
}

spawn "$state/server/console.log" "$here/bed-server.sh" "$state/server" "$bed_volume" "$bed_server" "$BED_PING_TIMEOUT"
server_unshare=$spawned
namespace_init "$server_unshare" "$state/server"
wire "$(cat "$state/server/pid")" "$bed_server_link" "$bed_server" "$state/server"
for ((i = 1; i <= BED_HOSTS; i++)); do
    dir="$state/hosts/appshare-h$i"
    spawn "$dir/console.log" "$here/bed-host.sh" --init "$state" "appshare-h$i"
    namespace_init "$spawned" "$dir"
    wire "$(cat "$dir/pid")" "h$i-br" "$(bed_host_address "$i")" "$dir"
done

# --- wait until the volume is served and every host has it mounted ---------------------------
deadline=$(($(now_ms) + up_timeout * 1000))
for dir in "$state/server" "${names[@]/#/$state/hosts/}"; do
    what=$(basename "$dir")
    [[ $what == server ]] && what="the storage server $bed_storage_name"
    while [[ ! -e "$dir/ready" ]]; do
        if [[ -e "$dir/failed" ]] || ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
            echo "multihost-sandbox.sh: $what did not come up; its log says:" >&2
            tail -n 25 "$dir/console.log" >&2
            exit 3
        fi
        if (($(now_ms) >= deadline)); then
            echo "multihost-sandbox.sh: $what was not up after $up_timeout s (APPSHARE_BED_UP_TIMEOUT); its log says:" >&2
            tail -n 25 "$dir/console.log" >&2
            exit 3
        fi
        sleep 0.05
    done
done
up_ms=$(($(now_ms) - started))
printf 'multihost-sandbox.sh: storage and %d host(s) up in %d.%03d s (bed %s)\n' \
    "$BED_HOSTS" $((up_ms / 1000)) $((up_ms % 1000)) "$state" >&2

export APPSHARE_BED="$state"
export APPSHARE_BED_HOSTS="${names[*]}"
export APPSHARE_BED_SHARED="$bed_shared"
export APPSHARE_BED_BRICK="$state/server/brick"
export APPSHARE_BED_STORAGE="$bed_storage_name"
export APPSHARE_BED_SERVER="$bed_server"
export APPSHARE_BED_VOLUME="$bed_volume"
export APPSHARE_BED_BIN="$here/bed"
export PATH="$APPSHARE_BED_BIN:$PATH"
unset BED_HOSTS BED_CONF BED_PING_TIMEOUT BED_VOLUME_OPTIONS BED_LOCK_MANAGER BED_LOCKSPACE_DIR
rc=0
"$@" || rc=$?
exit "$rc"
