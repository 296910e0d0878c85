#!/usr/bin/env bash
# check_parse_golden.sh -- `creatoros-agent parse` prints, byte for byte, the rows the fixture
# trees map to as tests/fixtures/parse.golden holds them: the rows' shapes, every value rule of
# docs/CONTRACT.md the fixtures exercise, and the rejections' messages. Any change to what
# `parse` prints shows here as a diff; when the change is meant, refresh the file with --update.
#
#   tests/sh/check_parse_golden.sh BINARY SOURCE_DIR [--update]
set -uo pipefail

BIN=${1:?usage: check_parse_golden.sh BINARY SOURCE_DIR [--update]}
SRC=${2:?usage: check_parse_golden.sh BINARY SOURCE_DIR [--update]}
GOLDEN=$SRC/tests/fixtures/parse.golden

# parse_tree ROOT [OPTION...]: parse every .md file below ROOT (in byte order of their paths),
# from ROOT, with the options given.
parse_tree() {
    local root=$1
    shift
    (
        cd "$root" || exit 1
        mapfile -t files < <(find . -name '*.md' -type f | sed 's|^\./||' | LC_ALL=C sort)
        "$BIN" parse --root . "$@" "${files[@]}"
        echo "exit $?"
    )
}

have=$(
    parse_tree "$SRC/tests/fixtures/backfill"
    parse_tree "$SRC/tests/fixtures/backfill" --creator-mind deploy-mind
    # the size limit: the larger files are refused, naming it
    parse_tree "$SRC/tests/fixtures/backfill" --max-file-bytes 100
    parse_tree "$SRC/tests/fixtures/production/tree"
)
if [[ ${3:-} == --update ]]; then
    printf '%s\n' "$have" >"$GOLDEN"
    echo "wrote $GOLDEN ($(wc -l <"$GOLDEN") lines)"
    exit 0
fi
if [[ ! -f $GOLDEN ]]; then
    echo "FAIL: $GOLDEN is missing (write it with: $0 BINARY SOURCE_DIR --update)" >&2
    exit 1
fi
if [[ $have != "$(cat "$GOLDEN")" ]]; then
    echo "FAIL: \`creatoros-agent parse\` differs from $GOLDEN (< golden, > now):" >&2
    diff <(cat "$GOLDEN") <(printf '%s\n' "$have") | head -40 | cut -c1-400 | sed 's/^/  | /' >&2
    exit 1
fi
echo "ok: \`creatoros-agent parse\` equals $GOLDEN ($(wc -l <"$GOLDEN") lines)"
