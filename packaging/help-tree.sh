#!/usr/bin/env bash
# Walks the `--help` of a built appshare and of each of its subcommands (recursively) and prints
# one line per command, the single source of the man page and the bash completion (so neither
# can drift from the command's own help):
#   cmd <path>                      a command ("" for appshare itself, "hook register", ...)
#   sub <path> <name>               one of its subcommands
#   opt <path> <names> <arg> <choices>   an option: names comma-separated, arg "-" for a flag
#                                   (else its value's type), choices comma-separated or "-"
#   pos <path> <NAME>               a positional argument
# Usage: packaging/help-tree.sh APPSHARE_BINARY
set -euo pipefail
bin="$1"

walk() {
    local path="$1" help
    # shellcheck disable=SC2086  # the path is words
    help=$("$bin" $path --help)
    printf 'cmd\t%s\n' "$path"
    awk -v path="$path" '
        /^[A-Za-z][A-Za-z ]*:$/ { section = $0; next }
        /^$/ { section = ""; next }
        section == "Subcommands:" && /^  [a-z]/ { printf "sub\t%s\t%s\n", path, $1; next }
        section == "Positionals:" && /^  [A-Za-z]/ { printf "pos\t%s\t%s\n", path, $1; next }
        section == "Options:" && /^  -/ {
            line = substr($0, 3)
            names = line; sub(/ .*/, "", names)
            rest = substr(line, length(names) + 1)
            arg = "-"; choices = "-"
            # A value-taking option names its type after one space: "--vcpus UINT",
            # "--virt-type TEXT:{kvm,qemu,auto}"; a flag is followed by padding or nothing.
            if (rest ~ /^ [A-Z]/) {
                arg = substr(rest, 2); sub(/ .*/, "", arg)
                if (match(arg, /:\{[^}]*\}/)) choices = substr(arg, RSTART + 2, RLENGTH - 3)
                sub(/:.*/, "", arg)
            }
            printf "opt\t%s\t%s\t%s\t%s\n", path, names, arg, choices
        }' <<<"$help"
    local sub
    for sub in $(awk '/^Subcommands:$/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' <<<"$help"); do
        walk "${path:+$path }$sub"
    done
}
walk ""
