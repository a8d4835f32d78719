#!/usr/bin/env bash
# Installs every Debian package appshare needs to build, test and run its demo.
# Idempotent: packages already present are left as they are.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps.sh: run as root (it calls apt-get)." >&2
    exit 2
fi

packages=(
    # build
    build-essential cmake pkg-config git
    # libvirt and QEMU: the real runtime and the API we link
    libvirt-dev libvirt-daemon-system libvirt-clients
    qemu-system-x86 qemu-utils
    # libraries: XML + RelaxNG, hashing, HTTP, tar, JSON (std::filesystem, not Boost: README)
    libxml2-dev libxml2-utils
    libssl-dev libcurl4-openssl-dev libarchive-dev nlohmann-json3-dev
    # tests
    catch2 python3 util-linux e2fsprogs
    # the sanitizer build and fuzz targets (scripts/fuzz.sh): clang with its runtimes (ASan,
    # UBSan and libFuzzer's libclang_rt.fuzzer come in libclang-rt-dev, i.e. libclang-rt-14-dev)
    clang libclang-rt-dev
    # multi-host test bed (scripts/multihost-sandbox.sh): a GlusterFS volume shared by the
    # simulated hosts, served from its own network namespace (ip, from iproute2)
    glusterfs-server glusterfs-client iproute2
    # counting what is written on the volume, from the storage side (inotifywait on the brick)
    inotify-tools
    # demo appliance: kernel and busybox come from Debian packages
    busybox-static xz-utils cpio
    # command-line parsing for the appshare command (header-only)
    libcli11-dev
    # the man page (generated from --help), the Debian package (cpack -G DEB: dpkg-shlibdeps)
    # and its checks (lintian; man renders the page in a test)
    help2man dpkg-dev lintian man-db
    # cloud-init seeds: ISO 9660 with Joliet + Rock Ridge written in memory by libisofs (the
    # library under xorriso, no program to shell out to), SHA-512 crypt hashes by libxcrypt;
    # tests read seeds back with isoinfo (genisoimage) and make SSH keys with ssh-keygen
    libisofs-dev libcrypt-dev genisoimage openssh-client
    # the real cloud-init guest of the tests (scripts/make-cloud-appliance.sh)
    mmdebstrap
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi
