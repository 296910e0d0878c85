#!/usr/bin/env bash
# test_package.sh -- the Debian package, as an operator meets it: built with `cpack -G DEB` from a
# Release build, installed with dpkg, run, then purged leaving nothing of it behind.
#
# Checks: the Release binary's hardening (tests/sh/check_hardening.sh --fortify); Depends
# derived from the linked libraries (libpq5, libyaml-0-2, libcjson1, libc6); `dpkg -i`;
# `creatoros-agent --version` and a `parse` from PATH; `man -w creatoros-agent` and the
# page listing every option of the table; the bash completion completing an option;
# `systemd-analyze verify` on the installed unit, whose ExecStart= is the installed binary;
# the service user created; `dpkg --purge`, after which no path of `dpkg -L` remains
# (directories shared with other packages aside).
#
# Needs root (dpkg) and the packages deploy/test.sh installs (dpkg-dev and file for the
# dependencies, man-db, systemd). Refuses to run when creatoros-agent is already installed:
# the machine's own installation is never replaced. Runs on the same machine are serialized
# with a lock, since both would install the same package.
set -uo pipefail

SRC=${CO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PKG=creatoros-agent
failures=0
oks=0
ok() { oks=$((oks + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (dpkg -i)"
for tool in cpack dpkg-shlibdeps file man systemd-analyze readelf; do
    command -v "$tool" >/dev/null || die "$tool not found (deploy/test.sh installs what is needed)"
done

exec 9>/run/lock/creatoros-agent-test-package.lock
flock -w 900 9 || die "another test_package.sh held the lock for 15 minutes"
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'installed'; then
    die "$PKG is already installed on this machine; this test installs and purges it, so it stops here"
fi

WORK=$(mktemp -d /tmp/co-package.XXXXXX)
INSTALLED=0
USER_BEFORE=0
getent passwd creatoros-agent >/dev/null && USER_BEFORE=1
cleanup() {
    local rc=$?
    if [[ $INSTALLED -eq 1 ]]; then
        dpkg --purge "$PKG" >/dev/null 2>&1 || true
    fi
    # the package keeps its system user on purge (Debian's practice); a user this test
    # brought in goes with it
    if [[ $USER_BEFORE -eq 0 ]] && getent passwd creatoros-agent >/dev/null; then
        userdel creatoros-agent >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build --------------------------------------------------------------------------------
B=$WORK/build
echo "building a Release package in $B"
if ! { cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release -DCO_WERROR=ON &&
    nice cmake --build "$B" -j"$(nproc)" &&
    (cd "$B" && cpack -G DEB); } >"$WORK/build.log" 2>&1; then
    tail -40 "$WORK/build.log" >&2
    die "the Release build or cpack failed"
fi
DEB=$(ls "$B"/"$PKG"_*.deb 2>/dev/null | head -1)
[[ -f $DEB ]] || die "cpack made no .deb: $(ls "$B")"
ok "built $(basename "$DEB") ($(stat -c %s "$DEB") bytes)"

if "$SRC/tests/sh/check_hardening.sh" "$B/creatoros-agent" --fortify; then
    ok "the Release binary is hardened"
else
    fail "the Release binary lacks a hardening flag"
fi

depends=$(dpkg-deb -f "$DEB" Depends)
for lib in libc6 libpq5 libyaml-0-2 libcjson1; do
    if [[ ", $depends," == *", $lib"[\ ,]* ]]; then ok "Depends: $lib"; else fail "Depends lacks $lib: $depends"; fi
done
[[ $depends != *cmocka* ]] || fail "Depends names cmocka, a test-only library: $depends"

# ---- install ------------------------------------------------------------------------------
if ! dpkg -i "$DEB" >"$WORK/install.log" 2>&1; then
    cat "$WORK/install.log" >&2
    die "dpkg -i failed"
fi
INSTALLED=1
ok "dpkg -i $(basename "$DEB")"
dpkg -L "$PKG" | sed '/^\/\.$/d' >"$WORK/files"

bin=$(command -v creatoros-agent)
[[ $bin == /usr/bin/creatoros-agent ]] || fail "creatoros-agent on PATH is '$bin', expected /usr/bin/creatoros-agent"
if out=$(creatoros-agent --version) && [[ $out == "creatoros-agent "* && $out == *libpq* ]]; then
    ok "creatoros-agent --version: $(head -1 <<<"$out")"
else
    fail "creatoros-agent --version: $out"
fi
if out=$(cd "$SRC/tests/fixtures/backfill" && creatoros-agent parse --root . atendimento/lessons/aula-1.1-oi.md 2>&1) &&
    [[ $out == *'"slug"'* ]]; then
    ok "the installed binary parses a lesson"
else
    fail "creatoros-agent parse: $out"
fi

page=$(man -w creatoros-agent 2>&1)
if [[ $page == /usr/share/man/man1/creatoros-agent.1* && -f $page ]]; then
    ok "man -w creatoros-agent: $page"
else
    fail "man -w creatoros-agent: $page"
fi
text=$(MANWIDTH=200 man creatoros-agent 2>/dev/null | col -b)
missing=()
while read -r opt; do
    grep -q -- "$opt" <<<"$text" || missing+=("$opt")
done < <(creatoros-agent --help-markdown | grep -oE '^\| `--[a-z-]+' | sed 's/^| `//')
if [[ ${#missing[@]} -eq 0 && -n $text ]]; then
    ok "the man page describes every option of the table"
else
    fail "the man page lacks: ${missing[*]}"
fi

completion=/usr/share/bash-completion/completions/creatoros-agent
got=$(bash -c 'source "$1"; COMP_WORDS=(creatoros-agent watch --metrics); COMP_CWORD=2
               _creatoros_agent; echo "${COMPREPLY[*]}"' _ "$completion" 2>&1)
if [[ $got == --metrics-file ]]; then ok "bash completion: watch --metrics<TAB> -> $got"; else
    fail "bash completion of 'watch --metrics' gave '$got'"
fi

unit=$(grep -E '/creatoros-agent\.service$' "$WORK/files" | head -1)
if [[ -z $unit ]]; then
    fail "the package installs no creatoros-agent.service"
else
    exec_bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
    if [[ $exec_bin == "$bin" ]]; then ok "ExecStart= names the installed binary ($exec_bin)"; else
        fail "ExecStart= names '$exec_bin', the package installs $bin"
    fi
    if out=$(systemd-analyze verify "$unit" 2>&1); then
        ok "systemd-analyze verify $unit"
    else
        fail "systemd-analyze verify $unit: $out"
    fi
fi
if getent passwd creatoros-agent >/dev/null; then ok "the service user exists"; else
    fail "postinst did not create the user creatoros-agent"
fi

# ---- purge --------------------------------------------------------------------------------
if ! dpkg --purge "$PKG" >"$WORK/purge.log" 2>&1; then
    cat "$WORK/purge.log" >&2
    fail "dpkg --purge failed"
fi
INSTALLED=0
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'installed\|config-files'; then
    fail "dpkg still knows $PKG after the purge"
fi
left=()
while read -r path; do
    [[ -e $path || -L $path ]] || continue
    # a directory that another package also owns (/usr/share/man/man1...) stays, rightly
    if [[ -d $path ]] && dpkg-query -S "$path" >/dev/null 2>&1; then
        continue
    fi
    left+=("$path")
done <"$WORK/files"
if [[ ${#left[@]} -eq 0 ]]; then
    ok "purged: none of the $(wc -l <"$WORK/files") paths of dpkg -L is left"
else
    fail "left behind after the purge: ${left[*]}"
fi

# shellcheck source=tests/sh/skip_lib.sh
. "$SRC/tests/sh/skip_lib.sh"
summary_line test_package "$oks" "$failures"
