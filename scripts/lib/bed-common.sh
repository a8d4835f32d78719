# Names, addresses and paths of the multi-host test bed (multihost-sandbox.sh), sourced by its
# scripts. Every bed has its own network namespace, so these are the same in every bed.
# shellcheck shell=bash disable=SC2034
bed_gateway=198.18.0.254                  # bed0, the bridge, in the bed's own namespace
bed_server=198.18.0.1                     # the Gluster server (glusterd refuses loopback)
bed_server_link=stor-br                   # the server's veth on the bridge: storage-down
bed_storage_name=appshare-storage
bed_volume=appshare
bed_shared=/var/lib/libvirt/images/appshare/shared   # the volume's mount point in every host
bed_host_address() { echo "198.18.0.$((10 + $1))"; }

# The folder of host NAME ("appshare-storage" is the server), or a message and status 2.
bed_dir() {
    [[ -n "${APPSHARE_BED:-}" ]] || { echo "$(basename "$0"): not inside a bed (APPSHARE_BED is not set); run it from a multihost-sandbox.sh command." >&2; return 2; }
    if [[ "$1" == "$bed_storage_name" ]]; then echo "$APPSHARE_BED/server"; return 0; fi
    [[ "$1" != */* && -n "$1" && -d "$APPSHARE_BED/hosts/$1" ]] || { echo "$(basename "$0"): no host '$1' in this bed (its hosts: ${APPSHARE_BED_HOSTS:-none} and $bed_storage_name)." >&2; return 2; }
    echo "$APPSHARE_BED/hosts/$1"
}
