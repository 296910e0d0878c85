#!/usr/bin/env bash
# check_paths.sh -- the repository stands alone: no file names an absolute path of some machine
# (a home directory, a build host's work tree) or a file beside the repository (a sibling
# directory). The one exception: bench/run.sh and the README's prose may name the sibling
# `shared/bench`, the optional harness of the Python peers that bench/run.sh compares the
# agent with.
#
#   tests/sh/check_paths.sh [REPO]     (deploy/test.sh runs it first)
set -uo pipefail

REPO=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$REPO" || exit 2

# Every file of the repository: tracked and untracked-but-not-ignored in a git checkout,
# else everything but the build directories.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files --cached --others --exclude-standard | grep -Ev '^(build[^/]*|\.local|outputs)/')
else
    mapfile -t files < <(find . -type f ! -path './build*' ! -path './.local/*' ! -path './outputs/*' \
        ! -path './.git/*' -printf '%P\n')
fi
[[ ${#files[@]} -gt 0 ]] || { echo "FAIL: no files found in $REPO" >&2; exit 2; }

# A machine path starts at a boundary (a space, a quote, '=', '(' or the line's start), so
# "$WORK/root/x" or "${E}/home/y" (paths below a variable) do not count.
MACHINE='(^|[][[:space:]"'"'"'=(:,<>`])/(wor[k]|root|home/[^/[:space:]]+|Users/[^/[:space:]]+)/'
SIBLING='\.\./share[d]'
present=()
for f in "${files[@]}"; do
    [[ -f $f ]] && present+=("$f")
done
others=()
for f in "${present[@]}"; do
    [[ $f == bench/run.sh || $f == README.md ]] || others+=("$f")
done
# One grep over all the files (binary files skipped): "FILE:LINE:text" per hit.
hits=$({
    printf '%s\0' "${present[@]}" | xargs -0 grep -InHE -- "$MACHINE"
    printf '%s\0' "${others[@]}" | xargs -0 grep -InHE -- "$SIBLING"
} 2>/dev/null)
if [[ -n $hits ]]; then
    sed 's/^/FAIL: /' <<<"$hits" >&2
    echo "FAIL: the repository must stand alone: cite the project's own files (docs/...), not paths of a machine or beside the repository" >&2
    exit 1
fi
echo "ok: ${#present[@]} files, none names a machine path or a file beside the repository"
