#!/usr/bin/env bash
# test_systemd_unit.sh -- deploy/creatoros-agent.service parses, is hardened (exposure <= 2.0)
# and its system call filter still permits every call the agent makes.
#
#   unit_verifies_clean               systemd-analyze verify says nothing
#   unit_exposure_within_bound        systemd-analyze security: exposure <= MAX_EXPOSURE
#   unit_required_settings            Type=notify, a watchdog, no capabilities, LimitCORE=0...
#   unit_syscall_filter_permits_agent every call the agent makes passes SystemCallFilter=
#   unit_env_example_names_settings   deploy/agent.env.example names what the unit reads
#
# Needs only the Debian `systemd` package (systemd-analyze); no running systemd: the unit is
# checked with `systemd-analyze verify` and `systemd-analyze security --offline=yes`.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/sh/lib.sh
. "$HERE/lib.sh"
lib_init test_systemd_unit systemd-analyze
SRC=$CO_SOURCE_DIR
UNIT=$SRC/deploy/creatoros-agent.service
ENV_EXAMPLE=$SRC/deploy/agent.env.example
MAX_EXPOSURE=2.0

# Every system call the agent (and glibc, libpq, OpenSSL under it) is known to make: the
# event loop's and watcher's, and what strace showed for migrate, backfill and status
# over a unix socket and TCP. execve too: systemd installs the filter before it.
SYSCALLS=(execve access arch_prctl getcwd geteuid getuid ioctl pread64 set_tid_address
          inotify_init1 inotify_add_watch inotify_rm_watch epoll_create1 epoll_ctl epoll_wait
          epoll_pwait signalfd4 timerfd_create timerfd_settime openat openat2 newfstatat
          getdents64 connect socket sendto recvfrom poll ppoll
          read write close fstat lseek mmap munmap mprotect brk futex getrandom
          clock_gettime clock_nanosleep rt_sigprocmask rt_sigaction fcntl
          getsockopt setsockopt getsockname getpeername sendmsg recvmsg
          getpid exit_group uname statx readlink readlinkat prlimit64 timerfd_gettime
          clone clone3 set_robust_list rseq madvise prctl
          rename renameat renameat2 fchmod unlink unlinkat)

[[ -f $UNIT ]] || lib_abort "$UNIT is missing"

# values KEY: every value of KEY= in the [Service] section, one a line, in order.
values() {
    awk -v key="$1" '
        /^[[:space:]]*[#;]/ { next }
        /^[[:space:]]*\[/ { section = $0; gsub(/[[:space:]]/, "", section); next }
        section == "[Service]" {
            eq = index($0, "=")
            if (eq == 0) next
            k = substr($0, 1, eq - 1); gsub(/[[:space:]]/, "", k)
            if (k != key) next
            v = substr($0, eq + 1); sub(/^[[:space:]]+/, "", v); sub(/[[:space:]]+$/, "", v)
            print v
        }' "$UNIT"
}
# last KEY: the effective value of a single-valued setting (the last one wins).
last() { values "$1" | tail -n 1; }

# ---- the unit parses ------------------------------------------------------------------
# verify insists that ExecStart's binary exists; point it at an executable stand-in (the
# built agent when there is one) in a copy, so that any other complaint still fails.
unit_verifies_clean() {
    test_begin "systemd-analyze verify: the unit parses, nothing said"
    local agent out
    agent=${CO_AGENT:-}
    if [[ -z $agent || ! -x $agent ]]; then
        agent=$WORK/creatoros-agent
        printf '#!/bin/sh\nexit 0\n' >"$agent"
        chmod 0755 "$agent"
    fi
    mkdir "$WORK/unit"
    sed "s#/usr/local/bin/creatoros-agent#$agent#g" "$UNIT" >"$WORK/unit/creatoros-agent.service"
    if out=$(systemd-analyze verify "$WORK/unit/creatoros-agent.service" 2>&1) && [[ -z $out ]]; then
        pass "systemd-analyze verify: clean"
    else
        fail "systemd-analyze verify complained: $out"
    fi
}

# ---- exposure score -------------------------------------------------------------------
unit_exposure_within_bound() {
    test_begin "the exposure score"
    local sec line score
    sec=$(systemd-analyze security --offline=yes "$UNIT" 2>&1) || true
    line=$(grep -E 'Overall exposure level for [^:]+: [0-9]+\.[0-9]+' <<<"$sec" | tail -n 1 || true)
    score=$(sed -E 's/.*Overall exposure level for [^:]+: ([0-9]+\.[0-9]+).*/\1/' <<<"$line")
    if [[ -z $line || -z $score ]]; then
        fail "no 'Overall exposure level' line from systemd-analyze security: $sec"
    elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
        pass "exposure $score <= $MAX_EXPOSURE ($line)"
    else
        grep -E '✗' <<<"$sec" >&2 || true
        fail "exposure $score > $MAX_EXPOSURE"
    fi
}

# ---- required settings ----------------------------------------------------------------
unit_required_settings() {
    test_begin "the settings the unit needs"
    local user dynamic families env_root ro_path
    expect() { # expect KEY VALUE: the effective value is exactly VALUE
        local got
        got=$(last "$1")
        if [[ $got == "$2" ]]; then pass "$1=$2"; else fail "$1 is '${got}', expected '$2'"; fi
    }
    nonempty() { # nonempty KEY: set, to something
        local got
        got=$(last "$1")
        if [[ -n $got ]]; then pass "$1=$got"; else fail "$1= is missing or empty"; fi
    }
    expect Type notify
    expect NotifyAccess main
    expect Restart on-failure
    expect NoNewPrivileges yes
    expect ProtectSystem strict
    expect LimitCORE 0 # the process holds the database password
    nonempty WatchdogSec
    [[ $(last WatchdogSec) != 0 ]] || fail "WatchdogSec=0 disables the watchdog"
    nonempty EnvironmentFile
    nonempty ReadOnlyPaths
    nonempty ExecStart

    user=$(last User) dynamic=$(last DynamicUser)
    if [[ $dynamic == yes ]] || [[ -n $user && $user != root && $user != 0 ]]; then
        pass "runs as a non-root user (User=${user:-} DynamicUser=${dynamic:-no})"
    else
        fail "neither a non-root User= nor DynamicUser=yes"
    fi

    # Capabilities: every CapabilityBoundingSet= line empty (an empty line resets, a later
    # non-empty one would add back), and at least one present.
    if [[ $(values CapabilityBoundingSet | wc -l) -ge 1 && -z $(values CapabilityBoundingSet | tr -d '[:space:]') ]]; then
        pass "CapabilityBoundingSet= empty"
    else
        fail "CapabilityBoundingSet must be present and empty, got: $(values CapabilityBoundingSet | tr '\n' ' ')"
    fi
    if [[ -n $(values AmbientCapabilities | tr -d '[:space:]') ]]; then
        fail "AmbientCapabilities must be empty"
    fi

    families=$(values RestrictAddressFamilies | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ')
    if [[ $families == "AF_INET AF_INET6 AF_UNIX " && $(values RestrictAddressFamilies | wc -l) -eq 1 ]]; then
        pass "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
    else
        fail "RestrictAddressFamilies must be exactly AF_UNIX AF_INET AF_INET6 (one line), got: $families"
    fi

    if values SystemCallFilter | grep -qx '@system-service'; then
        pass "SystemCallFilter=@system-service"
    else
        fail "SystemCallFilter=@system-service is missing"
    fi

    # The watched root is named twice; both must agree.
    env_root=$(values Environment | tr ' ' '\n' | sed -n 's/^"\{0,1\}CREATOROS_ROOT=//p' | tr -d '"' | tail -n 1)
    ro_path=$(last ReadOnlyPaths | sed 's/^-//')
    if [[ -n $env_root && $env_root == "$ro_path" ]]; then
        pass "CREATOROS_ROOT default matches ReadOnlyPaths ($ro_path)"
    else
        fail "Environment=CREATOROS_ROOT (${env_root:-unset}) and ReadOnlyPaths ($ro_path) disagree"
    fi
}

# ---- the system call filter permits what the agent uses --------------------------------
unit_syscall_filter_permits_agent() {
    test_begin "the system call filter permits every call the agent makes"
    local mode filter item c blocked=()
    declare -A seen_group=()
    # expand NAME: the calls NAME stands for (a @group, recursively, or a single call).
    expand() {
        local name=$1 member
        if [[ $name != @* ]]; then
            echo "$name"
            return
        fi
        [[ -z ${seen_group[$name]:-} ]] || return 0
        seen_group[$name]=1
        local listing
        listing=$(systemd-analyze syscall-filter "$name" 2>&1) || { fail "unknown syscall group $name: $listing"; return 0; }
        while read -r member; do
            [[ -z $member || $member == \#* || $member == "$name" ]] && continue
            expand "$member"
        done <<<"$listing"
    }

    # Apply the SystemCallFilter= lines in order, as systemd does: the first line decides
    # allow-list or deny-list mode; "~" lines remove (allow mode) or add to the deny list.
    declare -A allowed=() denied=()
    mode=
    while IFS= read -r filter; do
        [[ -n $filter ]] || continue
        if [[ $filter == \~* ]]; then
            [[ -n $mode ]] || mode=deny
            for item in ${filter#\~}; do
                seen_group=()
                expand "$item" >"$WORK/calls"
                while read -r c; do
                    if [[ $mode == allow ]]; then unset "allowed[$c]"; else denied[$c]=1; fi
                done <"$WORK/calls"
            done
        else
            [[ -n $mode ]] || mode=allow
            for item in $filter; do
                seen_group=()
                expand "$item" >"$WORK/calls"
                while read -r c; do
                    if [[ $mode == allow ]]; then allowed[$c]=1; else unset "denied[$c]"; fi
                done <"$WORK/calls"
            done
        fi
    done < <(values SystemCallFilter)

    blocked=()
    for c in "${SYSCALLS[@]}"; do
        if [[ $mode == allow && -z ${allowed[$c]:-} ]] || [[ $mode == deny && -n ${denied[$c]:-} ]]; then
            blocked+=("$c")
        fi
    done
    if [[ -z $mode ]]; then
        fail "no SystemCallFilter= at all"
    elif [[ ${#blocked[@]} -eq 0 ]]; then
        pass "SystemCallFilter permits all ${#SYSCALLS[@]} calls the agent uses (${#allowed[@]} allowed)"
    else
        fail "SystemCallFilter blocks calls the agent uses: ${blocked[*]}"
    fi
}

# ---- the env example names what the unit reads ----------------------------------------
unit_env_example_names_settings() {
    test_begin "the env example names what the unit reads"
    local v
    check "$ENV_EXAMPLE is there" test -f "$ENV_EXAMPLE" || return
    for v in CREATOROS_ROOT SUPABASE_DB_URL CREATOROS_CREATOR_MIND CREATOROS_LOG_FORMAT \
        CREATOROS_SETTLE_MS CREATOROS_RESCAN_INTERVAL CREATOR_OS_DB_PERSIST; do
        check "the env example mentions $v=" grep -Eq "^#? ?$v=" "$ENV_EXAMPLE"
    done
}

lib_run unit_verifies_clean unit_exposure_within_bound unit_required_settings \
    unit_syscall_filter_permits_agent unit_env_example_names_settings
lib_finish
