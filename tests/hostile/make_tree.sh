#!/usr/bin/env bash
# make_tree.sh -- builds the adversarial course tree of tests/sh/test_hardening.sh at test time.
#
#   tests/hostile/make_tree.sh ROOT OUTSIDE
#
# ROOT receives the courses (created if missing; it may already be watched by an agent).
# OUTSIDE (created if missing) must lie outside ROOT: it receives the files that symbolic
# links in ROOT point at (each holds a unique token that must never reach the database) and
# OUTSIDE/manifest.tsv, which tells the test what to expect, one line per file:
#
#   good <TAB> TITLE                  a file that must land (a live contents row with TITLE)
#   bad  <TAB> NEEDLE <TAB> ERE       a file that must be rejected: NEEDLE is a fixed string of
#                                     its path, ERE a case-insensitive regexp of its reason
#   token <TAB> TOKEN                 a string that must appear in no row
#   absent <TAB> NEEDLE               a file that is not a regular file (FIFO, device): no row
#                                     and no rejection names it, and nothing blocks on it
#   skip <TAB> WHAT <TAB> REASON <TAB> CAPABILITY
#                                     a case this machine cannot build: the test counts it as
#                                     a skip (tests/sh/lib.sh), a failure under deploy/test.sh
#                                     unless the machine lacks CAPABILITY (empty: none excuses
#                                     it)
#
# Nothing big is committed: the 1 MB front-matter, the 100,000 brackets and the 100 MB file
# (sparse, via truncate) are generated here. The binary file is deterministic (a fixed key
# through openssl's AES-CTR, or python's random with a fixed seed).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 ROOT OUTSIDE" >&2
    exit 2
fi
ROOT=$1
OUT=$2
mkdir -p "$ROOT" "$OUT"
OUT=$(cd "$OUT" && pwd)
MAN=$OUT/manifest.tsv
: >"$MAN"

C=$ROOT/hostile         # the main hostile course
L=$C/lessons
TOK_FILE=OUTSIDE_TOKEN_FILE_5b1e7c94
TOK_DIR=OUTSIDE_TOKEN_DIR_0d93a6f2
TOK_COURSE=OUTSIDE_TOKEN_COURSE_c47e19aa

good() { printf 'good\t%s\n' "$1" >>"$MAN"; }
absent() { printf 'absent\t%s\n' "$1" >>"$MAN"; }
skip() { printf 'skip\t%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$MAN"; }
bad() { printf 'bad\t%s\t%s\n' "$1" "$2" >>"$MAN"; }
token() { printf 'token\t%s\n' "$1" >>"$MAN"; }

# glesson FILE TITLE [EXTRA-FM-LINE...]: a good lesson, written in one open/write/close.
glesson() {
    local f=$1 t=$2
    shift 2
    mkdir -p "$(dirname "$f")"
    {
        printf -- '---\ntitle: "%s"\n' "$t"
        if [[ $# -gt 0 ]]; then printf '%s\n' "$@"; fi
        printf -- '---\n# %s\n\nA good lesson between hostile ones.\n' "$t"
    } >"$f"
    good "$t"
}

# deterministic pseudo-random bytes: rand_bytes N
rand_bytes() {
    if command -v openssl >/dev/null 2>&1; then
        openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
            -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null | head -c "$1" ||
            true # openssl dies of SIGPIPE once head has its bytes
    else
        python3 -c 'import random, sys; r = random.Random(1337); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(int(sys.argv[1]))))' "$1"
    fi
}

mkdir -p "$L/modulo-01" "$L/modulo-02"

# ---- the brief (good) ---------------------------------------------------------------------
cat >"$C/COURSE-BRIEF.md" <<'EOF'
---
title: "Hostile Course"
tags: [hostile, hardening]
---
# Hostile Course

The brief is fine; its lessons are not.
EOF

glesson "$L/modulo-01/aula-1.1-a-good.md" "GOOD-01" "lesson_id: \"1.1\""

# ---- broken YAML of several kinds: the reason carries line and column -------------------------
printf -- '---\ntitle: "never closed\nmodule: 1\n---\nbody\n' >"$L/modulo-01/yaml-unclosed-quote.md"
bad "yaml-unclosed-quote.md" 'line [0-9]+.*column [0-9]+|column [0-9]+.*line [0-9]+'
printf -- '---\ntitle: ok\n  bad: indentation\nmodule: 1\n---\nbody\n' >"$L/modulo-01/yaml-bad-indent.md"
bad "yaml-bad-indent.md" 'line [0-9]+.*column [0-9]+|column [0-9]+.*line [0-9]+'
printf -- '---\ntitle: ok\n\tkey: tab-indented\n---\nbody\n' >"$L/modulo-01/yaml-tab.md"
bad "yaml-tab.md" 'line [0-9]+.*column [0-9]+|column [0-9]+.*line [0-9]+'
printf -- '---\ntitle: ok\nlist: [1, 2, 3\n---\nbody\n' >"$L/modulo-01/yaml-unclosed-flow.md"
bad "yaml-unclosed-flow.md" 'line [0-9]+.*column [0-9]+|column [0-9]+.*line [0-9]+'
printf -- '---\ntitle: ok\nmodule: 1\nno closing line, the body never starts\n' >"$L/modulo-01/yaml-unterminated.md"
bad "yaml-unterminated.md" 'unterminated|not closed|no closing|closing'
printf -- '---\n- a\n- list\n---\nbody\n' >"$L/modulo-01/yaml-not-mapping.md"
bad "yaml-not-mapping.md" 'mapping'
printf -- '---\njust a scalar\n---\nbody\n' >"$L/modulo-01/yaml-scalar.md"
bad "yaml-scalar.md" 'mapping'
printf -- '---\ntitle: *nowhere\n---\nbody\n' >"$L/modulo-01/yaml-undefined-alias.md"
bad "yaml-undefined-alias.md" 'alias|anchor'
glesson "$L/modulo-01/aula-1.2-b-good.md" "GOOD-02" "lesson_id: \"1.2\""

# ---- resource bombs ---------------------------------------------------------------------------
{
    printf -- '---\n'
    printf 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev=a
    for n in b c d e f g h i; do
        printf '%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n' "$n" "$n" \
            "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev"
        prev=$n
    done
    printf 'title: laughs\n---\nbody\n'
} >"$L/alias-bomb.md"
bad "alias-bomb.md" 'alias'
{
    printf -- '---\nx: '
    head -c 100000 /dev/zero | tr '\0' '['
    printf '\n---\nbody\n'
} >"$L/nested-brackets.md"
bad "nested-brackets.md" 'nest|deep|depth|level'
{
    printf -- '---\ntitle: big front-matter\n'
    for ((i = 0; i < 16384; i++)); do
        printf 'key_%05d: "%s"\n' "$i" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    done
    printf -- '---\nbody\n'
} >"$L/frontmatter-1mb.md"
bad "frontmatter-1mb.md" 'front.?matter|KiB|bytes|large|size|limit'
glesson "$L/c-good.md" "GOOD-03"
printf -- '---\ntitle: a hundred megabytes\n---\n# huge\n' >"$L/huge-100mb.md"
truncate -s 100M "$L/huge-100mb.md"
bad "huge-100mb.md" 'size|large|limit|bytes|MiB'

# ---- bytes that are not text ------------------------------------------------------------------
rand_bytes 65536 >"$L/x.md"
bad "lessons/x.md" 'UTF-8|utf8|NUL|binary|encoding'
printf -- '---\ntitle: latin1\n---\nolá mundo em latin-1: \xe1\xe9\xed\n' >"$L/invalid-utf8.md"
bad "invalid-utf8.md" '(UTF-8|utf8).*(offset|byte)|(offset|byte).*(UTF-8|utf8)'
printf -- '---\ntitle: nul\n---\nbefore\0after\n' >"$L/nul-byte.md"
bad "nul-byte.md" 'NUL|\\0|zero byte|null byte'
glesson "$L/m-good.md" "GOOD-04"

# ---- CRLF with a BOM: accepted --------------------------------------------------------------
printf '\xef\xbb\xbf---\r\ntitle: "GOOD-crlf-bom"\r\nmodule: 2\r\n---\r\n# CRLF\r\n\r\nwindows line ends\r\n' \
    >"$L/modulo-02/crlf-bom.md"
good "GOOD-crlf-bom"

# ---- symbolic links: never followed ---------------------------------------------------------
ln -s loop-b.md "$L/loop-a.md"
ln -s loop-a.md "$L/loop-b.md"
ln -s .. "$L/cycle"          # a directory link back up: a follower would recurse
printf -- '---\ntitle: "%s"\n---\n%s in the body\n' "$TOK_FILE" "$TOK_FILE" >"$OUT/secret.md"
ln -s "$OUT/secret.md" "$L/outside-file.md"
token "$TOK_FILE"
mkdir -p "$OUT/dir/sub"
printf -- '---\ntitle: "%s"\n---\n%s\n' "$TOK_DIR" "$TOK_DIR" >"$OUT/dir/leak.md"
printf -- '---\ntitle: "%s-2"\n---\n%s\n' "$TOK_DIR" "$TOK_DIR" >"$OUT/dir/sub/leak2.md"
ln -s "$OUT/dir" "$L/outside-dir"
token "$TOK_DIR"
mkdir -p "$OUT/course/lessons"
printf -- '---\ntitle: "%s"\n---\n%s\n' "$TOK_COURSE" "$TOK_COURSE" >"$OUT/course/COURSE-BRIEF.md"
printf -- '---\ntitle: "%s-lesson"\n---\n%s\n' "$TOK_COURSE" "$TOK_COURSE" >"$OUT/course/lessons/l.md"
ln -s "$OUT/course" "$ROOT/linked-course"
token "$TOK_COURSE"

# ---- file names ---------------------------------------------------------------------------
glesson "$L/name with  spaces.md" "GOOD-spaces"
glesson "$L/it's \"quoted\" \`back\`.md" "GOOD-quotes"
glesson "$L/x'); DROP TABLE content_projects; --.md" "GOOD-sql-name"
glesson "$L/new"$'\n'"line.md" "GOOD-newline"
glesson "$L/emoji 🎓 ação.md" "GOOD-emoji"
# A rejected file whose name holds a newline and what looks like another listing line.
printf -- '---\ntitle: [broken\n---\n' >"$L/yaml-bad-newline"$'\n'"  forged-line.md: FORGED listing line.md"
bad "yaml-bad-newline" 'line [0-9]+.*column [0-9]+|column [0-9]+.*line [0-9]+'
printf -- '---\ntitle: bad name\n---\nbody\n' >"$L/badname-"$'\xff\xfe'"-latin.md"
bad "badname-" 'UTF-8|utf8|name'

# ---- values that look like SQL --------------------------------------------------------------
cat >"$L/sql-injection.md" <<'EOF'
---
title: "x'); DROP TABLE contents; --"
description: "'; DELETE FROM content_projects; SELECT '"
tags: ["a'); DROP TABLE tags; --"]
---
# Robert'); DROP TABLE students;--

$$ ; DROP SCHEMA public CASCADE; $$ \x00 \\ E'\\'
EOF

good "x'); DROP TABLE contents; --"

# ---- a 2,000-character slug: nested directories, each name within NAME_MAX -------------------
d=$L
for i in 1 2 3 4 5 6 7 8; do
    d=$d/$(printf "deep%02d-%0220d" "$i" 0)
done
glesson "$d/$(printf 'leaf-%0200d' 0).md" "GOOD-long-slug"

glesson "$L/z-good.md" "GOOD-05"

# ---- a course whose only file, its brief, is broken: the course still exists ---------------
mkdir -p "$ROOT/bad-brief"
printf -- '---\ntitle: [unclosed\n---\nbody\n' >"$ROOT/bad-brief/COURSE-BRIEF.md"
bad "bad-brief/COURSE-BRIEF.md" 'line [0-9]+.*column [0-9]+|column [0-9]+.*line [0-9]+'

# ---- a plain good course beside it ---------------------------------------------------------
mkdir -p "$ROOT/good-course/lessons/modulo-1"
printf -- '---\ntitle: "Good Course"\n---\n# Good Course\n' >"$ROOT/good-course/COURSE-BRIEF.md"
glesson "$ROOT/good-course/lessons/modulo-1/aula-1.1-x.md" "GOOD-gc-1"
glesson "$ROOT/good-course/lessons/modulo-1/aula-1.2-y.md" "GOOD-gc-2"

# ---- files that are not regular files: never read, never block ------------------------------
mkfifo "$L/fifo.md"                       # a reader that opened it blocking would hang
absent "fifo.md"
if mknod "$L/device.md" c 1 3 2>/dev/null; then # /dev/null's numbers
    absent "device.md"
else
    skip "device node" "mknod is not allowed here" mknod
fi

# ---- a hard link to a file outside the root -------------------------------------------------
# Safe to read while fs.protected_hardlinks = 1 (the linker had to own the file or be able to
# write it); with 0 it is refused (test_hardening.sh, A6).
printf -- '---\ntitle: "GOOD-hardlink"\n---\nlinked from outside\n' >"$OUT/hardlinked.md"
if ln "$OUT/hardlinked.md" "$L/hardlink.md" 2>/dev/null; then
    if [[ $(cat /proc/sys/fs/protected_hardlinks 2>/dev/null) == 1 ]]; then
        good "GOOD-hardlink"
    else
        bad "hardlink.md" 'hard links.*fs\.protected_hardlinks'
    fi
else
    skip "hard link" "OUTSIDE and ROOT are on different file systems"
fi

# ---- a course of many large files: written in parts (more than SYNC_PART_BYTES) ---------------
"$(dirname "${BASH_SOURCE[0]}")/make_big_course.sh" "$ROOT" big-course 10 4000000
for ((i = 1; i <= 10; i++)); do good "BIG-$i"; done

# The file the permission test makes unreadable (good while readable).
glesson "$L/perm-denied.md" "GOOD-perm"
