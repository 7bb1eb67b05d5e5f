#!/bin/bash
# SIGHUP and the settings other than keys. Accept mode: MaxConnections=,
# MaxConnectionsPerSource=, KeepAlive=, NoDelay= and ExecStart= apply to
# the next connection, raised or lowered, without a restart; a command that
# cannot run fails the reload as a whole. A listener change is named, with
# its file:line, in one warning that says `systemctl restart`, and the old
# listener keeps serving. Supervise mode: KeepAlive= reaches the daemon's
# next connection, and an ExecStart= change is named as needing a restart.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
key "$T/k.key" reload-settings-secret
mkdir "$T/m" "$T/m2"

# conf: the accept-mode config; the variables below fill lines 3, 5-10, 12.
LISTEN2= INETD=yes MAX=1 PER= KA=no ND=no BACKLOG= CMD="$REPORT -d $T/m"
conf() {
        write_conf "$T/svc.conf" <<CONF
[Socket]
ListenStream = 2620
$LISTEN2
Accept = yes
Inetd = $INETD
MaxConnections = $MAX
MaxConnectionsPerSource = $PER
KeepAlive = $KA
NoDelay = $ND
Backlog = $BACKLOG
[Service]
ExecStart = $CMD
[Key local]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = $T/k.key
CONF
}
count_is() { test "$($1)" = "$2"; }
reloads() { grep -c "reloaded:" "$T/bg.err" || true; }
failed_reloads() { grep -c "the old keys stay" "$T/bg.err" || true; }
NRELOAD=0
hup() { # DESCRIPTION: rewrite the config, SIGHUP, wait for the reload
        conf
        kill -HUP "$pid"
        NRELOAD=$((NRELOAD + 1))
        check "$1" wait_for 100 count_is reloads "$NRELOAD"
}
started() { ls "$1" | grep -c '^started' || true; }
started_is() { [ "$(started "$1")" = "$2" ]; }
served() { # SRC: a fresh signed connection gets a process
        conn_report "$NS" "$T/k.key" "$1" 0 127.0.0.1 2620 && grep -q '^pid=' "$T/conn.out"
}
refused() { # SRC: the connection completes (signed), no process answers, and it is closed
        local rc=0
        ip netns exec "$NS" timeout 5 $CONNECT -k "$T/k.key" -s "$1" 127.0.0.1 2620 < /dev/null > "$T/refused.out" 2>&1 || rc=$?
        [ "$rc" != 124 ] && ! grep -q '^pid=' "$T/refused.out"
}
# refused_for SRC LIMIT=N: refused, and the log names that limit (only for
# the first refusal: later ones within a second are logged as a count).
refused_for() { refused "$1" && wait_for 100 grep -q "from $1 port [0-9]*: $2 reached" "$T/bg.err"; }
running() { wait_for 100 children_are "$pid" "$1"; } # N: connection processes, once the ended ones are reaped

conf
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/svc.conf"
pid=$BG_PID
check "accept mode listens" wait_for 100 listening "$NS" 2620

# --- MaxConnections=: 1, raised to 3, lowered to 2
hold a "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2620
check "MaxConnections=1: the first connection is served" wait_for 100 started_is "$T/m" 1
check "MaxConnections=1: a second concurrent one is refused" refused_for 127.0.0.1 "MaxConnections=1"
MAX=3
hup "MaxConnections=3: reloaded"
check "the reload names what it applies, with file:line" \
        grep -qF "reload: applying MaxConnections= ($T/svc.conf:6)" "$T/bg.err"
hold b "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2620
hold c "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2620
check "MaxConnections=3: a second and a third concurrent connection are served" wait_for 100 started_is "$T/m" 3
check "MaxConnections=3: a fourth is refused" refused 127.0.0.1
MAX=2
hup "MaxConnections=2: reloaded"
check "lowered to 2 with 3 running: a new one is refused" refused 127.0.0.1
release a
check "one ends: 2 running" wait_for 100 children_are "$pid" 2
check "2 running, MaxConnections=2: still refused (3 would serve it)" refused 127.0.0.1
release b
check "another ends: 1 running" wait_for 100 children_are "$pid" 1
check "1 running, MaxConnections=2: served" served 127.0.0.1
check "  (and its process ends)" running 1

# --- MaxConnectionsPerSource=: none, then 1, then 2 (c from 127.0.0.1 still runs)
MAX=10
hup "MaxConnections=10: reloaded"
check "no per-source limit: a second connection from 127.0.0.1 is served" served 127.0.0.1
check "  (and its process ends)" running 1
PER=1
hup "MaxConnectionsPerSource=1: reloaded"
check "MaxConnectionsPerSource=1: a second one from 127.0.0.1 is refused (1 of 10 running)" \
        refused 127.0.0.1
check "MaxConnectionsPerSource=1: 127.0.0.2 is served" served 127.0.0.2
check "  (and its process ends)" running 1
PER=2
hup "MaxConnectionsPerSource=2: reloaded"
check "MaxConnectionsPerSource=2: a second one from 127.0.0.1 is served" served 127.0.0.1
release c

# --- KeepAlive=, NoDelay=: set on the listener, copied by each new connection
check "before: a connection without keepalive and nodelay" served 127.0.0.1
expect_eq "$(field keepalive),$(field nodelay)" "0,0" "KeepAlive=no, NoDelay=no"
KA=yes ND=yes
hup "KeepAlive=yes, NoDelay=yes: reloaded"
check "after: the next connection" served 127.0.0.1
expect_eq "$(field keepalive),$(field nodelay)" "1,1" "it has SO_KEEPALIVE and TCP_NODELAY"
KA=no
hup "KeepAlive=no: reloaded"
check "and after turning KeepAlive= off again" served 127.0.0.1
expect_eq "$(field keepalive),$(field nodelay)" "0,1" "it has TCP_NODELAY only"

# --- ExecStart=: the next connection runs the new command
CMD="/nonexistent/conn-report -d $T/m2"
conf
kill -HUP "$pid"
check "a command that is not there fails the reload" wait_for 100 count_is failed_reloads 1
check "the error names ExecStart='s file:line" \
        grep -qF "$T/svc.conf:12: ExecStart=/nonexistent/conn-report: command not found" "$T/bg.err"
rm -f "$T"/m/* "$T"/m2/*
check "so the next connection runs the old command" served 127.0.0.1
expect_eq "$(started "$T/m"),$(started "$T/m2")" "1,0" "  (it marked the old command's directory)"
CMD="$REPORT -d $T/m2"
hup "ExecStart= changed: reloaded"
rm -f "$T"/m/* "$T"/m2/*
check "the next connection runs the new command" served 127.0.0.1
expect_eq "$(started "$T/m"),$(started "$T/m2")" "0,1" "  (it marked the new command's directory)"

# --- Inetd=: how the next connection is handed over
expect_eq "$(field LISTEN_FDS)" "" "Inetd=yes: the connection on stdin/stdout, no LISTEN_FDS"
INETD=no
hup "Inetd=no: reloaded"
check "the next connection" served 127.0.0.1
expect_eq "$(field LISTEN_FDS),$(field LISTEN_FDNAMES)" "1,connection" "Inetd=no: it is on fd 3, LISTEN_FDS=1"

# --- ListenStream= and Backlog=: one warning, each with file:line; the old listener serves on
warnings() { grep -c "which only a restart applies" "$T/bg.err" || true; }
expect_eq "$(warnings)" 0 "no restart warning so far"
LISTEN2="ListenStream = 2621" BACKLOG=7
hup "ListenStream= and Backlog= changed: the rest is reloaded"
expect_eq "$(warnings)" 1 "one warning"
check "it names both, with file:line, and says systemctl restart" grep -qF \
        "reload: ListenStream= ($T/svc.conf:3), Backlog= ($T/svc.conf:10) changed, which only a restart applies (systemctl restart" \
        "$T/bg.err"
check "the new port does not listen" bash -c "! ip netns exec $NS ss -Htln 'sport = :2621' | grep -q LISTEN"
check "the old listener keeps serving" served 127.0.0.1
LISTEN2= BACKLOG=
hup "back to the started listeners"
check "changing back: named again, as no longer set" grep -qF \
        "reload: ListenStream= (no longer set; was $T/svc.conf:3), Backlog= ($T/svc.conf:10) changed" "$T/bg.err"
check "the activator still runs" kill -0 "$pid"
kill -TERM "$pid"
wait_exit "$pid" || true

# --- supervise mode: the daemon holds the same listeners
write_conf "$T/sup.conf" <<CONF
[Socket]
ListenStream = 2630
KeepAlive = no
[Service]
ExecStart = $ECHO_DAEMON $T/report
[Key local]
Peer = 127.0.0.0/8
SecretFile = $T/k.key
CONF
start_bg "$NS" $WRAP "$ACTIVATE" --supervise --no-forward-reload --config "$T/sup.conf"
sup=$BG_PID
check "supervise: the daemon runs" wait_for 100 test -s "$T/report"
daemon=$(sed -n 's/^pid=//p' "$T/report")
keepalive_on() { # the established connection to port 2630 has a keepalive timer
        ip netns exec "$NS" ss -Htno state established "( sport = :2630 )" | grep -q keepalive
}
hold s1 "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2630
check "supervise: a connection" wait_for 100 bash -c "ip netns exec $NS ss -Htn state established '( sport = :2630 )' | grep -q ."
check "supervise: without KeepAlive= it has no keepalive timer (control)" bash -c \
        "! ip netns exec $NS ss -Htno state established '( sport = :2630 )' | grep -q keepalive"
release s1
sed -i "s/^KeepAlive = no/KeepAlive = yes/; s|^ExecStart = .*|ExecStart = $ECHO_DAEMON $T/report2|" "$T/sup.conf"
kill -HUP "$sup"
check "supervise: reloaded" wait_for 100 grep -q "reloaded:" "$T/bg.err"
check "supervise: ExecStart= named as needing a restart, with file:line" grep -qF \
        "reload: ExecStart= ($T/sup.conf:5) changed, which only a restart applies (systemctl restart" "$T/bg.err"
check "supervise: KeepAlive= applied" grep -qF "reload: applying KeepAlive= ($T/sup.conf:3)" "$T/bg.err"
check "supervise: old connection gone" wait_for 100 bash -c "! ip netns exec $NS ss -Htn state established '( sport = :2630 )' | grep -q ."
hold s2 "$NS" "$T/k.key" 127.0.0.1 127.0.0.1 2630
check "supervise: the daemon's next connection has a keepalive timer" wait_for 100 keepalive_on
release s2
check "supervise: the daemon was not restarted" kill -0 "$daemon"
check "  (nor started with the new command)" test ! -e "$T/report2"
kill -TERM "$sup"
wait_exit "$sup" || true
finish
