#!/bin/bash
# The bash completion of both programs: options, --unit names from the
# search path (in a private mount namespace with its own /etc, /run and
# /usr/lib, so the host's configs cannot leak in), --config-dir, the
# daemon's command line, and tcpmd5-connect's options and files. Each case
# runs with the completion alone and with bash-completion's helpers loaded.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
COMPLETION=$SRC/completion/tcpmd5-activate.bash
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
[ "$(id -u)" = 0 ] || skip_all "needs root (a private mount namespace)"

# A fake root: configs in each directory of the search path, and elsewhere.
for d in etc/tcpmd5-activate run/tcpmd5-activate usrlib/tcpmd5-activate cdir; do mkdir -p "$T/$d"; done
touch "$T/etc/tcpmd5-activate/sshd.conf" "$T/etc/tcpmd5-activate/web.conf" \
      "$T/run/tcpmd5-activate/runtime.conf" "$T/usrlib/tcpmd5-activate/vendor.conf" \
      "$T/etc/tcpmd5-activate/notes.txt" "$T/cdir/other.conf"
mkdir "$T/etc/tcpmd5-activate/sshd.conf.d" "$T/etc/tcpmd5-activate/dir.conf"
mkdir -p "$T/keys" && touch "$T/keys/office.key"
cp "$COMPLETION" "$T/completion.bash"

# complete_ [--bash-completion] WORD...: the candidates, sorted, one line,
# for a command line whose last WORD is being completed. Words are split as
# bash splits them: "--unit=" is "--unit" "=".
complete_() {
        local pre=""
        if [ "$1" = --bash-completion ]; then pre=". $BASH_COMPLETION"; shift; fi
        unshare --mount --propagation private bash -c '
                mount --bind "$1/etc" /etc && mount --bind "$1/run" /run && mount --bind "$1/usrlib" /usr/lib || exit 1
                # Builtins only from here on: /usr/lib is hidden.
                eval "$2"
                . "$1/completion.bash"
                shift 2
                COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                fn=_${1//-/_}
                "$fn" 2>/dev/null
                printf "%s\n" "${COMPREPLY[@]}"' complete "$T" "$pre" "$@" | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//'
}
for mode in "" --bash-completion; do
        if [ -n "$mode" ] && [ ! -f "$BASH_COMPLETION" ]; then
                skip "with bash-completion's helpers: not installed"; continue
        fi
        m=${mode:+ (bash-completion loaded)}
        expect_eq "$(complete_ $mode tcpmd5-activate --sup)" "--supervise" "an option$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --al)" "--always-forward-reload" "--always-forward-reload$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --con)" "--config-dir= --config=" "options with a value end in =$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --unit "")" "runtime sshd vendor web" \
                "--unit NAME: the names in /etc, /run and /usr/lib/tcpmd5-activate$m"
        expect_eq "$(complete_ $mode tcpmd5-activate -u s)" "sshd" "-u s$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --unit = w)" "web" "--unit=w$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --check --unit =)" "runtime sshd vendor web" "--unit=$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --config-dir "$T/cdir" --unit "")" "other" \
                "--config-dir DIR replaces the search path$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --config-dir = "$T/cdir" -u o)" "other" "--config-dir=DIR$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --config "$T/keys/off")" "$T/keys/office.key" "--config FILE$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --sta)" "--status" "--status$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --fingerprint "$T/keys/off")" "$T/keys/office.key" "--fingerprint FILE$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --fingerprint = "$T/keys/off")" "$T/keys/office.key" "--fingerprint=FILE$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --unit sshd -- cd)" "cd" "after --, the command$m"
        expect_eq "$(complete_ $mode tcpmd5-activate --unit sshd printf)" "printf" "the first word that is not an option: the command$m"
        expect_eq "$(complete_ $mode tcpmd5-connect --key-fi)" "--key-file=" "tcpmd5-connect: an option$m"
        expect_eq "$(complete_ $mode tcpmd5-connect -k "$T/keys/")" "$T/keys/office.key" "tcpmd5-connect -k FILE$m"
        expect_eq "$(complete_ $mode tcpmd5-connect --key-file = "$T/keys/o")" "$T/keys/office.key" \
                "tcpmd5-connect --key-file=FILE$m"
        # Every option that --help lists, long and short, is offered.
        for prog in "$ACTIVATE" "$CONNECT"; do
                name=${prog##*/}
                offered=" $(complete_ $mode "$name" -) "
                for opt in $("$prog" --help | sed -n 's/^  *\(-[^ ].*\)/\1/p' | sed 's/   *.*//' |
                           grep -oE '(^|[ ,])--?[a-z0-9][a-z0-9-]*' | tr -d ' ,' | sort -u); do
                        [[ $offered == *" $opt "* || $offered == *" $opt= "* ]] || fail "$name: $opt (in --help) is not completed$m"
                done
                check "$name: every option of --help is completed$m" test "$(wc -w <<<"$offered")" -gt 10
        done
        expect_eq "$(complete_ $mode tcpmd5-connect -k "$T/keys/office.key" -k "$T/keys/")" "$T/keys/office.key" \
                "tcpmd5-connect -k FILE -k FILE: a second key (rollover)$m"
        expect_eq "$(complete_ $mode tcpmd5-connect --fd)" "--fdpass" "tcpmd5-connect --fdpass$m"
        expect_eq "$(complete_ $mode tcpmd5-connect -t "")" "" "tcpmd5-connect -t SEC: nothing to offer$m"
        expect_eq "$(complete_ $mode tcpmd5-connect -t 2 host "")" "" "tcpmd5-connect: nothing after HOST$m"
done
finish
