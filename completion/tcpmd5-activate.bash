# Bash completion for tcpmd5-activate and tcpmd5-connect. Installed under
# both names in bash-completion's directory, which loads it on the first
# <Tab> after either command. Uses bash builtins only (and bash-completion's
# helpers when they are loaded), so it also works when sourced by hand.

# _tcpmd5_init: words, cword, cur and prev, with "--opt" "=" "value" joined
# again (bash splits words at the '=' in COMP_WORDBREAKS).
_tcpmd5_init() {
        words=() cword=0
        local i w
        for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
                w=${COMP_WORDS[i]}
                if ((i > 0)) && { { [ "$w" = = ] && [[ ${words[-1]} == --* && ${words[-1]} != *=* ]]; } ||
                        { [ "${COMP_WORDS[i - 1]}" = = ] && [[ ${words[-1]} == --*= ]]; }; }; then
                        words[-1]+=$w
                else
                        words+=("$w")
                fi
                ((i != COMP_CWORD)) || cword=$((${#words[@]} - 1))
        done
        cur=${words[cword]}
        prev=${words[cword - 1]}
}

# _tcpmd5_reply WORD...: COMPREPLY gets the WORDs that start with $cur.
_tcpmd5_reply() {
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$*" -- "$cur"))
}

_tcpmd5_files() { # [-d]: file (with -d, directory) names
        if declare -F _filedir >/dev/null; then
                _filedir ${1:+"$1"}
        else
                local IFS=$'\n'
                COMPREPLY=($(compgen ${1:--f} -- "$cur"))
        fi
}

# _tcpmd5_options WORD...: the option WORDs; no space after a "--opt=".
_tcpmd5_options() {
        _tcpmd5_reply "$@"
        [[ ${COMPREPLY[0]-} != *= ]] || compopt -o nospace 2>/dev/null || true
}

# The NAMEs that --unit finds: NAME.conf in each directory of the search
# path, or of the --config-dir= directories given on the line.
_tcpmd5_units() {
        local dirs=() i w f names=()
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                --config-dir=*) dirs+=("${words[i]#--config-dir=}") ;;
                --config-dir) dirs+=("${words[i + 1]}") ;;
                esac
        done
        [ ${#dirs[@]} -gt 0 ] || dirs=(/etc/tcpmd5-activate /run/tcpmd5-activate /usr/lib/tcpmd5-activate)
        for w in "${dirs[@]}"; do
                for f in "$w"/*.conf; do
                        [ -f "$f" ] || continue
                        f=${f##*/}
                        names+=("${f%.conf}")
                done
        done
        _tcpmd5_reply "${names[@]}"
}

_tcpmd5_activate() {
        local words cword cur prev i start=0
        COMPREPLY=()
        _tcpmd5_init
        # After "--", or the first word that is neither an option nor an
        # option's value, comes the daemon's command line.
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                --) start=$((i + 1)); break ;;
                -c | --config | -u | --unit | --config-dir | --fingerprint) ((i++)) ;;
                -*) ;;
                *) start=$i; break ;;
                esac
        done
        if ((start == 0 && i == cword)) && [ -n "$cur" ] && [ "${cur:0:1}" != - ]; then
                start=$cword
        fi
        if ((start > 0)); then
                if declare -F _command_offset >/dev/null && ((${#words[@]} == ${#COMP_WORDS[@]})); then
                        _command_offset "$start"
                elif ((start == cword)); then
                        local IFS=$'\n'
                        COMPREPLY=($(compgen -c -- "$cur"))
                else
                        _tcpmd5_files
                fi
                return 0
        fi
        case $prev in
        -c | --config | --fingerprint) _tcpmd5_files; return 0 ;;
        --config-dir) _tcpmd5_files -d; return 0 ;;
        -u | --unit) _tcpmd5_units; return 0 ;;
        esac
        case $cur in
        --config=* | --fingerprint=*) cur=${cur#*=}; _tcpmd5_files ;;
        --config-dir=*) cur=${cur#*=}; _tcpmd5_files -d ;;
        --unit=*) cur=${cur#*=}; _tcpmd5_units ;;
        *)
                _tcpmd5_options -c --config= -u --unit= --config-dir= --check --status --fingerprint= --accept --inetd --on-demand \
                        --supervise --process-group --no-forward-reload --always-forward-reload --watch -q --quiet -h --help --version --
                ;;
        esac
        return 0
}

_tcpmd5_connect() {
        local words cword cur prev i n=0 f names=()
        COMPREPLY=()
        _tcpmd5_init
        case $prev in
        -k | --key-file | -c | --config) _tcpmd5_files; return 0 ;;
        --key-fd | --credential | --ao | -s | --source | -t | --timeout) cur="$prev=$cur" ;;
        esac
        case $cur in
        --key-file=* | --config=*) cur=${cur#*=}; _tcpmd5_files; return 0 ;;
        --credential=*)
                cur=${cur#*=}
                if [ -n "${CREDENTIALS_DIRECTORY:-}" ]; then
                        for f in "$CREDENTIALS_DIRECTORY"/*; do [ -f "$f" ] && names+=("${f##*/}"); done
                fi
                _tcpmd5_reply "${names[@]}"
                return 0
                ;;
        --key-fd=* | --ao=* | --source=* | --timeout=* | -s=* | -t=*) return 0 ;;
        -*)
                _tcpmd5_options -k --key-file= --key-fd= --credential= -c --config= --ao= -4 -6 -s --source= \
                        -t --timeout= --fdpass -v --verbose -h --help --version
                return 0
                ;;
        esac
        # HOST, then PORT: count the words that are neither options nor their values.
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                -k | --key-file | --key-fd | --credential | --ao | -c | --config | -s | --source | -t | --timeout) ((i++)) ;;
                -*) ;;
                *) ((n++)) ;;
                esac
        done
        ((n == 0)) || return 0
        if declare -F _known_hosts_real >/dev/null; then
                _known_hosts_real -- "$cur"
        else
                local IFS=$'\n'
                COMPREPLY=($(compgen -A hostname -- "$cur"))
        fi
        return 0
}

complete -F _tcpmd5_activate tcpmd5-activate
complete -F _tcpmd5_connect tcpmd5-connect
