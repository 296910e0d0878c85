#!/usr/bin/env bash
# check_option_ranges.sh -- every numeric option of the option table refuses a value just outside
# its range, naming the option and the range, and takes the ends of the range; from the
# command line and from its CREATOROS_* variable. The ranges are read from the table itself
# (`--help-markdown`), so an option added later is covered without touching this file.
#
#   tests/sh/check_option_ranges.sh BINARY
set -uo pipefail

BIN=${1:?usage: check_option_ranges.sh BINARY}
failed=0 checked=0
ok() { checked=$((checked + 1)); }
fail() { echo "FAIL: $*" >&2; failed=1; }

# run ARGS...: the binary's exit status and its stderr in OUT (--help stops before any work).
run() {
    OUT=$("$BIN" "$@" 2>&1 >/dev/null)
    RC=$?
}

rows=$("$BIN" --help-markdown | grep -E '^\| `--[a-z-]+ [A-Z]+` \|.*\| -?[0-9]+ to -?[0-9]+ \|')
[[ -n $rows ]] || { echo "FAIL: no numeric option with a range in --help-markdown" >&2; exit 1; }
while IFS='|' read -r _ opt verbs _ range _; do
    opt=$(sed -E 's/^ *`(--[a-z-]+) .*/\1/' <<<"$opt")
    verb=$(sed -E 's/^ *([a-z]+).*/\1/' <<<"$verbs")
    min=$(sed -E 's/^ *(-?[0-9]+) to .*/\1/' <<<"$range")
    max=$(sed -E 's/.* to (-?[0-9]+) *$/\1/' <<<"$range")
    env=CREATOROS_$(tr 'a-z-' 'A-Z_' <<<"${opt#--}")
    for bad in $((min - 1)) $((max + 1)) x1; do
        run "$verb" "$opt" "$bad" --help
        if [[ $RC -eq 2 && $OUT == *"$opt"*"$min to $max"* ]]; then ok; else
            fail "$verb $opt $bad: exit $RC, expected 2 and a message naming $opt and \"$min to $max\": $OUT"
        fi
    done
    OUT=$(env "$env=$((max + 1))" "$BIN" "$verb" --help 2>&1 >/dev/null)
    RC=$?
    if [[ $RC -eq 2 && $OUT == *"$env"*"$min to $max"* ]]; then ok; else
        fail "$env=$((max + 1)) $verb: exit $RC, expected 2 and a message naming $env: $OUT"
    fi
    for good in "$min" "$max"; do
        run "$verb" "$opt" "$good" --help
        if [[ $RC -eq 0 ]]; then ok; else fail "$verb $opt $good (in range) refused: $OUT"; fi
    done
done <<<"$rows"
echo "check_option_ranges: $checked checks over $(wc -l <<<"$rows") numeric options"
exit $failed
