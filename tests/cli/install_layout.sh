#!/usr/bin/env bash
# `cmake --install` puts the command, the libraries, the hook and the templates in the
# standard places, and the installed programs run from there: the hook loads the installed
# libappshare-core, and no RUNPATH holds an empty entry (= the current directory).
#   tests/install_layout.sh BUILD_DIR
set -euo pipefail
build="$1"
prefix=$(mktemp -d /tmp/appshare-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "install layout: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(cd "$prefix" && ls -d lib* | head -1)
for f in bin/appshare libexec/appshare/appshare-hook share/appshare/xml-templates/appliance.rng \
         share/appshare/xml-templates/domain.xml share/appshare/xml-templates/pool.xml; do
    [[ -e "$prefix/$f" ]] || fail "$f is missing"
done
for lib in core http virt; do
    compgen -G "$prefix/$libdir*/libappshare-$lib.so*" >/dev/null || fail "libappshare-$lib is missing"
done

[[ "$("$prefix/bin/appshare" --version)" =~ ^appshare\ [0-9]+\.[0-9]+ ]] || fail "the installed appshare does not run"

for f in "$prefix/bin/appshare" "$prefix/libexec/appshare/appshare-hook" "$prefix"/lib*/libappshare-*.so.*.*; do
    runpath=$(readelf -d "$f" | sed -n 's/.*RUNPATH.*\[\(.*\)\]/\1/p')
    [[ -z "$runpath" || ! "$runpath" =~ (^:|::|:$) ]] || fail "$f has an empty RUNPATH entry: [$runpath]"
    [[ "$runpath" != *"$build"* ]] || fail "$f still points into the build tree: [$runpath]"
done

# The installed hook loads the installed core for an appshare domain (here: metadata it refuses).
out=$(echo '<domain><metadata><a:instance xmlns:a="urn:appshare:domain:1"/></metadata></domain>' |
      LD_DEBUG=libs "$prefix/libexec/appshare/appshare-hook" d prepare begin - 2>&1 || true)
grep -q "$prefix/.*libappshare-core" <<<"$out" || fail "the installed hook did not load the installed libappshare-core"
echo "install layout: ok ($prefix)"
