# Sourced after tests/lib.sh: boots a Debian root under systemd-nspawn, with
# the build installed into it, and drives it from outside with nsenter.
# The cached root (tests/systemd/mkroot.sh) is the lower layer of an
# overlay, so a test writes only into $T/ct/upper.

CT_DIR=$T/ct
CT_ROOT=$CT_DIR/root
CT_NSPAWN=   # pid of systemd-nspawn
CT_PID=      # pid of the container's systemd, in our pid namespace
CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Why this machine cannot boot a container, or nothing.
ct_unsupported() {
        [ "$(id -u)" = 0 ] || { echo "not root"; return; }
        local t
        for t in systemd-nspawn debootstrap nsenter; do
                command -v "$t" >/dev/null || { echo "$t not installed (tools/install-deps)"; return; }
        done
        grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
                { echo "no overlayfs in this kernel"; return; }
}

# ct CMD...: run CMD inside the container (all its namespaces), bounded.
ct() { timeout 60 nsenter -t "$CT_PID" -a env -i PATH=$CT_PATH LANG=C.UTF-8 "$@"; }
# ct_net CMD...: run a host program in the container's network namespace.
ct_net() { timeout 60 nsenter -t "$CT_PID" -n "$@"; }
ct_write() { # PATH MODE: stdin to a file inside the container root
        mkdir -p "$(dirname "$CT_ROOT$1")"
        cat > "$CT_ROOT$1"
        chmod "$2" "$CT_ROOT$1"
}

# ct_prepare ROOT: overlay over ROOT at $CT_ROOT.
ct_prepare() {
        mkdir -p "$CT_DIR"/{upper,work,root}
        mount -t overlay tcpmd5-test -o "lowerdir=$1,upperdir=$CT_DIR/upper,workdir=$CT_DIR/work" "$CT_ROOT"
}

# ct_boot: systemd as PID 1 of a container with its own network namespace;
# returns once the system is up (every wait bounded).
ct_boot() {
        systemd-nspawn --quiet --boot --directory="$CT_ROOT" --machine="tcpmd5-test-$$" \
                --register=no --keep-unit --private-network --console=passive \
                > "$CT_DIR/console.log" 2>&1 &
        CT_NSPAWN=$!
        local i
        for ((i = 0; i < 200; i++)); do
                CT_PID=$(pgrep -P "$CT_NSPAWN" -x systemd | head -1) && [ -n "$CT_PID" ] && break
                ! exited "$CT_NSPAWN" || break
                sleep 0.05
        done
        if [ -z "$CT_PID" ]; then
                echo "# systemd-nspawn did not start systemd; console:"; sed 's/^/#   /' "$CT_DIR/console.log"
                return 1
        fi
        # Until systemd has made its private socket, systemctl cannot connect.
        local state
        for ((i = 0; i < 200; i++)); do
                state=$(timeout 60 nsenter -t "$CT_PID" -a systemctl is-system-running --wait 2>&1) || true
                case $state in
                running | degraded) return 0 ;;
                "Failed to connect"* | offline | initializing | starting) sleep 0.05 ;;
                *) break ;;
                esac
        done
        echo "# container did not come up: '$state'"
        return 1
}

# Shuts the container down (bounded), then removes the overlay.
ct_teardown() {
        if [ -n "$CT_NSPAWN" ] && kill -0 "$CT_NSPAWN" 2>/dev/null; then
                kill -TERM "$CT_NSPAWN"
                wait_for 200 exited "$CT_NSPAWN" || kill -KILL "$CT_NSPAWN" 2>/dev/null || true
                wait "$CT_NSPAWN" 2>/dev/null || true
        fi
        mountpoint -q "$CT_ROOT" 2>/dev/null && umount "$CT_ROOT"
        rm -rf "$CT_DIR"
        # nspawn leaves these behind when /run is not a tmpfs (as here).
        rmdir /run/systemd/nspawn/propagate/tcpmd5-{test,pid1}-$$ 2>/dev/null || true
}

# Journal lines of a unit, for messages on failure.
ct_journal() { ct journalctl --no-pager -q -o cat -u "$1" | tail -${2:-20}; }
