#!/bin/bash
# The installed unit under a real systemd: boots a Debian 12 container
# (systemd-nspawn over a cached debootstrap root), installs the Debian
# package of HEAD into it (tests/package/build-deb.sh: committed changes
# only), and checks what an admin relies on: `systemctl enable --now`,
# signed peers in and unsigned ones out, `systemctl reload` rotating keys
# without restarting the daemon or dropping a connection, `systemctl stop`
# closing the port, open ssh sessions outliving `systemctl restart` and
# `stop` of the sshd example (KillMode=process), and a broken config failing
# the unit with file:line in the journal.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
. "$HERE/container.sh"
trap 'status=$?; ct_teardown; cleanup $status' EXIT

why=$(ct_unsupported)
if [ -n "$why" ]; then skip_all "cannot boot a container here: $why"; fi
not() { ! "$@"; }
journal_has() { ct journalctl --no-pager -q -o cat -u "$1" | grep -- "$2" >/dev/null; }
enable_now() { # DESCRIPTION UNIT: systemctl enable --now, the journal on failure
        local rc=0
        ct systemctl enable --now "$2" > "$T/last.out" 2>&1 || rc=$?
        if [ "$rc" = 0 ]; then ok "$1"; else fail "$1 (exit $rc)"; ct_journal "$2" | sed 's/^/#   /'; fi
}

# install_package: the Debian package of HEAD, installed with dpkg in the
# container root, as an admin installs it; the .deb stays in /root for the
# README's `apt install`. A sanitizer build's two programs then replace the
# package's, so that ASan and UBSan watch the units run.
install_package() {
        local deb
        deb=$("$SRC/tests/package/build-deb.sh" 2> "$T/build-deb.err") || {
                sed 's/^/#   /' "$T/build-deb.err"; fail "building the package (tests/package/build-deb.sh)"; return 1; }
        sed 's/^/# /' "$T/build-deb.err"
        cp "$deb" "$CT_ROOT/root/"
        expect_rc 0 "dpkg -i $(basename "$deb") in the container root" \
                chroot "$CT_ROOT" env -i PATH=$CT_PATH dpkg -i "/root/$(basename "$deb")"
        if [ "$sanitize" != none ]; then
                echo "# sanitizer build: its tcpmd5-activate and tcpmd5-connect replace the package's"
                install -m 755 "$ACTIVATE" "$CT_ROOT/usr/sbin/tcpmd5-activate"
                install -m 755 "$CONNECT" "$CT_ROOT/usr/bin/tcpmd5-connect"
        fi
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(now_ms)
root=$("$HERE/mkroot.sh") || { fail "building the container root (tests/systemd/mkroot.sh)"; finish; }
t1=$(now_ms)
ct_prepare "$root"
prefix=$(meson introspect "$BUILD" --buildoptions | python3 -c \
        'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
sanitize=$(meson introspect "$BUILD" --buildoptions | python3 -c \
        'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"))')
install_package
install -D -m 755 "$ECHO_DAEMON" "$CT_ROOT/usr/local/libexec/tcpmd5-test/echo-daemon"
install -D -m 755 "$BUILD/examples/hello-daemon" "$CT_ROOT/usr/local/libexec/hello-daemon"
# echo-daemon has no SIGHUP handler: change keys, do not pass it on.
ct_write /etc/systemd/system/tcpmd5-activate@echo.service.d/no-forward.conf 644 <<CONF
[Service]
ExecStart=
ExecStart=/usr/sbin/tcpmd5-activate --supervise --no-forward-reload --unit %i
CONF
if [ "$sanitize" != none ]; then
        # LeakSanitizer stops threads with ptrace, which the hardened examples'
        # SystemCallFilter= forbids: their stop would hang. Leaks are still
        # checked in the unhardened units (echo, sshd).
        for u in hello web; do
                printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' |
                        ct_write "/etc/systemd/system/tcpmd5-activate@$u.service.d/zz-sanitizer.conf" 644
        done
fi
if ct_boot; then ok "the container boots"; else fail "the container boots"; finish; fi
t2=$(now_ms)
echo "# root ready in $((t1 - t0)) ms, install and boot in $((t2 - t1)) ms"
unit_has() { ct systemctl cat "$1" | grep -- "$2" >/dev/null; }
check "systemd sees the installed template" unit_has tcpmd5-activate@echo.service "--unit %i"

# --- the echo daemon, keys from a file ---------------------------------------
key "$T/echo.key" echo-secret-one
key "$T/echo2.key" echo-secret-two
key "$T/wrong.key" not-the-secret
ct_write /etc/tcpmd5-activate/keys/echo.key 600 < "$T/echo.key"
ct_write /etc/tcpmd5-activate/echo.conf 644 <<CONF
[Socket]
ListenStream = 7777

[Service]
ExecStart = /usr/local/libexec/tcpmd5-test/echo-daemon /run/echo-report

[Key office]
Peer = 127.0.0.0/8
Peer = ::1
SecretFile = /etc/tcpmd5-activate/keys/echo.key
CONF
enable_now "systemctl enable --now tcpmd5-activate@echo" tcpmd5-activate@echo.service
expect_eq "$(ct systemctl is-active tcpmd5-activate@echo.service)" active "the unit is active"
check "the report appears" wait_for 300 ct test -s /run/echo-report
main_pid=$(ct systemctl show -p MainPID --value tcpmd5-activate@echo.service)
daemon_pid=$(ct cat /run/echo-report | sed -n 's/^pid=//p')
expect_eq "$(ct ps -o ppid= -p "$daemon_pid" | tr -d ' ')" "$main_pid" \
        "supervise mode: the daemon is a child of the main process"

in_ct_ok() { # KEY ADDR PORT: a signed echo comes back
        local out
        out=$(ct_net $CLIENT -t 3000 ${1:+-k "$1"} "$2" "$3" "ping-$2") && [ "$out" = "ping-$2" ]
}
in_ct_dropped() { # KEY ADDR PORT: the SYN is dropped
        local rc=0
        ct_net $CLIENT -t 300 ${1:+-k "$1"} "$2" "$3" x >/dev/null 2>&1 || rc=$?
        [ "$rc" = 3 ]
}
check "signed client (IPv4) gets through" in_ct_ok "$T/echo.key" 127.0.0.1 7777
status_text() { ct systemctl show -p StatusText --value "$1"; }
# 127.0.0.0/8 and ::1 on a dual-stack listener, plus the two catch-alls.
expect_eq "$(status_text tcpmd5-activate@echo.service)" "1 listener, 4 keys installed" \
        "systemctl status shows the listeners and keys from the start"
check "signed client (IPv6) gets through" in_ct_ok "$T/echo.key" ::1 7777
check "unsigned client dropped" in_ct_dropped "" 127.0.0.1 7777
check "wrong key dropped" in_ct_dropped "$T/wrong.key" ::1 7777

# --- reload: rotate the key under an open connection -------------------------
mkfifo "$T/hold.in"
ct_net "$HERE/hold-connection.py" 127.0.0.1 7777 "$T/echo.key" < "$T/hold.in" > "$T/hold.out" 2>&1 &
hold_pid=$!; PIDS+=("$hold_pid")
exec 8> "$T/hold.in"
check "a signed connection is open before the reload" wait_for 300 grep -q '^first ok' "$T/hold.out"
ct_write /etc/tcpmd5-activate/keys/echo.key 600 < "$T/echo2.key"
expect_rc 0 "systemctl reload with a rotated key file" ct systemctl reload tcpmd5-activate@echo.service
expect_eq "$(status_text tcpmd5-activate@echo.service)" \
        "1 listener, 4 keys installed; reloaded after SIGHUP" "StatusText says what the reload was for"
check "ExecReload='s check is quiet: no plan in the journal" \
        not journal_has tcpmd5-activate@echo.service 'catch-all ('
check "the new key gets through" wait_for 300 in_ct_ok "$T/echo2.key" 127.0.0.1 7777
check "the old key is dropped" in_ct_dropped "$T/echo.key" 127.0.0.1 7777
expect_eq "$(ct systemctl show -p MainPID --value tcpmd5-activate@echo.service)" "$main_pid" \
        "the main process was not restarted"
check "the daemon was not restarted (same pid, still running)" ct test -d "/proc/$daemon_pid"
expect_eq "$(ct systemctl show -p NRestarts --value tcpmd5-activate@echo.service)" 0 "no restarts"
echo go >&8; exec 8>&-
wait_exit "$hold_pid" 2>/dev/null || true
check "the connection opened before the reload still echoes" grep -q '^second ok' "$T/hold.out"
sed 's/^/#   hold: /' "$T/hold.out"

# A broken config fails the reload and leaves the running keys alone.
cp "$CT_ROOT/etc/tcpmd5-activate/echo.conf" "$T/echo.conf.good"
printf 'Peer = 10.0.0.1/33\n' >> "$CT_ROOT/etc/tcpmd5-activate/echo.conf"
rc=0; ct systemctl reload tcpmd5-activate@echo.service >/dev/null 2>&1 || rc=$?
check "systemctl reload fails on a broken config" test "$rc" != 0
check "the journal names the file and line" journal_has tcpmd5-activate@echo.service 'echo.conf:11:' 
expect_eq "$(ct systemctl is-active tcpmd5-activate@echo.service)" active "the unit stays active"
check "the running keys still work" in_ct_ok "$T/echo2.key" 127.0.0.1 7777
cp "$T/echo.conf.good" "$CT_ROOT/etc/tcpmd5-activate/echo.conf"

# A listener change: the rest is reloaded, and one warning names the
# setting's line and the unit to restart.
printf '[Socket]\nListenStream = 7778\n' | ct_write /etc/tcpmd5-activate/echo.conf.d/50-port.conf 644
expect_rc 0 "systemctl reload with a ListenStream= added" ct systemctl reload tcpmd5-activate@echo.service
check "the journal names it with file:line and says which unit to restart" wait_for 100 \
        journal_has tcpmd5-activate@echo.service "reload: ListenStream= (/etc/tcpmd5-activate/echo.conf.d/50-port.conf:2) changed, which only a restart applies: systemctl restart tcpmd5-activate@echo.service;"
check "the running listener still serves" in_ct_ok "$T/echo2.key" 127.0.0.1 7777
rm "$CT_ROOT/etc/tcpmd5-activate/echo.conf.d/50-port.conf"

expect_rc 0 "systemctl stop tcpmd5-activate@echo" ct systemctl stop tcpmd5-activate@echo.service
expect_eq "$(ct systemctl is-active tcpmd5-activate@echo.service)" inactive "stopped cleanly (not failed)"
expect_eq "$(ct ss -Htln 'sport = :7777' | wc -l)" 0 "nothing listens on 7777 after stop"
check "the daemon is gone after stop" not ct test -d "/proc/$daemon_pid"

# --- a broken config fails the unit, file:line in the journal ----------------
ct_write /etc/tcpmd5-activate/broken.conf 644 <<CONF
[Socket]
ListenStream = 7778
ListenStream = 127.0.0.1:99999
CONF
rc=0; ct systemctl start tcpmd5-activate@broken.service >/dev/null 2>&1 || rc=$?
# Type=notify waits for READY=1, which never comes.
check "systemctl start fails on a broken config" test "$rc" != 0
is_failed() { [ "$(ct systemctl is-failed "$1")" = failed ]; }
check "the unit is failed" wait_for 300 is_failed tcpmd5-activate@broken.service
expect_eq "$(ct systemctl show -p ExecMainStatus --value tcpmd5-activate@broken.service)" 78 "exit status 78 (config)"
journal=$(ct_journal tcpmd5-activate@broken.service 50)
if grep -q '/etc/tcpmd5-activate/broken.conf:3: .*out of range' <<<"$journal"; then
        ok "the journal names file:line and what is wrong"
else
        fail "the journal lacks broken.conf:3"; sed 's/^/#   /' <<<"$journal"
fi
expect_eq "$(ct systemctl show -p NRestarts --value tcpmd5-activate@broken.service)" 0 \
        "a config error is not retried (RestartPreventExitStatus=)"
expect_eq "$(ct ss -Htln 'sport = :7778' | wc -l)" 0 "nothing listens after the failure"

# --- examples/sd-listen-fds: hello-daemon, hardened, key as a credential ------
# As its README says: the dynamic user must reach its config through the
# package's root-only /etc/tcpmd5-activate (0711: no listing).
expect_rc 0 "dpkg-statoverride: /etc/tcpmd5-activate 0711 for the DynamicUser= examples" \
        ct dpkg-statoverride --update --add root root 0711 /etc/tcpmd5-activate
key "$T/hello.key" hello-secret
ct_write /etc/tcpmd5-activate/keys/hello.key 600 < "$T/hello.key"
sed 's|^Peer = 192.0.2.0/24|Peer = 127.0.0.0/8|; s|^Peer = 2001:db8:100::/48|Peer = ::1|' \
        "$SRC/examples/sd-listen-fds/hello.conf" | ct_write /etc/tcpmd5-activate/hello.conf 644
ct_write /etc/systemd/system/tcpmd5-activate@hello.service.d/hardening.conf 644 \
        < "$SRC/examples/sd-listen-fds/hardening.conf"
ct systemctl daemon-reload
enable_now "hello example starts (DynamicUser=, LoadCredential=)" tcpmd5-activate@hello.service
in_ct_ok_hello() { # [KEY]
        local out
        out=$(ct_net $CLIENT -t 3000 -k "${1:-$T/hello.key}" 127.0.0.1 7000 ping 2>&1) || true
        [ "$out" = "$(printf 'hello from hello\nping')" ]
}
check "signed client gets the greeting and its echo" in_ct_ok_hello
check "unsigned client dropped by the hello example" in_ct_dropped "" 127.0.0.1 7000
user=$(ct ps -o user= -C hello-daemon | head -1)
check "hello-daemon runs as a dynamic user, not root ($user)" test -n "$user" -a "$user" != root
# ExecReload='s --check must see the unit's credentials too.
expect_rc 0 "systemctl reload with Credential= keys" ct systemctl reload tcpmd5-activate@hello.service
[ "$(cat "$T/last.err")" = "" ] || ct_journal tcpmd5-activate@hello.service | sed 's/^/#   /'
check "the credential key still gets through after the reload" in_ct_ok_hello
expect_rc 0 "systemctl stop tcpmd5-activate@hello" ct systemctl stop tcpmd5-activate@hello.service
expect_eq "$(ct systemctl is-active tcpmd5-activate@hello.service)" inactive "hello stopped cleanly (not failed)"

# --- examples/socket-proxyd: a plain service on 127.0.0.1 behind keys --------
key "$T/web.key" web-secret
ct_write /etc/tcpmd5-activate/keys/web.key 600 < "$T/web.key"
sed 's|^Peer = 192.0.2.0/24|Peer = 127.0.0.0/8|; s|^Peer = 2001:db8:100::/48|Peer = ::1|' \
        "$SRC/examples/socket-proxyd/web.conf" | ct_write /etc/tcpmd5-activate/web.conf 644
ct_write /etc/systemd/system/tcpmd5-activate@web.service.d/keys.conf 644 < "$SRC/examples/socket-proxyd/keys.conf"
ct systemctl daemon-reload
expect_rc 0 "a plain service on 127.0.0.1:8080" ct systemd-run --unit=plain-backend \
        systemd-socket-activate --fdname=backend -l 127.0.0.1:8080 /usr/local/libexec/hello-daemon
enable_now "socket-proxyd example starts" tcpmd5-activate@web.service
out=$(GREETING=1 ct_net "$HERE/hold-connection.py" 127.0.0.1 8443 "$T/web.key" < /dev/null 2>&1) || true
expect_eq "$out" "$(printf 'greeting hello from backend\nfirst ok\nsecond ok')" \
        "signed client reaches the plain service through the proxy"
check "unsigned client dropped by the proxy example" in_ct_dropped "" 127.0.0.1 8443
web_pid=$(ct systemctl show -p MainPID --value tcpmd5-activate@web.service)
expect_rc 0 "systemctl reload of the proxy example" ct systemctl reload tcpmd5-activate@web.service
out=$(GREETING=1 ct_net "$HERE/hold-connection.py" 127.0.0.1 8443 "$T/web.key" < /dev/null 2>&1) || true
expect_eq "$out" "$(printf 'greeting hello from backend\nfirst ok\nsecond ok')" \
        "the proxy survives the reload (SIGHUP not forwarded)"
expect_eq "$(ct systemctl show -p MainPID --value tcpmd5-activate@web.service)" "$web_pid" \
        "the proxy unit was not restarted"
expect_rc 0 "systemctl stop tcpmd5-activate@web" ct systemctl stop tcpmd5-activate@web.service plain-backend.service
expect_eq "$(ct systemctl is-active tcpmd5-activate@web.service)" inactive "web stopped cleanly (not failed)"

# --- examples/sshd, set up by the README's quick start, as pasted ------------
# readme_block N: the Nth ```sh block of the README's quick start.
readme_block() {
        awk -v want="$1" '/^## Quick start/ { on = 1; next } on && /^## / { exit }
                on && /^```sh$/ { n++; inblock = (n == want); next } /^```$/ { inblock = 0 }
                on && inblock' "$SRC/README.md"
}
# --- examples/sshd: open sessions across stop and restart ---------------------
# Needs the quick start's unit and the ssh client setup below ($T/ssh_config,
# $T/id). ssh_session NAME: a login held open; each line written to
# $SESSION_FD comes back as "echo LINE" in $T/NAME.out.
ssh_opts=(-F "$T/ssh_config" -i "$T/id" -o BatchMode=yes -o StrictHostKeyChecking=no
          -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10)
ssh_session() {
        mkfifo "$T/$1.in"
        # Not ct_net: its 60 s timeout would end the session, not the test.
        nsenter -t "$CT_PID" -n ssh "${ssh_opts[@]}" server \
                'echo session-up; while read -r l; do echo "echo $l"; done' < "$T/$1.in" > "$T/$1.out" 2>&1 &
        SESSION_PID=$!; PIDS+=("$SESSION_PID")
        exec {SESSION_FD}> "$T/$1.in"
        wait_for 300 grep -qx session-up "$T/$1.out"
}
session_echoes() { # NAME WORD
        # In a subshell: if the session is gone, SIGPIPE ends that, not the test.
        (echo "$2" >&"$SESSION_FD") 2>/dev/null || return 1
        wait_for 300 grep -qx "echo $2" "$T/$1.out"
}
session_end() { # closes the session's input; SESSION_RC: the ssh client's exit status
        SESSION_RC=0
        exec {SESSION_FD}>&-
        wait_for 300 exited "$SESSION_PID" || kill "$SESSION_PID"
        wait "$SESSION_PID" || SESSION_RC=$?
}
sshd_listening() { ct ss -Htln 'sport = :2222' | grep -q LISTEN; }
sshd_sessions_survive_stop_and_restart() {
        local u=tcpmd5-activate@sshd.service main out t0 t1
        check "an ssh session is open (KillMode=process, from examples/sshd/service.conf)" ssh_session s1
        check "and echoes" session_echoes s1 before
        main=$(ct systemctl show -p MainPID --value $u)
        t0=$(now_ms)
        expect_rc 0 "systemctl restart $u with the session open" ct systemctl restart $u
        t1=$(now_ms)
        echo "# systemctl restart took $((t1 - t0)) ms"
        expect_eq "$(ct systemctl is-active $u)" active "the restarted unit is active"
        check "with a new main process" test "$(ct systemctl show -p MainPID --value $u)" != "$main"
        check "the session survives the restart" session_echoes s1 after-restart
        out=$(ct_net ssh "${ssh_opts[@]}" server echo new-login-as-\$USER 2>&1) || true
        expect_eq "$out" new-login-as-root "a new ssh login works after the restart"
        expect_rc 0 "systemctl stop $u with the session open" ct systemctl stop $u
        expect_eq "$(ct systemctl is-active $u)" inactive "stopped cleanly (not failed)"
        expect_eq "$(ct systemctl show -p ExecMainStatus --value $u)" 0 "the activator exited 0"
        check "nothing listens on 2222 after the stop" not sshd_listening
        check "the session survives the stop" session_echoes s1 after-stop
        session_end
        expect_eq "$SESSION_RC" 0 "the session ends when its user leaves (ssh exit 0)"
}
# The default KillMode=control-group: a stop ends the unit's sessions too.
sshd_stop_cuts_without_killmode_process() {
        local u=tcpmd5-activate@sshd.service
        printf '[Service]\nKillMode=control-group\n' |
                ct_write /etc/systemd/system/$u.d/zz-control-group.conf 644
        ct systemctl daemon-reload
        expect_rc 0 "start $u with KillMode=control-group" ct systemctl start $u
        check "an ssh session is open (KillMode=control-group)" ssh_session s2
        check "and echoes" session_echoes s2 before
        expect_rc 0 "systemctl stop $u" ct systemctl stop $u
        check "the stop ends the session (the default, as documented)" wait_for 300 exited "$SESSION_PID"
        session_end
        expect_eq "$SESSION_RC" 255 "ssh reports the connection lost"
        rm "$CT_ROOT/etc/systemd/system/$u.d/zz-control-group.conf"
        ct systemctl daemon-reload
}

readme_block 1 > "$T/server.sh"
check "the README's server block has the config and the enable" \
        grep -q 'systemctl enable --now tcpmd5-activate@sshd.service' "$T/server.sh"
check "the README's server block installs the package with apt" \
        grep -q '^apt install \.\./tcpmd5-activate_\*\.deb$' "$T/server.sh"
# The package was built above; its `apt install` runs as pasted.
sed -e 's|^CLIENTS=.*|CLIENTS=127.0.0.0/8|' -e '/^tools\/install-deps/d' -e '/^dpkg-buildpackage/d' \
        "$T/server.sh" > "$CT_ROOT/root/quickstart.sh"
mkdir -p "$CT_ROOT/root/src" && cp -r "$SRC/examples" "$CT_ROOT/root/src/"
rc=0; ct bash -euc 'cd /root/src && . /root/quickstart.sh' > "$T/qs.out" 2>&1 || rc=$?
expect_eq "$rc" 0 "the README's server commands run as pasted"
[ "$rc" = 0 ] || { sed 's/^/#   /' "$T/qs.out"; ct_journal tcpmd5-activate@sshd.service | sed 's/^/#   /'; }
expect_eq "$(ct systemctl is-active tcpmd5-activate@sshd.service)" active "tcpmd5-activate@sshd is active"
# tcpmd5-activate(8)'s check, in a root shell: the credential is the unit's.
expect_rc 0 "tcpmd5-activate --unit sshd --check in a root shell" ct tcpmd5-activate --unit sshd --check
check "it reports the credential as supplied by systemd, and how to print its fingerprint" \
        grep -q 'Credential office.key: supplied by systemd at start (not checked here; tcpmd5-activate --fingerprint FILE prints its fingerprint)' "$T/last.out"
# The README's troubleshooting: the credential's fingerprint from its file,
# and the kernel's view of the running unit, in sync with the config.
want=$(printf 'tcpmd5 key fingerprint v1\0%s' "$(cat "$CT_ROOT/etc/tcpmd5-activate/keys/office.key")" | sha256sum | cut -c1-16)
expect_rc 0 "tcpmd5-activate --fingerprint of the credential's file" \
        ct tcpmd5-activate --fingerprint /etc/tcpmd5-activate/keys/office.key
expect_eq "$(cat "$T/last.out")" "$want" "it prints the key's fingerprint"
expect_rc 0 "tcpmd5-activate --status --unit sshd: in sync" ct tcpmd5-activate --status --unit sshd
check "--status names the key by its fingerprint" grep -q "$want" "$T/last.out"
# 127.0.0.0/8 on a dual-stack listener, plus the two catch-alls.
expect_eq "$(status_text tcpmd5-activate@sshd.service)" "1 listener, 3 keys installed; 0 connections" \
        "accept mode: systemctl status shows listeners, keys and connections from the start"
out=$(ct_net $CLIENT -t 3000 -k "$CT_ROOT/etc/tcpmd5-activate/keys/office.key" 127.0.0.1 2222 x 2>&1) || true
check "a signed client gets sshd's banner" grep -q '^SSH-2.0-OpenSSH' <<<"$out"
check "an unsigned client never reaches sshd" in_ct_dropped "" 127.0.0.1 2222
# The README's client block: the key fetched, the ssh_config stanza.
install -m 600 "$CT_ROOT/etc/tcpmd5-activate/keys/office.key" "$T/office-ssh.key"
readme_block 2 | sed -n '/^Host /,/^CONF$/p' | grep -v '^CONF$' |
        sed -e "s|~/.ssh/office.key|$T/office-ssh.key|" -e "s|tcpmd5-connect|$CONNECT|" \
        -e '/^Host /a\    HostName 127.0.0.1' > "$T/ssh_config"
ssh-keygen -q -t ed25519 -N '' -f "$T/id" && install -D -m 600 "$T/id.pub" "$CT_ROOT/root/.ssh/authorized_keys"
out=$(ct_net ssh -F "$T/ssh_config" -i "$T/id" -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
        server echo logged-in-as-\$USER 2>&1) || true
expect_eq "$out" "logged-in-as-root" "ssh with the README's ProxyCommand logs in"
rc=0; ct_net ssh -F none -p 2222 -o BatchMode=yes -o ConnectTimeout=1 -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null root@127.0.0.1 true >/dev/null 2>&1 || rc=$?
check "plain ssh without the key does not connect (exit $rc)" test "$rc" = 255
sshd_sessions_survive_stop_and_restart
sshd_stop_cuts_without_killmode_process
expect_rc 0 "systemctl start tcpmd5-activate@sshd again" ct systemctl start tcpmd5-activate@sshd.service
expect_rc 0 "systemctl stop tcpmd5-activate@sshd" ct systemctl stop tcpmd5-activate@sshd.service
expect_eq "$(ct systemctl is-active tcpmd5-activate@sshd.service)" inactive "stopped cleanly (not failed)"
expect_eq "$(ct ss -Htln 'sport = :2222' | wc -l)" 0 "nothing listens on 2222 after stop"

# Sanitizer builds: whatever ASan or UBSan said inside a unit is in the journal.
reports=$(ct journalctl --no-pager -q -o cat | grep -E 'runtime error:|AddressSanitizer|LeakSanitizer' || true)
if [ -z "$reports" ]; then ok "no sanitizer reports in the journal"; else
        fail "sanitizer reports in the journal"; head -20 <<<"$reports" | sed 's/^/#   /'; fi

t3=$(now_ms)
echo "# checks in the booted container took $((t3 - t2)) ms"

# --- examples/container: the activator as the container's PID 1 -------------
# No systemd this time: nspawn runs tcpmd5-activate as PID 1, with the key
# bind-mounted read-only where a container runtime puts secrets.
ct_teardown
ct_prepare "$root"
key "$T/office.key" office-secret
meson install -C "$BUILD" --no-rebuild --destdir "$CT_ROOT" --quiet
install -D -m 755 "$BUILD/examples/hello-daemon" "$CT_ROOT/usr/local/libexec/hello-daemon"
sed 's|^Peer = 192.0.2.0/24|Peer = 127.0.0.0/8|; s|^Peer = 2001:db8:100::/48|Peer = ::1|' \
        "$SRC/examples/container/app.conf" | ct_write /etc/tcpmd5-activate/app.conf 644
entry=$(python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])))' \
        "$(sed -n 's/^ENTRYPOINT //p' "$SRC/examples/container/Dockerfile")")
systemd-nspawn --quiet --directory="$CT_ROOT" --machine="tcpmd5-pid1-$$" --register=no --keep-unit \
        --private-network --console=pipe --bind-ro="$T/office.key:/run/secrets/office.key" \
        $entry < /dev/null > "$CT_DIR/pid1.log" 2>&1 &
CT_NSPAWN=$!
# By name: nspawn's first child is a helper that forks the container's
# PID 1 and exits; on a busy machine pgrep can catch it before it goes.
CT_PID=
for ((i = 0; i < 400; i++)); do
        CT_PID=$(pgrep -P "$CT_NSPAWN" -x tcpmd5-activate | head -1) && [ -n "$CT_PID" ] && break
        sleep 0.05
done
check "the image's ENTRYPOINT runs as PID 1 ($entry)" test -n "$CT_PID"
ct_listening() { ct_net ss -Htln 'sport = :7000' | grep -q LISTEN; }
check "the keyed socket comes up" wait_for 300 ct_listening
check "signed client reaches the daemon in the container" in_ct_ok_hello "$T/office.key"
check "unsigned client dropped by the container" in_ct_dropped "" 127.0.0.1 7000
expect_eq "$(ps -o comm= -p "$CT_PID")" tcpmd5-activate "PID 1 stays the activator (supervise mode)"
kill -TERM "$CT_PID"
check "SIGTERM to PID 1 stops the container in time" wait_for 100 exited "$CT_NSPAWN"
rc=0; wait_exit "$CT_NSPAWN" || rc=$?
expect_eq "$rc" 143 "the container exits with the daemon's status (128+SIGTERM)"
CT_NSPAWN=
sed 's/^/#   pid1: /' "$CT_DIR/pid1.log" | head -10
finish
