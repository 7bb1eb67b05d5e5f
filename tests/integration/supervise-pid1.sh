#!/bin/bash
# As PID 1 of a new pid namespace the activator supervises on its own (no
# --supervise): orphaned grandchildren come to it and must be reaped.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" k-secret
write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:2222
[Key k]
Peer = 127.0.0.1
SecretFile = $T/k.key
CONF

# The daemon: leaves three orphans behind, looks at the process table while
# they run, ends them and waits (bounded) until none of them is left, not
# even a zombie, looks again, then exits 5. Orphans are known by pid: a
# forked child may not have exec'd sleep yet when ps looks. (Each ( ... )
# has exited when it returns: its child is an orphan by then.)
cat > "$T/daemon.sh" <<'SH'
out=$1
echo "$$ $LISTEN_PID $LISTEN_FDS" > "$out.env"
for i in 1 2 3; do (sleep 30 & echo $! >> "$out.orphans"); done
ps -e -o pid=,ppid=,stat=,comm= > "$out.during"
orphans=$(cat "$out.orphans")
kill $orphans
i=0
while [ $i -lt 200 ] && ps -o pid= -p "$(echo $orphans | tr ' ' ,)" > /dev/null; do sleep 0.05; i=$((i + 1)); done
ps -e -o pid=,ppid=,stat=,comm= > "$out.after"
exit 5
SH
expect_rc 5 "the daemon's exit code comes out of the pid namespace" \
        in_ns "$NS" unshare --pid --fork --mount-proc $WRAP "$ACTIVATE" --config "$T/svc.conf" -- sh "$T/daemon.sh" "$T/p"
read -r dpid lpid lfds < "$T/p.env"
# Not "pid 2": the activator reads its config in a short-lived child first.
check "the daemon is not pid 1" test "$dpid" != 1
expect_eq "$(awk -v p="$dpid" '$1 == p { print $2 }' "$T/p.during")" 1 "the daemon's parent is pid 1: pid 1 stayed as its parent"
expect_eq "$lpid" "$dpid" "LISTEN_PID is the daemon's pid, not 1"
expect_eq "$lfds" 1 "LISTEN_FDS=1"
expect_eq "$(awk '$1 == 1 { print $4 }' "$T/p.during")" "$ACTIVATOR_COMM" "pid 1 is the activator"
orphans=$(tr '\n' ' ' < "$T/p.orphans")
expect_eq "$(awk -v o=" $orphans" 'index(o, " " $1 " ") && $2 == 1' "$T/p.during" | wc -l)" 3 "three orphans were re-parented to pid 1"
expect_eq "$(awk '$3 ~ /Z/' "$T/p.after" | wc -l)" 0 "after they ended: no zombies"
expect_eq "$(awk -v o=" $orphans" 'index(o, " " $1 " ")' "$T/p.after" | wc -l)" 0 "and none of the orphans is left"

# Signals to pid 1 from outside the namespace are taken and passed on too.
cat > "$T/term.sh" <<'SH'
trap 'exit 9' TERM
echo ready > "$1"
while :; do sleep 0.05; done
SH
start_bg "$NS" unshare --pid --fork --mount-proc $WRAP "$ACTIVATE" --config "$T/svc.conf" -- bash "$T/term.sh" "$T/t"
u=$BG_PID
check "started" wait_for 100 test -s "$T/t"
init=$(pgrep -P "$u" -x "$ACTIVATOR_COMM")
kill -TERM "$init"
rc=0; wait_exit "$u" || rc=$?
expect_eq "$rc" 9 "SIGTERM to pid 1 reaches the daemon; its exit code 9 comes back"

# As pid 1 the mode is supervise without --supervise, also for the child
# that reads the config (which is not pid 1): --watch and the forwarding
# options apply, as a container's ENTRYPOINT gives them.
rm -f "$T/t"
start_bg "$NS" unshare --pid --fork --mount-proc $WRAP "$ACTIVATE" --watch --no-forward-reload \
        --config "$T/svc.conf" -- bash "$T/term.sh" "$T/t"
u=$BG_PID
check "pid 1 with --watch and --no-forward-reload starts the daemon" wait_for 100 test -s "$T/t"
init=$(pgrep -P "$u" -x "$ACTIVATOR_COMM" || true)
[ -z "$init" ] || kill -TERM "$init"
rc=0; wait_exit "$u" || rc=$?
expect_eq "$rc" 9 "and stops it as before"
finish
