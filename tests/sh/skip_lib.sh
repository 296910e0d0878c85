# shellcheck shell=bash
# skip_lib.sh -- what a check needs from the machine, and skips that are never silent.
#
# Sourced by the suites' libraries (lib.sh, watch_lib.sh, hardening_lib.sh) and by the suites
# that have none. The sourcing script defines `fail MESSAGE` (its own failure counter).
#
#   skip NAME REASON [CAPABILITY]   a check that cannot run: prints "SKIP NAME: REASON" and
#                                   counts it (SKIP_COUNT, shown in the suite's summary line).
#                                   Under deploy/test.sh (CO_TEST_STRICT=1) the skip is also a
#                                   failure, unless CAPABILITY is named and the machine lacks
#                                   it: the test machine has everything a check needs.
#   have_capability CAPABILITY      probe the machine (see the list below).
#   require_capability CAPABILITY NAME: true when the machine has it; otherwise skip NAME
#                                   (with the reason) and false:
#                                       require_capability proc_sys s08 || return
#   only_filter VAR                 sets ONLY to the CO_*_ONLY scenario filter in VAR (for local
#                                   runs), or to nothing: under CO_TEST_STRICT=1 a filter is
#                                   refused (a failure) and ignored, so that every check runs.
#                                   (Not in a $(...): the failure must reach the counter.)
#   summary_line NAME PASSED FAILED prints "NAME: P passed, F failed, S skipped" (the line
#                                   deploy/test.sh reads) and, when nothing ran, says so and
#                                   counts a failure (a suite that ran no check proves nothing).
#                                   Returns 1 when the suite failed.

SKIP_COUNT=0
SKIPPED=()

skip_strict() { [[ ${CO_TEST_STRICT:-0} == 1 ]]; }

# have_capability CAP: root, proc_sys (fs.inotify sysctls writable), setpriv, runuser,
# nobody (root, setpriv and a `nobody` user: a process that cannot read what root can),
# mknod (device nodes can be made), tmpfs (a tmpfs can be mounted), pgdir (CO_PGDIR names the
# running test cluster, which a check may stop and start).
have_capability() {
    local d rc
    case $1 in
    root) [[ $(id -u) -eq 0 ]] ;;
    proc_sys) [[ -w /proc/sys/fs/inotify/max_queued_events ]] ;;
    setpriv | runuser) command -v "$1" >/dev/null 2>&1 ;;
    nobody) [[ $(id -u) -eq 0 ]] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 ;;
    mknod)
        [[ $(id -u) -eq 0 ]] || return 1
        d=$(mktemp -d /tmp/co-cap.XXXXXX) || return 1
        mknod "$d/null" c 1 3 2>/dev/null && [[ -c $d/null ]]
        rc=$?
        rm -rf "$d"
        return $rc
        ;;
    tmpfs)
        [[ $(id -u) -eq 0 ]] || return 1
        d=$(mktemp -d /tmp/co-cap.XXXXXX) || return 1
        mount -t tmpfs -o size=1m co-cap "$d" 2>/dev/null && umount "$d"
        rc=$?
        rmdir "$d" 2>/dev/null
        return $rc
        ;;
    pgdir) [[ -n ${CO_PGDIR:-} && -n ${CO_SOURCE_DIR:-} ]] &&
        "$CO_SOURCE_DIR/deploy/pg.sh" status "$CO_PGDIR" >/dev/null 2>&1 ;;
    *)
        echo "have_capability: unknown capability '$1'" >&2
        return 2
        ;;
    esac
}

# skip NAME REASON [CAPABILITY]
skip() {
    local name=$1 reason=$2 cap=${3:-}
    SKIP_COUNT=$((SKIP_COUNT + 1))
    SKIPPED+=("$name")
    echo "SKIP $name: $reason"
    if skip_strict; then
        if [[ -z $cap ]]; then
            fail "$name was skipped under deploy/test.sh ($reason): a check that can run must run"
        elif have_capability "$cap"; then
            fail "$name was skipped under deploy/test.sh although the machine has '$cap' ($reason)"
        fi
    fi
}

_cap_reason() {
    case $1 in
    root) echo "needs root" ;;
    proc_sys) echo "/proc/sys/fs/inotify is not writable (needs root and a writable /proc/sys)" ;;
    setpriv | runuser) echo "$1 is not installed (util-linux)" ;;
    nobody) echo "needs root, setpriv and a 'nobody' user to run the agent unprivileged" ;;
    mknod) echo "device nodes cannot be made here (needs root, no nodev)" ;;
    tmpfs) echo "a tmpfs cannot be mounted here (needs root and CAP_SYS_ADMIN)" ;;
    pgdir) echo "CO_PGDIR does not name the running test cluster (deploy/test.sh sets it)" ;;
    *) echo "needs $1" ;;
    esac
}

# require_capability CAP NAME: 0 when the machine has CAP, else skip NAME and return 1.
require_capability() {
    if have_capability "$1"; then
        return 0
    fi
    skip "$2" "$(_cap_reason "$1")" "$1"
    return 1
}

# only_filter VAR: ONLY= the scenario filter in VAR, or nothing (refused under strict mode).
ONLY=
only_filter() {
    local v=${!1:-}
    ONLY=
    [[ -n $v ]] || return 0
    if skip_strict; then
        fail "$1 is set ('$v'): scenario filters are for local runs; deploy/test.sh runs every check"
        return 0
    fi
    ONLY=$v
    echo "($1: running $ONLY only)"
}

# summary_line NAME PASSED FAILED: the suite's last line; 1 when it failed or ran nothing.
summary_line() {
    local name=$1 p=$2 f=$3
    if ((p + f == 0)); then
        echo "FAIL: $name ran no check"
        f=1
    fi
    if ((SKIP_COUNT > 0)); then
        echo "$name: skipped: ${SKIPPED[*]}"
    fi
    echo "$name: $p passed, $f failed, $SKIP_COUNT skipped"
    ((f == 0))
}
