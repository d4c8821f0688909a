# fish completion for mdsync(1)
#
# Install: copy to ~/.config/fish/completions/mdsync.fish (or to
# /usr/share/fish/vendor_completions.d/mdsync.fish).
#
# Channel and account names are read from the [channel.NAME], [imap.NAME] and
# [pop.NAME] section headers of the config: the file given with --config FILE
# on the command line, else $MDSYNC_CONFIG, else
# ${XDG_CONFIG_HOME:-~/.config}/mdsync/config.toml.

# The config file this command line would read.
function __mdsync_config_file
    set -l tokens (commandline -opc)
    set -l file
    set -l n (count $tokens)
    for i in (seq 2 $n)
        switch $tokens[$i]
            case --config -c
                if test $i -lt $n
                    set file $tokens[(math $i + 1)]
                end
            case '--config=*' '-c=*'
                set file (string replace -r '^[^=]*=' '' -- $tokens[$i])
        end
    end
    if test -z "$file"
        if test -n "$MDSYNC_CONFIG"
            set file $MDSYNC_CONFIG
        else if test -n "$XDG_CONFIG_HOME"
            set file $XDG_CONFIG_HOME/mdsync/config.toml
        else
            set file $HOME/.config/mdsync/config.toml
        end
    end
    # commandline -o leaves a typed ~ alone
    string replace -r -- '^~(?=/|$)' $HOME $file
end

# __mdsync_names KIND... prints "NAME<TAB>KIND" for each [KIND.NAME] section
# of the config ([KIND."NAME"] included).
function __mdsync_names
    set -l file (__mdsync_config_file)
    test -r "$file" -a ! -d "$file"; or return 0
    for kind in $argv
        set -l script 's/^[[:space:]]*\[[[:space:]]*'$kind'[[:space:]]*\.[[:space:]]*["'\'']?([A-Za-z0-9][A-Za-z0-9_.-]*)["'\'']?[[:space:]]*\].*/\1/p'
        for name in (sed -n -E $script -- $file 2>/dev/null)
            printf '%s\t%s\n' $name $kind
        end
    end
end

# What login takes: an IMAP or POP account, imap.NAME / pop.NAME, or a
# channel (for its IMAP account).
function __mdsync_accounts
    if string match -qr '^(imap|pop)\.' -- (commandline -ct)
        __mdsync_names imap pop | string replace -r '^(.*)\t(.*)$' '$2.$1\t$2'
    else
        __mdsync_names imap pop
        __mdsync_names channel | string replace -r '\t.*' '\tchannel (its IMAP account)'
    end
end

# The words after "mdsync" that are not options or option values: the
# command, its subcommand and its arguments.
function __mdsync_words
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case --config -c --flow --redownload --force-delete
                set skip 1
            case '-*'
            case '*'
                echo $t
        end
    end
end

function __mdsync_needs_command
    set -l w (__mdsync_words)
    test (count $w) -eq 0
end

# __mdsync_using CMD [SUB]: the command line is at "mdsync CMD [SUB]"
function __mdsync_using
    set -l w (__mdsync_words)
    test (count $w) -ge (count $argv); or return 1
    for i in (seq (count $argv))
        test "$w[$i]" = "$argv[$i]"; or return 1
    end
end

# urfave/cli reads options only up to a command's first argument
# (mdsync sync --dry-run work, not mdsync sync work --dry-run)
function __mdsync_options_ok
    set -l w (__mdsync_words)
    switch "$w[1]"
        case ''
            return 0
        case sync watch check status login
            test (count $w) -eq 1
        case import
            test (count $w) -eq 2; and contains -- $w[2] mbsync offlineimap
        case '*'
            return 1
    end
end

# -h/--help: where options are read, and after import or version
function __mdsync_help_ok
    __mdsync_options_ok; and return 0
    set -l w (__mdsync_words)
    test (count $w) -eq 1; and contains -- $w[1] import version
end

complete -c mdsync -f

# options of every command but import and version
complete -c mdsync -n __mdsync_options_ok -s c -l config -r -F -d 'config file'
complete -c mdsync -n __mdsync_options_ok -s n -l dry-run -d 'print the plan, change nothing'
complete -c mdsync -n __mdsync_options_ok -l json -d 'print one JSON summary object on stdout'
complete -c mdsync -n __mdsync_options_ok -s q -l quiet -d 'print errors only'
complete -c mdsync -n __mdsync_options_ok -s v -l verbose -d 'more output; -vv shows the protocol'
complete -c mdsync -n __mdsync_help_ok -s h -l help -d 'show help'
complete -c mdsync -n __mdsync_needs_command -l version -d 'print the version'

# commands
complete -c mdsync -n __mdsync_needs_command -a sync -d 'synchronise channels and POP accounts (all when none)'
complete -c mdsync -n __mdsync_needs_command -a watch -d 'keep channels and POP accounts in sync as mail arrives (all when none)'
complete -c mdsync -n __mdsync_needs_command -a check -d 'validate the config and try each login'
complete -c mdsync -n __mdsync_needs_command -a status -d 'last run, counts and errors of each channel and account'
complete -c mdsync -n __mdsync_needs_command -a import -d 'write the config from mbsync or OfflineIMAP and adopt its state'
complete -c mdsync -n __mdsync_needs_command -a login -d 'sign an OAuth2 account in'
complete -c mdsync -n __mdsync_needs_command -a version -d 'print the version'
complete -c mdsync -n __mdsync_needs_command -a help -d 'show the commands or the help of one command'

# sync [--force-delete FOLDER] [--redownload NAME] [NAME...]
complete -c mdsync -n '__mdsync_using sync; and __mdsync_options_ok' -l force-delete -x -d 'let the run delete more than max_delete in FOLDER'
complete -c mdsync -n '__mdsync_using sync; and __mdsync_options_ok' -l redownload -x -a '(__mdsync_names channel pop)' -d 'download the mail of NAME again'
complete -c mdsync -n '__mdsync_using sync' -a '(__mdsync_names channel pop)'

# watch [NAME...]
complete -c mdsync -n '__mdsync_using watch' -a '(__mdsync_names channel pop)'

# import mbsync|offlineimap [--force] [FILE]
complete -c mdsync -n '__mdsync_using import; and test (count (__mdsync_words)) -eq 1' -a mbsync -d "import ~/.mbsyncrc and mbsync's state"
complete -c mdsync -n '__mdsync_using import; and test (count (__mdsync_words)) -eq 1' -a offlineimap -d "import ~/.offlineimaprc and OfflineIMAP's state"
complete -c mdsync -n '__mdsync_using import; and test (count (__mdsync_words)) -eq 1' -a help -d 'show the help of import or of one of its commands'
complete -c mdsync -n '__mdsync_using import mbsync; or __mdsync_using import offlineimap; and __mdsync_options_ok' -l force -d 'overwrite an existing mdsync config'
complete -c mdsync -n '__mdsync_using import mbsync; or __mdsync_using import offlineimap; and test (count (__mdsync_words)) -eq 2' -F

# login [--flow loopback|device] NAME
complete -c mdsync -n '__mdsync_using login; and __mdsync_options_ok' -l flow -x -a 'loopback\t"a browser on this machine" device\t"a code to enter on any device"' -d 'sign-in flow'
complete -c mdsync -n '__mdsync_using login; and test (count (__mdsync_words)) -eq 1' -a '(__mdsync_accounts)'

# help [COMMAND]
complete -c mdsync -n '__mdsync_using help; and test (count (__mdsync_words)) -eq 1' -a 'sync watch check status import login version help'
