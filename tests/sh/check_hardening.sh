#!/usr/bin/env bash
# check_hardening.sh -- the binary carries the flags Debian builds daemons with: PIE, full RELRO
# (GNU_RELRO and BIND_NOW), the stack protector, and with --fortify (an optimized build
# without sanitizers) _FORTIFY_SOURCE's checked functions. Needs readelf (binutils).
#
#   tests/sh/check_hardening.sh BINARY [--fortify]
set -uo pipefail

BIN=${1:?usage: check_hardening.sh BINARY [--fortify]}
FORTIFY=0
[[ ${2:-} == --fortify ]] && FORTIFY=1
command -v readelf >/dev/null || { echo "FAIL: readelf not found (apt-get install binutils)" >&2; exit 1; }
[[ -f $BIN ]] || { echo "FAIL: $BIN not found" >&2; exit 1; }

failed=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; failed=1; }

header=$(readelf -h "$BIN") || { echo "FAIL: readelf -h $BIN" >&2; exit 1; }
dynamic=$(readelf -d "$BIN")
segments=$(readelf -lW "$BIN")
symbols=$(readelf -sW --dyn-syms "$BIN")

if grep -Eq 'Type:[[:space:]]+DYN' <<<"$header" && grep -Eq 'FLAGS_1.*\bPIE\b' <<<"$dynamic"; then
    ok "position-independent executable (DYN, FLAGS_1 PIE)"
else
    fail "not a PIE: $(grep -E 'Type:' <<<"$header"), $(grep -E 'FLAGS' <<<"$dynamic" | tr -s ' ')"
fi
if grep -q 'GNU_RELRO' <<<"$segments"; then
    ok "GNU_RELRO segment"
else
    fail "no GNU_RELRO segment (-Wl,-z,relro)"
fi
if grep -Eq '\(FLAGS\).*\bBIND_NOW\b|\(FLAGS_1\).*\bNOW\b|\(BIND_NOW\)' <<<"$dynamic"; then
    ok "BIND_NOW (full RELRO)"
else
    fail "no BIND_NOW (-Wl,-z,now)"
fi
if grep -q '__stack_chk_fail' <<<"$symbols"; then
    ok "stack protector (__stack_chk_fail)"
else
    fail "no __stack_chk_fail: built without -fstack-protector-strong"
fi
if [[ $FORTIFY -eq 1 ]]; then
    chk=$(grep -oE '__[a-z0-9_]+_chk\b' <<<"$symbols" | grep -vx '__stack_chk' | sort -u | tr '\n' ' ')
    if [[ -n $chk ]]; then
        ok "_FORTIFY_SOURCE (checked functions: $chk)"
    else
        fail "no __*_chk function: built without -D_FORTIFY_SOURCE"
    fi
fi
exit $failed
