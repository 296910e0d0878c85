#!/usr/bin/env bash
# check_readme_options.sh -- the options table in README.md is exactly what
# `creatoros-agent --help-markdown` prints from the option table (refresh it with that command).
#
#   tests/sh/check_readme_options.sh BINARY README
set -uo pipefail

BIN=${1:?usage: check_readme_options.sh BINARY README}
README=${2:?usage: check_readme_options.sh BINARY README}
want=$("$BIN" --help-markdown) || { echo "FAIL: $BIN --help-markdown failed" >&2; exit 1; }
# The table of the README: the block of lines from its header line to the first line that
# is not a table row.
header=$(head -1 <<<"$want")
have=$(awk -v h="$header" '$0 == h {on = 1} on && !/^\|/ {exit} on {print}' "$README")
if [[ -z $have ]]; then
    echo "FAIL: $README has no line \"$header\" (paste \`creatoros-agent --help-markdown\` there)" >&2
    exit 1
fi
if [[ $have != "$want" ]]; then
    echo "FAIL: the options table of $README differs from \`creatoros-agent --help-markdown\`:" >&2
    diff <(printf '%s\n' "$have") <(printf '%s\n' "$want") | sed 's/^/  | /' >&2
    exit 1
fi
echo "ok: the options table of $README equals --help-markdown ($(wc -l <<<"$want") lines)"
