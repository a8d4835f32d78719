# The completion function; make-completion.sh puts the tables it reads above it, made from the
# command's own --help (help-tree.sh):
#   _appshare_subs[path]     its subcommands      _appshare_opts[path]   every option
#   _appshare_valued[path]   options taking a value
#   _appshare_choices["path option"]  the values an option accepts, if it names them
#   _appshare_pos[path]      its positional argument (NAME: an instance; else a file)
# where path is the command's words ("appshare", "appshare hook register").

# The instances libvirt knows, as `appshare list --json` reports them (with the -c/--connect
# and --config given on the line so far), as virsh completes domain names.
_appshare_instances()
{
    local -a args=()
    local i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case ${COMP_WORDS[i]} in
            -c | --connect | --config) args+=("${COMP_WORDS[i]}" "${COMP_WORDS[i + 1]}") ;;
            --connect=* | --config=*) args+=("${COMP_WORDS[i]}") ;;
        esac
    done
    "${COMP_WORDS[0]}" list --json "${args[@]}" 2>/dev/null |
        sed -n 's/^ *"name": "\([^"\\]*\)",\{0,1\}$/\1/p'
}

_appshare()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    local path=appshare word i skip=0 positionals=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if ((skip)); then skip=0; continue; fi
        case $word in
            -*=*) ;;
            -*) [[ " ${_appshare_valued[$path]} " == *" $word "* ]] && skip=1 ;;
            *)
                if [[ " ${_appshare_subs[$path]} " == *" $word "* ]]; then
                    path="$path $word"
                else
                    positionals=$((positionals + 1))
                fi
                ;;
        esac
    done

    local IFS=$'\n'
    # The value of an option.
    if ((skip)); then
        if [[ -n ${_appshare_choices["$path $prev"]+set} ]]; then
            COMPREPLY=($(IFS=' ' compgen -W "${_appshare_choices["$path $prev"]}" -- "$cur"))
        elif [[ $prev == --config ]]; then
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
        else
            COMPREPLY=()
        fi
        return 0
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(IFS=' ' compgen -W "${_appshare_opts[$path]}" -- "$cur"))
        return 0
    fi
    if [[ -n ${_appshare_subs[$path]} ]]; then
        COMPREPLY=($(IFS=' ' compgen -W "${_appshare_subs[$path]}" -- "$cur"))
        return 0
    fi
    ((positionals > 0)) && return 0
    case ${_appshare_pos[$path]} in
        "") COMPREPLY=() ;;
        NAME) COMPREPLY=($(compgen -W "$(_appshare_instances)" -- "$cur")) ;;
        *)
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            ;;
    esac
    return 0
}
complete -F _appshare appshare
