#!/usr/bin/env bash
# Writes appshare(1) with help2man from the built command's own --help, and a COMMANDS section
# with the --help of every subcommand (help-tree.sh walks them), so the page cannot drift from
# the command. man-extra.h2m adds what --help does not say (description, files, environment).
# Usage: packaging/make-man-page.sh APPSHARE_BINARY VERSION OUTPUT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "$1")
version="$2"
out="$3"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The command names itself after argv[0]: run it as plain "appshare".
mkdir "$work/bin"
ln -s "$bin" "$work/bin/appshare"
export PATH="$work/bin:$PATH"

# roff: a backslash is \e, a minus is \-, and a line may not start with a control character.
roff_text() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
{
    echo "[COMMANDS]"
    while IFS=$'\t' read -r kind path; do
        [[ $kind == cmd && -n $path ]] || continue
        echo ".SS \"appshare $path\""
        echo ".nf"
        # shellcheck disable=SC2086  # the path is words
        appshare $path --help | roff_text
        echo ".fi"
    done < <("$here/help-tree.sh" appshare)
    cat "$here/man-extra.h2m"
} >"$work/include.h2m"

help2man --no-info --no-discard-stderr --version-string="$version" \
    --name="install virtual appliances as thin contexts over one shared base" \
    --include="$work/include.h2m" --output="$work/appshare.1" appshare
mv "$work/appshare.1" "$out"
