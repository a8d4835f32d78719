#!/usr/bin/env bash
# `cmake --install` puts the command, the libraries, the hook and the templates in the
# standard places, and the installed programs run from there: the hook loads the installed
# libappshare-core, and no RUNPATH holds an empty entry (= the current directory). The built
# and the installed command, each run with an empty environment, find their own startup binary
# and xml-templates/ (relative to libappshare-core, base/installed_files.hpp).
#   tests/install_layout.sh BUILD_DIR SOURCE_DIR
# Needs root: it registers the hook in a private mount namespace (a tmpfs over
# /etc/libvirt/hooks), never in the host's.
set -euo pipefail
build="$1"
source_dir="$2"
prefix=$(mktemp -d /tmp/appshare-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "install layout: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/appshare libexec/appshare/appshare-hook share/appshare/xml-templates/appliance.rng \
         share/appshare/xml-templates/domain.xml share/appshare/xml-templates/pool.xml; do
    [[ -e "$prefix/$f" ]] || fail "$f is missing"
done
for lib in core http virt; do
    compgen -G "$prefix/lib*/appshare/libappshare-$lib.so.*" >/dev/null || fail "libappshare-$lib is missing"
    ! compgen -G "$prefix/lib*/appshare/libappshare-$lib.so" >/dev/null || fail "libappshare-$lib has a development link"
done

[[ "$("$prefix/bin/appshare" --version)" =~ ^appshare\ [0-9]+\.[0-9]+ ]] || fail "the installed appshare does not run"

for f in "$prefix/bin/appshare" "$prefix/libexec/appshare/appshare-hook" "$prefix"/lib*/appshare/libappshare-*.so.*.*; do
    runpath=$(readelf -d "$f" | sed -n 's/.*RUNPATH.*\[\(.*\)\]/\1/p')
    [[ -z "$runpath" || ! "$runpath" =~ (^:|::|:$) ]] || fail "$f has an empty RUNPATH entry: [$runpath]"
    [[ "$runpath" != *"$build"* ]] || fail "$f still points into the build tree: [$runpath]"
done

# The installed hook loads the installed core for an appshare domain (here: metadata it refuses).
out=$(echo '<domain><metadata><a:instance xmlns:a="urn:appshare:domain:1"/></metadata></domain>' |
      LD_DEBUG=libs "$prefix/libexec/appshare/appshare-hook" d prepare begin - 2>&1 || true)
grep -q "$prefix/.*libappshare-core" <<<"$out" || fail "the installed hook did not load the installed libappshare-core"
# With no environment at all, each tree's command validates a manifest against its own schema
# (the bundle then fails later, on its missing image) and registers its own hook.
bundle="$prefix/bundle"
mkdir "$bundle"
cp "$source_dir/tests/data/manifests/minimal.xml" "$bundle/appliance.xml"
for tree in "$build" "$prefix"; do
    out=$(env -i "$tree/bin/appshare" verify "$bundle" 2>&1 || true)
    grep -q "member 'base.raw'" <<<"$out" || fail "$tree/bin/appshare did not find its xml-templates: $out"
    [[ $(id -u) -eq 0 ]] || fail "this test needs root (it registers the hook in a private mount namespace)"
    out=$(unshare -m --propagation private sh -c 'mount -t tmpfs appshare-test /etc/libvirt/hooks && env -i "$1" hook register' \
          - "$tree/bin/appshare" 2>&1) || fail "hook register failed for $tree: $out"
    want=$(realpath "$tree/libexec/appshare/appshare-hook")
    grep -qF -- "-> $want (registered now)" <<<"$out" || fail "$tree/bin/appshare registered another hook than $want: $out"
done
echo "install layout: ok ($prefix)"
