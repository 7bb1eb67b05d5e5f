#!/bin/bash
# examples/git-daemon as its README says (Peer= and paths changed): the
# client's git clone through the example's git-proxy (GIT_PROXY_COMMAND)
# gets the repository and git daemon logs the signed peer; a clone with a
# wrong key fails, and unsigned and wrong-key SYNs are dropped.
. "$(dirname "$0")/../lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EX=$SRC/examples/git-daemon
command -v git >/dev/null || skip_all "git not installed (tools/install-deps)"

netns_new "$NS"
key "$T/git-daemon.key" office-secret
key "$T/wrong.key" wrong-secret
mkdir "$T/git" && git init -q --bare "$T/git/project.git"
git init -q "$T/work"
echo "served through a signed connection" > "$T/work/README"
git -C "$T/work" add README
git -C "$T/work" -c user.name=test -c user.email=test@example.invalid commit -qm first
git -C "$T/work" push -q "$T/git/project.git" HEAD:refs/heads/main
git --git-dir="$T/git/project.git" symbolic-ref HEAD refs/heads/main
touch "$T/git/project.git/git-daemon-export-ok"
git init -q --bare "$T/git/private.git" # no git-daemon-export-ok
install -m 755 "$EX/git-proxy" "$T/git-proxy" # as the README installs it
sed -e 's|^Peer = 192.0.2.0/24|Peer = 127.0.0.0/8|; s|^Peer = 2001:db8:100::/48|Peer = ::1|' \
    -e "s|/etc/tcpmd5-activate/keys/|$T/|; s|/srv/git|$T/git|g" "$EX/git-daemon.conf" > "$T/git-daemon.conf"
chmod 644 "$T/git-daemon.conf"

start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/git-daemon.conf"
sup=$BG_PID
check "listening on 9418" wait_for 400 listening "$NS" 9418

# clone KEY URL DIR: as the README's client, with our tcpmd5-connect first in PATH.
clone() {
        ip netns exec "$NS" env PATH="$BUILD:$PATH" GIT_MD5_KEY="$1" GIT_PROXY_COMMAND="$T/git-proxy" \
                timeout 30 git clone -q "$2" "$3"
}
expect_rc 0 "git clone through git-proxy with the key" clone "$T/git-daemon.key" git://127.0.0.1/project.git "$T/clone"
expect_eq "$(cat "$T/clone/README" 2>/dev/null)" "served through a signed connection" "the clone has the repository's file"
check "git daemon logged the signed peer" wait_for 100 grep -q "Connection from 127.0.0.1:" "$T/bg.err"
expect_rc 0 "over IPv6 too" clone "$T/git-daemon.key" "git://[::1]/project.git" "$T/clone6"
check "git daemon saw the IPv6 peer" wait_for 100 grep -q "Connection from ::1:" "$T/bg.err"
check "a repository without git-daemon-export-ok is not served" \
        bash -c "! ip netns exec $NS env PATH=$BUILD:\$PATH GIT_MD5_KEY=$T/git-daemon.key GIT_PROXY_COMMAND=$T/git-proxy timeout 30 git clone -q git://127.0.0.1/private.git $T/private 2>/dev/null"
check "git clone with a wrong key fails" \
        bash -c "! ip netns exec $NS env PATH=$BUILD:\$PATH GIT_MD5_KEY=$T/wrong.key GIT_PROXY_COMMAND=$T/git-proxy timeout 30 git clone -q git://127.0.0.1/project.git $T/wrong 2>/dev/null"
check "no clone was made with the wrong key" test ! -e "$T/wrong/README"
check "unsigned SYNs are dropped" echo_dropped "$NS" "" 127.0.0.1 9418
check "wrong-key SYNs are dropped" echo_dropped "$NS" "$T/wrong.key" 127.0.0.1 9418
kill -TERM "$sup"
rc=0; wait_exit "$sup" || rc=$?
expect_eq "$rc" 0 "the activator stops on SIGTERM"
finish
