#!/usr/bin/env bash
# Writes appshare's bash completion: the tables of commands, options and arguments that
# help-tree.sh reads from the built command's --help, then the function (completion.bash).
# Usage: packaging/make-completion.sh APPSHARE_BINARY OUTPUT
set -euo pipefail
here=$(dirname "$0")
bin="$1"
out="$2"
tree=$("$here/help-tree.sh" "$bin")
{
    echo "# bash completion for appshare(1). Generated from appshare's --help by packaging/make-completion.sh:"
    echo "# do not edit."
    echo "declare -gA _appshare_subs=() _appshare_opts=() _appshare_valued=() _appshare_choices=() _appshare_pos=()"
    # Fields split at tabs, keeping empty ones (appshare's own path is ""); tables are keyed by
    # the command's words, "appshare" included.
    while IFS=$'\037' read -r kind path a b c; do
        path="appshare${path:+ $path}"
        case $kind in
            sub) printf '_appshare_subs[%q]+=%q\n' "$path" "$a " ;;
            pos) printf '_appshare_pos[%q]=%q\n' "$path" "$a" ;;
            opt)
                names=${a//,/ }
                printf '_appshare_opts[%q]+=%q\n' "$path" "$names "
                if [[ $b != - ]]; then
                    printf '_appshare_valued[%q]+=%q\n' "$path" "$names "
                    if [[ $c != - ]]; then
                        for n in $names; do printf '_appshare_choices[%q]=%q\n' "$path $n" "${c//,/ }"; done
                    fi
                fi
                ;;
        esac
    done < <(tr '\t' '\037' <<<"$tree")
    echo
    cat "$here/completion.bash"
} >"$out.tmp"
mv "$out.tmp" "$out"
