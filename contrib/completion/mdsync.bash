# bash completion for mdsync(1)                             -*- shell-script -*-
#
# Install: copy to ~/.local/share/bash-completion/completions/mdsync (or
# /usr/share/bash-completion/completions/mdsync), or source it from ~/.bashrc.
#
# Channel and account names are read from the [channel.NAME], [imap.NAME] and
# [pop.NAME] section headers of the config: the file given with --config FILE
# on the command line, else $MDSYNC_CONFIG, else
# ${XDG_CONFIG_HOME:-~/.config}/mdsync/config.toml.
#
# The script needs nothing but bash and sed (no bash-completion library).

_mdsync_commands="sync watch check status import login version help"
_mdsync_common_opts="--config -c --dry-run -n --json --quiet -q --verbose -v --help -h"

# _mdsync_config_file prints the config file this command line would read.
_mdsync_config_file()
{
    local i w file=
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        ((i == COMP_CWORD)) && continue
        w=${COMP_WORDS[i]}
        case $w in
        --config | -c)
            # "--config=FILE" is split into "--config" "=" "FILE" by bash
            if [[ ${COMP_WORDS[i + 1]-} == "=" ]]; then
                ((i + 2 != COMP_CWORD)) && file=${COMP_WORDS[i + 2]-}
            else
                ((i + 1 != COMP_CWORD)) && file=${COMP_WORDS[i + 1]-}
            fi
            ;;
        --config=* | -c=*)
            file=${w#*=}
            ;;
        esac
    done
    if [[ -z $file ]]; then
        file=${MDSYNC_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/mdsync/config.toml}
    fi
    # strip the quotes a user may have typed, expand a leading ~
    file=${file#[\"\']}
    file=${file%[\"\']}
    [[ $file == "~" || $file == "~/"* ]] && file=$HOME${file#\~}
    printf '%s\n' "$file"
}

# _mdsync_names KIND... prints the NAMEs of the [KIND.NAME] sections of the
# config (KIND: channel, imap, pop, maildir), "[KIND."NAME"]" included.
_mdsync_names()
{
    local file kinds
    file=$(_mdsync_config_file)
    [[ -r $file && ! -d $file ]] || return 0
    kinds=$(
        IFS='|'
        printf '%s' "$*"
    )
    sed -n -E "s/^[[:space:]]*\[[[:space:]]*($kinds)[[:space:]]*\.[[:space:]]*[\"']?([A-Za-z0-9][A-Za-z0-9_.-]*)[\"']?[[:space:]]*\].*/\2/p" \
        -- "$file" 2>/dev/null | sort -u
}

_mdsync_filenames()
{
    compopt -o filenames 2>/dev/null
    local IFS=$'\n'
    COMPREPLY=($(compgen -f -- "$1"))
}

_mdsync()
{
    local cur prev
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]-}
    prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

    # "--opt=VALUE": bash splits it into "--opt" "=" "VALUE"
    if [[ $cur == "=" ]]; then
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        cur=
    elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi

    # the value of an option
    case $prev in
    --config | -c)
        _mdsync_filenames "$cur"
        return 0
        ;;
    --flow)
        COMPREPLY=($(compgen -W "loopback device" -- "$cur"))
        return 0
        ;;
    --redownload)
        COMPREPLY=($(compgen -W "$(_mdsync_names channel pop)" -- "$cur"))
        return 0
        ;;
    --force-delete)
        # a folder name: nothing to offer without asking the server
        return 0
        ;;
    esac

    # find the command, its subcommand and how many arguments follow
    local i w cmd= sub= nargs=0 skip=
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ -n $skip ]]; then
            skip=
            [[ $w == "=" ]] && skip=1
            continue
        fi
        case $w in
        --config | -c | --flow | --redownload | --force-delete)
            if ((nargs == 0)); then
                skip=1
                continue
            fi
            ;;
        -*)
            ((nargs == 0)) && continue
            ;;
        esac
        if [[ -z $cmd ]]; then
            cmd=$w
        elif [[ $cmd == import && -z $sub ]]; then
            sub=$w
        else
            ((nargs++))
        fi
    done

    local opts= words=
    case $cmd in
    "")
        opts="$_mdsync_common_opts --version"
        words=$_mdsync_commands
        ;;
    sync)
        opts="$_mdsync_common_opts --force-delete --redownload"
        words=$(_mdsync_names channel pop)
        ;;
    watch)
        opts=$_mdsync_common_opts
        words=$(_mdsync_names channel pop)
        ;;
    check | status)
        opts=$_mdsync_common_opts
        ;;
    import)
        case $sub in
        "")
            opts="--help -h"
            words="mbsync offlineimap help"
            ;;
        mbsync | offlineimap)
            opts="$_mdsync_common_opts --force"
            if [[ $cur != -* ]] && ((nargs == 0)); then
                _mdsync_filenames "$cur"
                return 0
            fi
            ;;
        help | h)
            ((nargs == 0)) && words="mbsync offlineimap"
            ;;
        esac
        ;;
    login)
        opts="$_mdsync_common_opts --flow"
        if ((nargs == 0)); then
            if [[ $cur == imap.* || $cur == pop.* ]]; then
                words="$(_mdsync_names imap | sed 's/^/imap./') $(_mdsync_names pop | sed 's/^/pop./')"
            else
                words=$(_mdsync_names imap pop channel | sort -u)
            fi
        fi
        ;;
    version)
        opts="--help -h"
        ;;
    help | h)
        ((nargs == 0)) && words=$_mdsync_commands
        ;;
    *)
        return 0
        ;;
    esac

    # urfave/cli reads options only up to the first argument of a command:
    # after one, offer no options (mdsync sync --dry-run work, not
    # mdsync sync work --dry-run)
    if [[ $cur == -* ]]; then
        ((nargs == 0)) && COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    fi
    return 0
}

complete -F _mdsync mdsync

# ex: filetype=sh
