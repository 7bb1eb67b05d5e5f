#!/bin/bash
# Key files, configs and drop-in directories are judged with every
# directory above them, as sshd's StrictModes does: a directory that group
# or other can write (without the sticky bit), or that a user other than
# root or the activator's owns, lets that user swap the file for their own.
# Refused with exit 77, by a real start and by --check alike, with a
# message naming the directory and the command that fixes it; nothing
# listens and the command never starts. The controls: the same files in
# a 0755 root directory, in a 1777 sticky one, and (as nobody) in a
# directory nobody owns, are accepted.
. "$(dirname "$0")/../lib.sh"

netns_new "$NS"
marker=$T/started
printf '#!/bin/sh\ntouch %s\n' "$marker" > "$T/cmd"; chmod 755 "$T/cmd"
chmod 755 "$T" # for the runs as nobody
nobody_setup # nobody runs copies: the checkout may be out of its reach

# dir NAME MODE [OWNER]: $T/NAME with a good key file k.key (root's) in it.
dir() {
        mkdir -p "$T/$1"; chmod "$2" "$T/$1"; chown "${3:-root}" "$T/$1"
        key "$T/$1/k.key" dir-secret-1234
}
# conf FILE KEY-FILE: a config that would work; prints FILE.
conf() {
        write_conf "$1" '[Socket]' 'ListenStream = 127.0.0.1:2650' '[Service]' "ExecStart = $T/cmd" \
                '[Key k]' 'Peer = 127.0.0.0/8' "SecretFile = $2"
        echo "$1"
}
# refused DESCRIPTION DIR FIX CONFIG: a real start and --check both exit 77,
# naming DIR and "FIX DIR"; nothing listens, the command never starts.
refused() {
        local what=$1 dir=$2 fix=$3 config=$4 check
        for check in "" --check; do
                rm -f "$marker"
                expect_rc 77 "$what${check:+ ($check)}" in_ns "$NS" $WRAP "$ACTIVATE" --config "$config" $check
                expect_stderr "directory $dir .*\($fix $dir\)" "$what${check:+ ($check)}: names $dir and '$fix $dir'"
                check "$what${check:+ ($check)}: nothing listening" bash -c "! ip netns exec $NS ss -Htln | grep -q LISTEN"
                check "$what${check:+ ($check)}: the command never started" test ! -e "$marker"
        done
}
# accepted DESCRIPTION CONFIG [nobody]: --check passes (run as nobody).
accepted() {
        if [ "${3:-}" = nobody ]; then
                expect_rc 0 "$1 (--check)" in_ns "$NS" "${AS_NOBODY[@]}" $NB_WRAP "$NB_ACTIVATE" --config "$2" --check
        else expect_rc 0 "$1 (--check)" in_ns "$NS" $WRAP "$ACTIVATE" --config "$2" --check; fi
}

# --- key files
dir safe 0755
accepted "control: key file in a 0755 root directory" "$(conf "$T/c-safe.conf" "$T/safe/k.key")"
rm -f "$marker"
start_bg "$NS" $WRAP "$ACTIVATE" --config "$T/c-safe.conf"
check "control: it starts the command" wait_for 200 test -e "$marker"
dir sticky 1777
accepted "key file in a 1777 sticky directory" "$(conf "$T/c-sticky.conf" "$T/sticky/k.key")"
dir open 0777
refused "key file in a 0777 directory" "$T/open" "chmod go-w" "$(conf "$T/c-open.conf" "$T/open/k.key")"
dir gw 0775
refused "key file in a group-writable directory" "$T/gw" "chmod go-w" "$(conf "$T/c-gw.conf" "$T/gw/k.key")"
dir ow 0757
refused "key file in an other-writable directory" "$T/ow" "chmod go-w" "$(conf "$T/c-ow.conf" "$T/ow/k.key")"
dir nb 0755 nobody
refused "key file in a directory owned by nobody" "$T/nb" "chown root" "$(conf "$T/c-nb.conf" "$T/nb/k.key")"
# Not only the file's own directory: every one up to /.
mkdir -m 0777 "$T/up"; dir up/sub 0755
refused "key file below a 0777 directory" "$T/up" "chmod go-w" "$(conf "$T/c-up.conf" "$T/up/sub/k.key")"
# The resolved path is judged: a safe-looking path through a symlinked
# directory into an open one is refused, naming where it leads.
ln -s "$T/open" "$T/via-link"
refused "key file reached through a symlinked directory" "$T/open" "chmod go-w" \
        "$(conf "$T/c-link.conf" "$T/via-link/k.key")"
# Whoever may write the directory holding a link may point it elsewhere:
# a link in an open directory to a safe key file is refused, naming the
# link's directory; the same link in a safe directory is accepted.
ln -s "$T/safe/k.key" "$T/open/to-safe.key"
refused "symlink in a 0777 directory to a safe key file" "$T/open" "chmod go-w" \
        "$(conf "$T/c-openlink.conf" "$T/open/to-safe.key")"
ln -s "$T/safe/k.key" "$T/sticky/to-safe.key"
accepted "control: the same link in a 1777 sticky directory" "$(conf "$T/c-stickylink.conf" "$T/sticky/to-safe.key")"

# --- configs and drop-ins (their keys are safe)
refused "config in a 0777 directory" "$T/open" "chmod go-w" "$(conf "$T/open/svc.conf" "$T/safe/k.key")"
refused "config in a directory owned by nobody" "$T/nb" "chown root" "$(conf "$T/nb/svc.conf" "$T/safe/k.key")"
accepted "config in a 1777 sticky directory" "$(conf "$T/sticky/svc.conf" "$T/safe/k.key")"
mkdir -m 0755 "$T/safe/d.conf.d"
write_conf "$T/safe/d.conf.d/b.conf" '[Socket]' 'Backlog = 9'
accepted "control: drop-in in a 0755 directory" "$(conf "$T/safe/d.conf" "$T/safe/k.key")"
chmod 0777 "$T/safe/d.conf.d"
refused "drop-in directory writable by others" "$T/safe/d.conf.d" "chmod go-w" "$T/safe/d.conf"
# Empty, it is refused too: anyone could add a drop-in (or a mask) later.
rm "$T/safe/d.conf.d/b.conf"
refused "empty drop-in directory writable by others" "$T/safe/d.conf.d" "chmod go-w" "$T/safe/d.conf"

# --- the activator's own user may own the directories
mkdir -m 0700 "$T/mine"; key "$T/mine/k.key" dir-secret-1234
conf "$T/mine/svc.conf" "$T/mine/k.key" > /dev/null
chown -R nobody:nogroup "$T/mine"
accepted "as nobody: files in a directory nobody owns" "$T/mine/svc.conf" nobody
finish
