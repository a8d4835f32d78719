#!/usr/bin/env bash
# appshare(1) renders with man and names every command; the bash completion offers the
# subcommands and options each command's --help lists (parsed here on its own, not by the
# generator), an option's choices, and instance names from `appshare list --json`.
#   tests/cli/man_completion.sh BUILD_DIR
set -euo pipefail
build="$1"
bin="$build/bin/appshare"
page="$build/share/man/man1/appshare.1.gz"
completion="$build/share/bash-completion/completions/appshare"
fail() { echo "man/completion: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/appshare-completion.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- the man page
[[ -f $page ]] || fail "$page was not built"
warnings=$(MANWIDTH=100 man --warnings -l "$page" 2>&1 >"$work/page.txt") || fail "man -l failed: $warnings"
[[ -z $warnings ]] || fail "groff warns about the page: $warnings"
grep -q "^NAME" "$work/page.txt" || fail "the page has no NAME section"

# What --help says, parsed independently of packaging/help-tree.sh.
subcommands() { "$bin" $1 --help | awk '/^Subcommands:$/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }'; }
options() { "$bin" $1 --help | awk '/^Options:$/ { on = 1; next } /^$/ { on = 0 } on && /^  -/ { print $1 }' | tr ',' '\n'; }
paths=("")
for sub in $(subcommands ""); do
    paths+=("$sub")
    for subsub in $(subcommands "$sub"); do paths+=("$sub $subsub"); done
done
((${#paths[@]} > 7)) || fail "too few commands found in --help: ${paths[*]}"
for p in "${paths[@]:1}"; do
    grep -q "^   appshare $p\$" "$work/page.txt" || fail "the man page has no section for 'appshare $p'"
    for o in $(options "$p"); do
        grep -qF -- "$o" "$work/page.txt" || fail "the man page does not mention $o of 'appshare $p'"
    done
done

# --- the completion: complete WORDS... (the last word is the one completed) prints COMPREPLY.
# A stub stands in for appshare as COMP_WORDS[0]: `list --json` answers two instances and notes
# its arguments.
cat >"$work/appshare" <<STUB
#!/bin/sh
echo "\$*" >"$work/list-args"
printf '{\n  "instances": [\n    {\n      "name": "web1",\n      "uuid": "x"\n    },\n    {\n      "name": "db2",\n      "uuid": "y"\n    }\n  ]\n}\n'
STUB
chmod +x "$work/appshare"
complete_words() {
    bash --norc --noprofile -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _appshare
        printf "%s\n" "${COMPREPLY[@]}" | sort' - "$completion" "$@"
}
same() {  # same EXPECTED ACTUAL WHAT
    [[ "$(sort <<<"$1" | sed '/^$/d')" == "$(sed '/^$/d' <<<"$2")" ]] || fail "$3: expected [$(echo $1)], got [$(echo $2)]"
}

for p in "${paths[@]}"; do
    # shellcheck disable=SC2086  # the path is words
    same "$(options "$p")" "$(complete_words appshare $p -)" "options of 'appshare $p'"
    subs=$(subcommands "$p")
    # shellcheck disable=SC2086
    [[ -z $subs ]] || same "$subs" "$(complete_words appshare $p '')" "subcommands of 'appshare $p'"
done
same $'install\n' "$(complete_words appshare ins)" "a prefix of a subcommand"
same $'kvm\nqemu\nauto' "$(complete_words appshare install --virt-type '')" "--virt-type's choices"
same $'qemu' "$(complete_words appshare install --name x --virt-type q)" "--virt-type's choices after another option"
same $'web1\ndb2' "$(complete_words "$work/appshare" uninstall '')" "instance names"
same $'web1' "$(complete_words "$work/appshare" reshare -c test:///default w)" "instance names with --connect"
grep -qx -- "list --json -c test:///default" "$work/list-args" || fail "-c was not passed on to appshare list: $(cat "$work/list-args")"
same "" "$(complete_words "$work/appshare" uninstall web1 '')" "a second instance name"
touch "$work/bundle.tar"
same "$work/bundle.tar" "$(complete_words appshare install "$work/bun")" "a bundle path"
echo "man/completion: ok (${#paths[@]} commands)"
