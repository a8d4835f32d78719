#!/usr/bin/env bash
# The module order of libshare/ is enforced by the build: each module compiles with an include
# path that holds only itself and the modules below it (libshare/CMakeLists.txt). This checks
# that mechanism for every module: a header of a module above it (or beside it) is not found,
# while a header of its own is.
#   wrong_direction.sh CXX BUILD_DIR
set -euo pipefail
cxx=$1 layers=$2/libshare/layers
system_includes=$(pkg-config --cflags-only-I libxml-2.0)
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
fail=0 checked=0 refused=0
modules=$(ls "$layers")
[ -n "$modules" ] || { echo "no module layers under $layers"; exit 1; }
for m in $modules; do
    for other in $modules; do
        header=$(cd "$layers/$other/$other" && ls *.hpp | head -1)
        printf '#include "%s/%s"\n' "$other" "$header" > "$scratch/probe.cpp"
        if "$cxx" -std=c++20 -E $system_includes -I "$layers/$m" "$scratch/probe.cpp" -o /dev/null 2> "$scratch/err"; then
            found=yes
        else
            grep -q "$other/$header: No such file" "$scratch/err" || { cat "$scratch/err"; exit 1; }
            found=no refused=$((refused + 1))
        fi
        allowed=no; [ -e "$layers/$m/$other" ] && allowed=yes
        [ "$m" = "$other" ] && [ $found = no ] && { echo "FAIL: $m cannot include its own $other/$header"; fail=1; }
        [ $allowed = no ] && [ $found = yes ] && { echo "FAIL: $m can include $other/$header"; fail=1; }
        checked=$((checked + 1))
    done
done
# The order itself: the lowest module sees nothing else.
[ "$(ls "$layers/base")" = base ] || { echo "FAIL: base sees $(ls "$layers/base" | tr '\n' ' ')"; fail=1; }
[ $refused -gt 0 ] || { echo "FAIL: no include was refused"; fail=1; }
echo "checked $checked module pairs, $refused of them refused"
exit $fail
