#!/bin/bash
# Supervise mode as a small init: signals passed on, exit statuses passed
# through, orphans reaped, process groups signalled with --process-group.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" k-secret
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2222
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key k]
Peer = 127.0.0.1
SecretFile = $T/k.key
CONF
sup() { in_ns "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf" "$@"; }

expect_rc 7 "a normal exit code is passed through" sup -- sh -c 'exit 7'
expect_rc 0 "exit 0 is passed through" sup -- true
expect_rc 137 "death by SIGKILL is passed on as 128+9" sup -- sh -c 'kill -KILL $$'
expect_rc 127 "a missing command is 127, before any socket" sup -- /nonexistent/cmd
expect_rc 64 "--process-group without --supervise is a usage error" \
        in_ns "$NS" "$ACTIVATE" --process-group --config "$T/svc.conf" -- true

# A daemon that handles its signals: USR1 and INT noted, TERM exits 42.
cat > "$T/daemon.sh" <<'SH'
trap 'echo usr1 >> "$1"' USR1
trap 'echo int >> "$1"' INT
trap 'exit 42' TERM
echo "$$ $LISTEN_PID $LISTEN_FDS" > "$1.pid"
while :; do sleep 0.05; done
SH
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf" -- bash "$T/daemon.sh" "$T/sig"
s=$BG_PID
check "daemon started" wait_for 100 test -s "$T/sig.pid"
read -r dpid lpid lfds < "$T/sig.pid"
expect_eq "$lpid" "$dpid" "LISTEN_PID is the child's pid"
expect_eq "$lfds" "1" "LISTEN_FDS=1 for a command from the command line"
kill -USR1 "$s"
check "SIGUSR1 reaches the daemon" wait_for 100 grep -q usr1 "$T/sig"
kill -INT "$s"
check "SIGINT reaches the daemon" wait_for 100 grep -q int "$T/sig"
check "the supervisor survives SIGINT (it only passes it on)" kill -0 "$s"
kill -TERM "$s"
rc=0; wait_exit "$s" || rc=$?
expect_eq "$rc" 42 "SIGTERM reaches the daemon, whose exit code 42 is passed on"

# Orphans: not PID 1, so we are a subreaper; a grandchild whose parent
# exits becomes ours and must be reaped when it ends.
# They run until the test creates $1.go.
cat > "$T/orphans.sh" <<'SH'
for i in 1 2 3; do ( (while [ ! -e "$1.go" ]; do sleep 0.05; done) & echo $! >> "$1.orphans"); done
exec sleep 30
SH
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --config "$T/svc.conf" -- sh "$T/orphans.sh" "$T/o"
s=$BG_PID
n_orphans() { test "$(cat "$T/o.orphans" 2>/dev/null | wc -l)" = 3; }
check "orphans started" wait_for 100 n_orphans
# Each orphan's first parent, the ( ... ) around it, may not have exited
# yet when its pid is written: wait for all three to be re-parented.
parents() { for p in $(cat "$T/o.orphans"); do ps --no-headers -o ppid= -p "$p" || echo gone; done | tr -d ' ' | sort -u; }
parents_are() { [ "$(parents)" = "$1" ]; }
check "orphaned grandchildren are re-parented to the supervisor (subreaper)" wait_for 100 parents_are "$s"
touch "$T/o.go"
orphans_gone() { ! ps --no-headers -o stat= -p "$(paste -sd, "$T/o.orphans")" | grep -qv Z; }
check "the orphans ended" wait_for 200 orphans_gone
check "the supervisor reaped them" wait_for 100 children_are "$s" 1
zombies=$(ps -o stat= --ppid "$s" | grep -c Z || true)
expect_eq "$zombies" 0 "the supervisor reaped them: no zombies"
children=$(ps -o pid= --ppid "$s" | wc -l)
expect_eq "$children" 1 "only the daemon is left"
kill -TERM "$s"
rc=0; wait_exit "$s" || rc=$?
expect_eq "$rc" 143 "sleep killed by SIGTERM: 143"

# --process-group: the daemon's own children get the signal too.
cat > "$T/group.sh" <<'SH'
sleep 30 &
echo $! > "$1.sleep"
wait
SH
for mode in plain group; do
        rm -f "$T/g.sleep"
        start_bg "$NS" $WRAP "$ACTIVATE" --supervise $([ $mode = group ] && echo --process-group) \
                --config "$T/svc.conf" -- sh "$T/group.sh" "$T/g"
        s=$BG_PID
        check "$mode: started" wait_for 100 test -s "$T/g.sleep"
        kill -TERM "$s"
        rc=0; wait_exit "$s" || rc=$?
        expect_eq "$rc" 143 "$mode: the shell died of SIGTERM"
        gsleep=$(cat "$T/g.sleep")
        if [ $mode = group ]; then
                check "group: the daemon's child got SIGTERM too" wait_for 100 exited "$gsleep"
        else
                check "plain: the daemon's child did not get it" kill -0 "$gsleep"
                kill -9 "$gsleep" 2>/dev/null || true
        fi
done
finish
