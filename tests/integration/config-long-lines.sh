#!/bin/bash
# Lines longer than inih's 198-character buffer are read whole: a
# 1000-character ExecStart= runs with every word, as --check shows it; a
# line over the reader's own limit is refused with file:line and the limit.
. "$(dirname "$0")/../lib.sh"
netns_new "$NS"
key "$T/k.key" k-secret
words=$(for i in $(seq -w 1 99); do printf 'argument%s ' "$i"; done) # 99 words, 1089 characters
write_conf "$T/long.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2222
[Service]
ExecStart = /usr/bin/printf %s\\n $words
[Key k]
Peer = 127.0.0.1
SecretFile = $T/k.key
CONF
len=$(sed -n 4p "$T/long.conf" | wc -c)
check "the ExecStart= line is over 1000 characters ($len)" test "$len" -gt 1000
expect_rc 0 "--check reads it" in_ns "$NS" "$ACTIVATE" --check --config "$T/long.conf"
expect_eq "$(grep '^command ' "$T/last.out" | cut -d' ' -f4-)" "${words% }" "--check shows the whole command"
expect_rc 0 "exec mode runs it" in_ns "$NS" $WRAP "$ACTIVATE" --config "$T/long.conf"
expect_eq "$(wc -l < "$T/last.out")" 99 "the command got all 99 words"
expect_eq "$(tail -1 "$T/last.out")" "argument99" "the last word whole"

# Over the limit: refused, naming the file, the line and the limit.
{ printf '[Socket]\nListenStream = 127.0.0.1:2222\n# '; head -c 16400 /dev/zero | tr '\0' x; printf '\n'; } > "$T/over.conf"
chmod 600 "$T/over.conf"
expect_rc 78 "a line of 16402 characters is refused" in_ns "$NS" "$ACTIVATE" --config "$T/over.conf" -- true
expect_stderr "over\.conf:3: line is longer than 16384 characters" "the message names file:line and the limit"
check "nothing listens" bash -c "! ip netns exec $NS ss -Htln | grep -q ."
finish
