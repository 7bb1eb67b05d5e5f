#!/bin/bash
# The key rollover procedure of tcpmd5-activate(8), followed step by step
# while a loop of clients connects: clients get the new key beside the old
# one, the server switches (supervise mode with SIGHUP, --watch, accept
# mode), open connections stay up, clients drop the old key. Two-key
# clients see no failed connection; old-key-only clients are locked out
# after the switch (the control).
. "$(dirname "$0")/../lib.sh"
SESSION=$BUILD/tests/md5-session

netns_new "$NS"
# The loop's logs are written all the time: not in $T, which --watch
# watches for the config file.
mkdir "$T/logs"
connect() { in_ns "$NS" "$CONNECT" "$@"; }
reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
count_is() { test "$($1)" = "$2"; }
lines() { wc -l < "$1"; }
at_least() { test "$(lines "$1")" -ge "$2"; }

# client_loop LOG PORT PAUSE ARGS...: one two-key connection after another,
# each with an echo checked, PAUSE seconds apart, until $T/stop exists;
# bounded at 2000. One line per connection in LOG ("ok" or "fail N"), -v lines in
# LOG.err. Each connection leaves a TIME_WAIT socket, far below the 28k
# ephemeral ports of one address pair.
client_loop() {
        local log=$1 port=$2 pause=$3 i out; shift 3
        for ((i = 0; i < 2000; i++)); do
                [ ! -e "$T/stop" ] || break
                sleep "$pause"
                if out=$(printf "n$i" | in_ns "$NS" "$CONNECT" -v -t 3 "$@" 127.0.0.1 "$port" 2>> "$log.err") &&
                   [ "$out" = "n$i" ]; then echo ok; else echo "fail $i"; fi
        done > "$log"
}

# rollover MODE PORT: the procedure against one activator.
rollover() {
        local mode=$1 port=$2 keys=$T/keys-$1 pid loops
        mkdir -m 700 "$keys"
        key "$keys/old.key" "$mode-old-secret"
        key "$keys/new.key" "$mode-new-secret"
        key "$keys/server.key" "$mode-old-secret"
        local opts=(--supervise) socket="" exec="$ECHO_DAEMON $T/report-$mode"
        [ "$mode" != watch ] || opts+=(--watch)
        if [ "$mode" = accept ]; then opts=(); socket="Accept = yes
Inetd = yes"; exec=/bin/cat; fi
        write_conf "$T/$mode.conf" <<CONF
[Socket]
ListenStream = 127.0.0.1:$port
$socket
[Service]
ExecStart = $exec
[Key clients]
Peer = 127.0.0.0/8
SecretFile = $keys/server.key
CONF
        next_tick
        start_bg "$NS" $WRAP "$ACTIVATE" "${opts[@]}" --config "$T/$mode.conf"
        pid=$BG_PID
        check "$mode: listening" wait_for 300 listening "$NS" "$port"
        expect_rc 0 "$mode, before: an old-key-only client gets in" \
                bash -c "printf x | ip netns exec $NS $CONNECT -k $keys/old.key 127.0.0.1 $port"

        # Step 1: clients get the new key beside the old one.
        rm -f "$T/stop"
        # Two loops side by side, from two source addresses.
        client_loop "$T/logs/loop-$mode-a" "$port" 0.05 -k "$keys/old.key" -k "$keys/new.key" &
        loops=("$!")
        client_loop "$T/logs/loop-$mode-b" "$port" 0.01 -s 127.0.0.2 -k "$keys/old.key" -k "$keys/new.key" &
        loops+=("$!")
        # The control: the same loop with the old key alone.
        client_loop "$T/logs/control-$mode" "$port" 0.05 -t 0.3 -k "$keys/old.key" &
        loops+=("$!")
        PIDS+=("${loops[@]}")
        # Sessions opened before the switch: a relay through tcpmd5-connect
        # with both keys (as an ssh ProxyCommand), and an old-key-only one.
        coproc RELAY { in_ns "$NS" "$CONNECT" -k "$keys/old.key" -k "$keys/new.key" 127.0.0.1 "$port" 2>&1; }
        local relay_pid=$RELAY_PID relay_in=${RELAY[1]} relay_out=${RELAY[0]}
        PIDS+=("$relay_pid")
        printf 'before\n' >&"$relay_in"
        local line=
        read -r -t 10 line <&"$relay_out" || true
        expect_eq "$line" before "$mode: a two-key session opened before the switch echoes"
        coproc SESS { in_ns "$NS" "$SESSION" -k "$keys/old.key" 127.0.0.1 "$port" 2>&1; }
        local sess_pid=$SESS_PID sess_in=${SESS[1]} sess_out=${SESS[0]}
        PIDS+=("$sess_pid")
        line=; read -r -t 10 line <&"$sess_out" || true
        expect_eq "$line" connected "$mode: an old-key session opened before the switch"
        check "$mode: the loops connect before the switch" wait_for 600 at_least "$T/logs/loop-$mode-a" 5

        # Step 2: the server switches (a rename, as deployment tools write files).
        cp "$keys/new.key" "$keys/.server.key.tmp"
        mv "$keys/.server.key.tmp" "$keys/server.key"
        [ "$mode" = watch ] || kill -HUP "$pid"
        check "$mode: the server reloaded once" wait_for 300 count_is reloads 1
        expect_rc 0 "$mode: a new-key-only client gets in now" \
                bash -c "printf x | ip netns exec $NS $CONNECT -t 3 -k $keys/new.key 127.0.0.1 $port"
        expect_rc 1 "$mode, control: an old-key-only client is locked out after the switch" \
                bash -c "printf x | ip netns exec $NS $CONNECT -t 0.5 -k $keys/old.key 127.0.0.1 $port"
        local n; n=$(lines "$T/logs/loop-$mode-a")
        check "$mode: the loops go on after the switch" wait_for 600 at_least "$T/logs/loop-$mode-a" $((n + 10))
        touch "$T/stop"
        for n in "${loops[@]}"; do wait_exit "$n" || true; done
        cat "$T/logs/loop-$mode"-[ab] > "$T/logs/loop-$mode"
        cat "$T/logs/loop-$mode"-[ab].err > "$T/logs/loop-$mode.err"

        # Step 3: open connections stayed up.
        printf 'after\n' >&"$relay_in"
        line=; read -r -t 10 line <&"$relay_out" || true
        expect_eq "$line" after "$mode: the two-key session still echoes after the switch"
        printf 'after-old\n' >&"$sess_in"
        line=; read -r -t 10 line <&"$sess_out" || true
        expect_eq "$line" after-old "$mode: the old-key session still echoes after the switch"
        eval "exec $relay_in>&- $sess_in>&-"
        wait_exit "$relay_pid" || true
        wait_exit "$sess_pid" || true

        local total fails old new
        check "$mode, control: old-key-only clients of a loop alike connected before the switch ($(grep -c ok "$T/logs/control-$mode"))" \
                grep -q ok "$T/logs/control-$mode"
        check "$mode, control: and failed after it ($(grep -c fail "$T/logs/control-$mode"))" grep -q fail "$T/logs/control-$mode"
        check "$mode, control: once failed, never in again" \
                bash -c "sed -n '/fail/,\$p' '$T/logs/control-$mode' | grep -qv fail && exit 1 || exit 0"
        total=$(lines "$T/logs/loop-$mode")
        fails=$(grep -c fail "$T/logs/loop-$mode" || true)
        old=$(grep -c "connected to .*old.key" "$T/logs/loop-$mode.err" || true)
        new=$(grep -c "connected to .*new.key" "$T/logs/loop-$mode.err" || true)
        expect_eq "$fails" 0 "$mode: no failed connection of $total two-key clients across the switch"
        check "$mode: the old key won before the switch ($old), the new key after ($new)" test "$old" -ge 1 -a "$new" -ge 1
        expect_eq "$((old + new))" "$total" "$mode: every connection of the loop was signed by one of its keys"

        # Step 4: clients drop the old key.
        expect_rc 0 "$mode, step 4: the new key alone" \
                bash -c "printf x | ip netns exec $NS $CONNECT -k $keys/new.key 127.0.0.1 $port"
        kill "$pid"
        wait_exit "$pid" || true
        cp "$T/bg.err" "$T/bg-$mode.err"
}

for m in ${MODES:-supervise watch accept}; do case $m in supervise) rollover supervise 2401;; watch) rollover watch 2402;; accept) rollover accept 2403;; esac; done
finish
