#!/bin/bash
# tcpmd5-activate as PID 1 under a real OCI runtime: podman (with runc)
# runs the image of examples/container/prebuilt.Containerfile, built
# offline on a base imported from the cached Debian root of
# tests/systemd/mkroot.sh. The key is a mounted secret file. Checks: a
# signed client is served and an unsigned one gets nothing; `podman kill -s
# HUP` rotates the key live; `podman stop` ends with the daemon's status
# (SIGTERM, 143) well inside the stop timeout; --watch follows a
# kubelet-style secret volume's ..data swap; orphans are reaped; the
# container's exit code is the daemon's; a Podman secret with its default
# mode 0444 is refused (77) and one with mode=0400 is used.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CACHE=${TCPMD5_TEST_CACHE:-/var/cache/tcpmd5-activate-test}
CONNECT_BIN=$CONNECT

command -v podman >/dev/null && command -v runc >/dev/null || {
        fail "podman or runc missing (tools/install-deps)"; finish; }

# podman's settings for this machine, in files of the test's own (not
# /etc/containers): runc, as crun refuses a cgroup v1 host whose cgroup2
# hierarchy holds a controller; cgroupfs and file events, as systemd is not
# PID 1 here; the limits as they are (podman raises them by default, which
# needs CAP_SYS_RESOURCE; and runc was refused even the current process
# limit, so at most 4096 processes, plenty for one daemon); storage in the
# test cache, so the imported base is kept between runs.
at_most() { # LIMIT MAX
        if [ "$1" = unlimited ] || [ "$1" -gt "$2" ]; then echo "$2"; else echo "$1"; fi
}
nofile=$(at_most "$(ulimit -Hn)" 65536)
nproc=$(at_most "$(ulimit -Hu)" 4096)
ulimits=("\"nofile=$nofile:$nofile\"" "\"nproc=$nproc:$nproc\"")
mkdir -p "$CACHE/podman"
cat > "$T/containers.conf" <<CONF
[containers]
default_ulimits = [$(IFS=,; echo "${ulimits[*]}")]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
cat > "$T/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$CACHE/podman/storage"
runroot = "/run/tcpmd5-activate-test/podman"
CONF
export CONTAINERS_CONF=$T/containers.conf CONTAINERS_STORAGE_CONF=$T/storage.conf
# One test at a time uses the store (the normal and the ASan build).
exec 8> "$CACHE/podman.lock"
flock -w 600 8 || { fail "$CACHE/podman.lock held for 10 minutes"; finish; }

C=tcpmd5-test-$$
IMG=localhost/hello-md5-test:$$
SECRET=tcpmd5-test-office-$$
podman_cleanup() {
        podman rm -f -t 0 "$C" "$C-watch" "$C-orphans" "$C-secret" "$C-secret-ok" >/dev/null 2>&1 || true
        podman secret rm "$SECRET" >/dev/null 2>&1 || true
        podman rmi -f "$IMG" >/dev/null 2>&1 || true
}
trap 'status=$?; podman_cleanup; cleanup $status' EXIT

# --- the image, offline
root=$("$HERE/mkroot.sh") || { fail "building the Debian root (tests/systemd/mkroot.sh)"; finish; }
BASE=localhost/tcpmd5-test-base:$(basename "$root")
if ! podman image exists "$BASE"; then
        podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/tcpmd5-test-base:' |
                xargs -r podman rmi -f >/dev/null 2>&1 || true
        tar -C "$root" -c . | podman import - "$BASE" >/dev/null
fi
mkdir "$T/ctx"
cp "$ACTIVATE" "$BUILD/examples/hello-daemon" "$SRC/examples/container/app.conf" "$T/ctx/"
expect_rc 0 "podman build of examples/container/prebuilt.Containerfile, offline" \
        podman build --pull=never --build-arg "BASE=$BASE" -f "$SRC/examples/container/prebuilt.Containerfile" \
        -t "$IMG" "$T/ctx"

# --- the network: the test's namespace is the container's host network,
# with a peer address of app.conf's office prefix. podman runs under
# nsenter, not ip netns exec, whose fresh /sys has no cgroup mounts for runc.
netns_new "$NS"
in_net() { nsenter --net="/run/netns/$NS" "$@"; }
in_ns "$NS" ip addr add 192.0.2.10/32 dev lo
mkdir -m 700 "$T/secrets" "$T/out"
key "$T/secrets/office.key" office-secret-1
key "$T/old.key" office-secret-1
key "$T/new.key" office-secret-2
# greeted KEY: a signed client from 192.0.2.10 gets the daemon's greeting
# (a dropped SYN gives up after 1 s).
greeted() {
        local out
        out=$(echo ping | timeout 10 ip netns exec "$NS" "$CONNECT_BIN" -t 1 -k "$1" -s 192.0.2.10 127.0.0.1 7000) &&
                [ "$(printf '%s' "$out" | head -1)" = "hello from hello" ]
}
# silence KEY: from 192.0.2.10, the SYN is dropped (md5-client exit 3).
silence() {
        local rc=0
        ip netns exec "$NS" "$CLIENT" -t 300 ${1:+-k "$1"} -s 192.0.2.10 127.0.0.1 7000 x >/dev/null 2>&1 || rc=$?
        [ "$rc" = 3 ]
}

# --- the example as README.md runs it
expect_rc 0 "podman run -d (the example's command)" in_net \
        podman run -d --name "$C" --network host -v "$T/secrets:/run/secrets:ro" "$IMG"
if wait_for 200 listening "$NS" 7000; then ok "it listens on 7000"; else
        fail "it listens on 7000"; podman logs "$C" 2>&1 | sed 's/^/#   /'; finish; fi
pid1=$(podman inspect -f '{{.State.Pid}}' "$C")
expect_eq "$(cat "/proc/$pid1/comm")" tcpmd5-activate "the container's PID 1 is tcpmd5-activate"
# It listens before it execs the daemon: wait for the exec.
daemon_is_child() { [ "$(ps --no-headers --ppid "$pid1" -o comm=)" = hello-daemon ]; }
check "the daemon is its child" wait_for 100 daemon_is_child
check "a signed client is served" greeted "$T/old.key"
check "an unsigned client gets nothing" silence ""
check "a wrong key gets nothing" silence "$T/new.key"

# Rotation: the file replaced on the host, then SIGHUP through podman.
key "$T/secrets/.office.key.new" office-secret-2
mv "$T/secrets/.office.key.new" "$T/secrets/office.key"
expect_rc 0 "podman kill -s HUP" podman kill -s HUP "$C"
check "the new key is served" wait_for 30 greeted "$T/new.key"
check "the old key gets nothing" silence "$T/old.key"
podman logs "$C" > "$T/hello.log" 2>&1 || true
# office has an IPv4 and an IPv6 prefix: two keys on the dual-stack socket.
grep -q "reloaded: 0 keys added, 2 replaced" "$T/hello.log" && ok "the reload was logged" || { fail "the reload was logged"; sed "s/^/#   /" "$T/hello.log"; }
check "the same daemon runs (no restart)" daemon_is_child

start=$(date +%s%N)
expect_rc 0 "podman stop -t 30" podman stop -t 30 "$C"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# podman stop took $ms ms (timeout 30 s)"
check "stopped well inside the timeout (under 10 s)" test "$ms" -lt 10000
expect_eq "$(podman inspect -f '{{.State.ExitCode}}' "$C")" 143 \
        "exit code 143: the daemon's death by SIGTERM, passed on (137 would be podman's SIGKILL)"
check "nothing listens after the stop" bash -c "! ip netns exec $NS ss -Htln | grep -q :7000"

# --- --watch, as kubernetes.yaml runs it: a kubelet-style secret volume
# mounted at /run/secrets, rotated by a new ..data link renamed over the
# old one; no SIGHUP.
mkdir -m 1777 "$T/vol"
mkdir -m 755 "$T/vol/..gen1" "$T/vol/..gen2"
key "$T/vol/..gen1/office.key" office-secret-1
key "$T/vol/..gen2/office.key" office-secret-2
chmod 400 "$T/vol/..gen1/office.key" "$T/vol/..gen2/office.key"
ln -s ..gen1 "$T/vol/..data"
ln -s ..data/office.key "$T/vol/office.key"
expect_rc 0 "podman run -d ... --watch, a secret volume mounted whole" in_net \
        podman run -d --name "$C-watch" --network host -v "$T/vol:/run/secrets:ro" "$IMG" --watch
if wait_for 200 listening "$NS" 7000; then ok "it listens"; else
        fail "it listens"; podman logs "$C-watch" 2>&1 | sed 's/^/#   /'; fi
check "generation 1 is served" greeted "$T/old.key"
ln -s ..gen2 "$T/vol/..data_tmp"
mv -T "$T/vol/..data_tmp" "$T/vol/..data"
rm -r "$T/vol/..gen1"
check "after the ..data swap, generation 2 is served" wait_for 30 greeted "$T/new.key"
check "generation 1 gets nothing" silence "$T/old.key"
expect_rc 0 "podman stop" podman stop -t 30 "$C-watch"

# --- orphans and the exit code: the daemon (the command given after the
# image) leaves three orphans, which must come to PID 1, be reaped, and
# leave no zombie; then it exits 5. Orphans are known by pid: a forked
# child may not have exec'd sleep yet when ps looks.
cat > "$T/out/daemon.sh" <<'SH'
out=$1
for i in 1 2 3; do (sleep 30 & echo $! >> "$out.orphans"); done
ps -e -o pid=,ppid=,stat=,comm= > "$out.during"
orphans=$(cat "$out.orphans")
kill $orphans
i=0
while [ $i -lt 200 ] && ps -o pid= -p "$(echo $orphans | tr ' ' ,)" > /dev/null; do sleep 0.05; i=$((i + 1)); done
ps -e -o pid=,ppid=,stat=,comm= > "$out.after"
exit 5
SH
expect_rc 5 "podman run: the container's exit code is the daemon's (5)" in_net \
        podman run --name "$C-orphans" --network host -v "$T/secrets:/run/secrets:ro" -v "$T/out:/out" \
        "$IMG" -- sh /out/daemon.sh /out/p
expect_eq "$(podman inspect -f '{{.State.ExitCode}}' "$C-orphans")" 5 "podman inspect says 5 too"
expect_eq "$(awk '$1 == 1 { print $4 }' "$T/out/p.during")" tcpmd5-activate "PID 1 is tcpmd5-activate"
orphans=$(tr '\n' ' ' < "$T/out/p.orphans")
expect_eq "$(awk -v o=" $orphans" 'index(o, " " $1 " ") && $2 == 1' "$T/out/p.during" | wc -l)" 3 "three orphans re-parented to PID 1"
expect_eq "$(awk '$3 ~ /Z/' "$T/out/p.after" | wc -l)" 0 "after they ended: no zombie"
expect_eq "$(awk -v o=" $orphans" 'index(o, " " $1 " ")' "$T/out/p.after" | wc -l)" 0 "and none of the orphans is left"

# --- a Podman secret: mounted at /run/secrets/NAME, 0444 unless told.
podman secret create "$SECRET" "$T/new.key" >/dev/null
expect_rc 77 "a Podman secret with its default mode 0444 is refused" in_net \
        podman run --name "$C-secret" --network host --secret "$SECRET,target=office.key" "$IMG"
podman logs "$C-secret" > "$T/secret.log" 2>&1 || true
grep -q "refusing /run/secrets/office.key: .*can read it" "$T/secret.log" && ok "the refusal names the file" ||
        { fail "the refusal names the file"; sed 's/^/#   /' "$T/secret.log"; }
expect_rc 0 "with mode=0400 it is used" in_net \
        podman run -d --name "$C-secret-ok" --network host --secret "$SECRET,target=office.key,mode=0400" "$IMG"
check "it listens" wait_for 200 listening "$NS" 7000
check "the secret's key is served" greeted "$T/new.key"
expect_rc 0 "podman stop" podman stop -t 30 "$C-secret-ok"
finish
