#!/bin/sh
# parse.sh -- parser throughput on a generated 10,000-lesson corpus: median of 5 runs.
# Usage: bench/parse.sh (from anywhere). CORPUS=DIR and BUILD=DIR override the defaults.
# The corpus comes from bench/gen_corpus.py (100 courses x 10 modules x 10 lessons of ~4 KB).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-/tmp/creatoros-bench-own-corpus-100x10x10}
build=${BUILD:-$repo/build-release}

# The corpus is deterministic, so it is generated once and cached.
if [ ! -f "$corpus/.complete" ]; then
    rm -rf "$corpus"
    /usr/bin/python3 "$repo/bench/gen_corpus.py" "$corpus" \
        --courses 100 --modules 10 --lessons 10 --body-bytes 4096
    touch "$corpus/.complete"
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
fi
cmake --build "$build" --target parse_bench >/dev/null

runs=$(mktemp)
trap 'rm -f "$runs"' EXIT
for _ in 1 2 3 4 5; do
    "$build/parse_bench" "$corpus" | tee -a "$runs"
done
# The median run by files_per_s.
median=$(sed 's/.*files_per_s=\([0-9.]*\).*/\1 &/' "$runs" | sort -n | sed -n 3p | cut -d' ' -f2-)
echo "median: $median"
