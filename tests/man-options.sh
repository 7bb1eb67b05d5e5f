#!/bin/bash
# Every option in a program's --help is documented in its man page, every
# option its man page documents is in --help, and the man pages render
# without groff warnings.
. "$(dirname "$0")/lib.sh"
MAN=$BUILD/man
[ -d "$MAN" ] && ls "$MAN"/*.[158] >/dev/null 2>&1 || skip_all "man pages not built (scdoc missing)"

options() { grep -oE -- '(^|[ ,])--?[a-zA-Z0-9][-a-zA-Z0-9]*' | sed 's/^[ ,]*//' | sort -u; }
# man_text PAGE: the rendered page, hyphens and quotes as typed.
man_text() { MANWIDTH=200 man -E ascii -l "$1" 2>/dev/null | sed 's/\xe2\x80\x90/-/g'; }

for prog in tcpmd5-activate:tcpmd5-activate.8 tcpmd5-connect:tcpmd5-connect.1; do
        bin=$BUILD/${prog%%:*}; page=$MAN/${prog#*:}
        check "$(basename "$page") renders without warnings" \
                bash -c "! MANWIDTH=80 man --warnings=all -l '$page' 2>&1 >/dev/null | grep ."
        help=$("$bin" --help | options)
        text=$(man_text "$page")
        for o in $help; do
                grep -qF -- "$o" <<<"$text" && ok "$(basename "$bin") $o is in the man page" ||
                        fail "$(basename "$bin") $o is in --help but not in $(basename "$page")"
        done
        doc=$(sed -n '/^OPTIONS/,/^[A-Z]/p' <<<"$text" | grep -E '^ {7}-' | options)
        for o in $doc; do
                grep -qxF -- "$o" <<<"$help" && ok "$(basename "$page") $o is in --help" ||
                        fail "$(basename "$page") documents $o, which --help lacks"
        done
done
# The config page says where its syntax is not a unit file's.
conf=$MAN/tcpmd5-activate.conf.5
check "tcpmd5-activate.conf.5 renders without warnings" \
        bash -c "! MANWIDTH=80 man --warnings=all -l '$conf' 2>&1 >/dev/null | grep ."
diff=$(man_text "$conf" | sed -n '/^DIFFERENCES FROM SYSTEMD UNIT FILES/,/^[A-Z]/p' | tr -s ' \n' '  ')
for topic in "Inline comments." "No line continuation." "Line length. A line holds at most 16384 characters"; do
        grep -qF -- "$topic" <<<"$diff" && ok "conf(5), differences from unit files: $topic" ||
                fail "conf(5), differences from unit files: $topic"
done
finish
