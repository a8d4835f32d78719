#!/usr/bin/env bash
# The bed's storage server (multihost-sandbox.sh): PID 1 of its own mount, PID, UTS and
# network namespaces. glusterd gets private /var/lib/glusterd, /var/log/glusterfs and /run,
# so a glusterd of the machine (if any) and its volumes are neither seen nor touched.
#   bed-server.sh DIR VOLUME ADDRESS PING_TIMEOUT
# Extra volume options (KEY=VALUE a line) come in BED_VOLUME_OPTIONS. Writes DIR/ready when
# the volume is started and its brick is online, DIR/failed if it cannot be.
set -euo pipefail
dir="$1" volume="$2" address="$3" ping_timeout="$4"
trap '[[ -e "$dir/ready" ]] || touch "$dir/failed"' EXIT

step() { echo "bed-server: $*"; }
# Waits (at most SECONDS) until COMMAND succeeds.
wait_for() {  # SECONDS WHAT COMMAND...
    local seconds="$1" what="$2" deadline=$((SECONDS + $1)); shift 2
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { echo "bed-server: $what did not happen within $seconds s." >&2; return 1; }
        sleep 0.1
    done
}

hostname appshare-storage
mkdir -p "$dir/glusterd" "$dir/log" "$dir/brick"
# Volume option groups (gluster volume set VOL group NAME) but not the package's hook
# scripts, which would edit the machine's Samba/CTDB configuration.
if [[ -d /var/lib/glusterd/groups ]]; then cp -a /var/lib/glusterd/groups "$dir/glusterd/"; fi
mkdir -p /var/lib/glusterd /var/log/glusterfs
mount --bind "$dir/glusterd" /var/lib/glusterd
mount --bind "$dir/log" /var/log/glusterfs
mount -t tmpfs -o mode=0755 bed-run /run
# No geo-replication: glusterd runs gsyncd (Python) several times as it starts, 2.5 s of a 3 s
# start here, unless gsyncd cannot be executed for want of a file (ENOENT), which it takes for
# "not installed". A script whose interpreter does not exist is such a file.
printf '#!/nonexistent/appshare-bed-has-no-geo-replication\n' >"$dir/no-gsyncd"
chmod 755 "$dir/no-gsyncd"
for gsyncd in /usr/lib/*/glusterfs/gsyncd /usr/libexec/glusterfs/gsyncd; do
    if [[ -f "$gsyncd" ]]; then mount --bind "$dir/no-gsyncd" "$gsyncd"; fi
done

wait_for 10 "the bed's wiring of the server's network" test -e "$dir/net-ready"
step "starting glusterd"
glusterd -p /run/glusterd.pid
wait_for 20 "glusterd answering" gluster --mode=script volume list
gl() { timeout 30 gluster --mode=script "$@"; }
# force: the brick is a folder on the root file system, which Gluster otherwise refuses.
gl volume create "$volume" "$address:$dir/brick" force
gl volume set "$volume" network.ping-timeout "$ping_timeout"
while IFS= read -r opt; do
    [[ -n "$opt" ]] || continue
    gl volume set "$volume" "${opt%%=*}" "${opt#*=}"
done <<<"${BED_VOLUME_OPTIONS:-}"
gl volume start "$volume"
wait_for 20 "the brick coming online" sh -c "gluster --mode=script volume status '$volume' --xml | grep -q '<status>1</status>'"
step "volume $volume started (network.ping-timeout $ping_timeout)"
touch "$dir/ready"

# Stay, as PID 1, until the bed kills this namespace (reaping orphans meanwhile).
trap - EXIT
while :; do sleep 3600 & wait $! || true; done
