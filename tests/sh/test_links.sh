#!/usr/bin/env bash
# test_links.sh -- a symbolic link in a directory component below the root is never followed:
# not by `parse`, not by `backfill`, not by `watch`; not when the link is there from the start,
# and not when a directory becomes a link while the agent walks the tree.
#
#   links_parse_refuses_paths_through_links
#               paths through links (a course, a lessons and a module directory linked outside
#               the root, a link to a directory inside it): each refused, nothing printed from
#               the files behind them
#   links_backfill_swapped_directory_not_followed
#               a module directory, then a course directory, exchanged for a link (to a
#               directory outside holding files of the same names) in the instant between the
#               agent listing it and reading its files: the files read as gone, nothing from
#               outside reaches a row. The exchange is made by tests/sh/swap_dir.py the moment
#               the directory is listed (inotify), and the test checks that it landed in that
#               window (some listed files read as gone), with more files ahead to read on a
#               retry when it did not.
#   links_watch_swapped_directory_not_followed
#               under a running `watch`, a course's synced lessons directory exchanged for such
#               a link: its lessons are soft-deleted and nothing from outside is read (nor
#               later, when the files behind the link change); exchanged back, they are live
#               again.
#
# Needs CO_TEST_DB, CO_AGENT, CO_SOURCE_DIR (deploy/test.sh exports them), python3 and jq.
# CO_LINKS_ONLY="links_parse_refuses_paths_through_links ..." runs some (local runs only).
# shellcheck disable=SC2317 # predicates are called through wait_until and check
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$HERE/lib.sh"
lib_init test_links CO_TEST_DB CO_AGENT jq python3

SWAP=$HERE/swap_dir.py
PY=/usr/bin/python3
TOKEN=OUTSIDE_LINK_TOKEN_5e1f

# lesson FILE TITLE [BODY]: a lesson with a title and a body.
lesson() {
    mkdir -p "$(dirname "$1")"
    printf -- '---\ntitle: "%s"\n---\n%s\n' "$2" "${3:-$2}" >"$1"
}

# outside_copy SRC DST: DST holds the same file names as SRC, every one of them the token.
outside_copy() {
    local f rel
    while IFS= read -r -d '' f; do
        rel=${f#"$1"/}
        mkdir -p "$2/$(dirname "$rel")"
        printf -- '---\ntitle: "%s"\n---\n%s %s\n' "$TOKEN" "$TOKEN" "$rel" >"$2/$rel"
    done < <(find "$1" -type f -print0)
}

# leaks URL: rows (any table the agent writes) holding the token from outside the root.
leaks() {
    qcmp "$1" "SELECT (SELECT count(*) FROM public.contents WHERE content LIKE '%$TOKEN%'
                         OR title LIKE '%$TOKEN%' OR metadata::text LIKE '%$TOKEN%')
                    + (SELECT count(*) FROM public.content_projects WHERE name LIKE '%$TOKEN%'
                         OR project_metadata::text LIKE '%$TOKEN%')"
}

# live_under URL PREFIX: live lesson rows whose slug starts with PREFIX.
live_under() {
    qcmp "$1" "SELECT count(*) FROM public.contents WHERE content_type = 'course_lesson'
                AND deleted_at IS NULL AND slug LIKE '$2%'"
}

# ==== parse ===================================================================================
links_parse_refuses_paths_through_links() {
    test_begin "parse: links in directory components"
    local R=$WORK/parse/root O=$WORK/parse/outside out rel
    lesson "$R/c/lessons/m1/a.md" "inside a"
    lesson "$R/c/COURSE-BRIEF.md" "Course c"
    mkdir -p "$R/c2"
    lesson "$O/course/COURSE-BRIEF.md" "$TOKEN"
    lesson "$O/course/lessons/m1/a.md" "$TOKEN"
    lesson "$O/lessons/m1/a.md" "$TOKEN"
    lesson "$O/m1/a.md" "$TOKEN"
    ln -s "$O/course" "$R/linked-course"         # a course directory
    ln -s "$O/lessons" "$R/c2/lessons"           # a lessons directory
    ln -s "$O/m1" "$R/c/lessons/linked-module"   # a module directory
    ln -s "$R/c/lessons/m1" "$R/c/lessons/alias" # a directory inside the root
    # From a directory where these relative paths do not exist, they are taken relative to
    # the root: the agent itself resolves them, component by component.
    local -a paths=(linked-course/COURSE-BRIEF.md linked-course/lessons/m1/a.md c2/lessons/m1/a.md
        c/lessons/linked-module/a.md c/lessons/alias/a.md)
    out=$(cd / && "$CO_AGENT" parse --root "$R" "${paths[@]}" 2>&1)
    for rel in "${paths[@]}"; do
        assert_eq "parse $rel: refused (no such regular file below the root)" \
            "false|no such regular file below the root (links are never followed)" \
            "$(jq -r --arg p "$rel" 'select(.path == $p) | "\(.ok)|\(.error)"' <<<"$out" 2>&1)"
    done
    assert_not_contains "parse printed nothing from behind the links" "$TOKEN" "$out"
    # The same files through absolute paths: outside the root once resolved.
    out=$(cd / && "$CO_AGENT" parse --root "$R" "$R/c/lessons/linked-module/a.md" \
        "$R/linked-course/lessons/m1/a.md" 2>&1)
    assert_eq "absolute paths through links to outside: not below the root" "false|true" \
        "$(jq -r '"\(.ok)|\(.error == "not below the root")"' <<<"$out" 2>&1 | sort -u | tr '\n' '|' | sed 's/|$//')"
    assert_not_contains "nothing from behind the links (absolute paths)" "$TOKEN" "$out"
    # The real file itself parses: the refusals are about the links.
    out=$(cd / && "$CO_AGENT" parse --root "$R" c/lessons/m1/a.md 2>&1)
    assert_eq "the file through its real directories parses" "true|inside a" \
        "$(jq -r '"\(.ok)|\(.rows[0].title)"' <<<"$out" 2>&1)"
}

# ==== backfill: a directory exchanged for a link between the listing and the reads =============

# race_tree ROOT OUT AHEAD: course c with AHEAD lessons in lessons/a-first (read first) and 20
# in lessons/m1; OUT holds a course c and a module m1 with the same names, all the token.
race_tree() {
    local R=$1 O=$2 n=$3 i
    rm -rf "$R" "$O"
    lesson "$R/c/COURSE-BRIEF.md" "Course c"
    for ((i = 1; i <= n; i++)); do
        lesson "$R/c/lessons/a-first/aula-1.$i-x.md" "first $i"
    done
    for ((i = 1; i <= 20; i++)); do
        lesson "$R/c/lessons/m1/aula-2.$i-x.md" "INSIDE m1 $i"
    done
    outside_copy "$R/c" "$O/c"
    mkdir -p "$O/m1"
    cp -a "$O/c/lessons/m1/." "$O/m1/"
}

_said() { grep -qx "$2" "$1" 2>/dev/null; }

# swap_race LABEL WHICH: backfill the race tree while swap_dir.py exchanges WHICH (m1: the
# module directory; c: the course directory) for a link the moment the agent has listed it.
swap_race() {
    local label=$1 which=$2 R=$WORK/race/root O=$WORK/race/outside ahead=300 try dir link sw
    local url n_m1 n_first leaked
    for try in 1 2 3; do
        race_tree "$R" "$O" "$ahead"
        if [[ $which == m1 ]]; then
            dir=$R/c/lessons/m1 link=$R/c/lessons/.m1-swap
            ln -s "$O/m1" "$link"
        else
            dir=$R/c link=$R/.c-swap
            ln -s "$O/c" "$link"
        fi
        new_db "race_${which}_$try" || return
        url=$URL
        local swlog=$WORK/swap-$which-$try.log
        "$PY" "$SWAP" after-list "$dir" "$dir" "$link" 60 >"$swlog" 2>&1 &
        sw=$!
        lib_track "$sw"
        if ! wait_until 10 _said "$swlog" armed; then
            fail "$label: swap_dir.py did not arm: $(cat "$swlog")"
            return
        fi
        agent backfill --root "$R" --db "$url" --source links --log-format text
        wait_until 5 _said "$swlog" swapped
        kill -KILL "$sw" 2>/dev/null
        wait "$sw" 2>/dev/null
        if ! _said "$swlog" swapped; then
            fail "$label: the directory was never exchanged: $(cat "$swlog")"
            return
        fi
        n_m1=$(live_under "$url" c/lessons/m1/)
        n_first=$(live_under "$url" c/lessons/a-first/)
        leaked=$(leaks "$url")
        echo "  try $try ($ahead lessons read first): backfill exit $AG_RC; live: $n_m1 of m1's 20, $n_first of a-first's $ahead; rows with the outside token: $leaked"
        # Landed in the window: some file listed before the exchange was read after it (as
        # gone, or, from behind the link, a leak). Else the reads were done: more ahead.
        if [[ $leaked != 0 ]] || { [[ $which == m1 && $n_m1 -lt 20 ]] ||
            [[ $which == c && $((n_m1 + n_first)) -lt $((20 + ahead)) ]]; }; then
            assert_eq "$label: nothing from behind the link reaches a row" 0 "$leaked"
            assert_eq "$label: backfill exit code" 0 "$AG_RC"
            if [[ $which == m1 ]]; then
                assert_eq "$label: the lessons read before the exchange landed" "$ahead" "$n_first"
            fi
            assert_not_contains "$label: no log line names the token" "$TOKEN" "$AG_OUT$AG_ERR"
            return
        fi
        ahead=$((ahead * 4))
    done
    fail "$label: the exchange never landed between the listing and the reads (3 tries)"
}

links_backfill_swapped_directory_not_followed() {
    test_begin "backfill: a directory exchanged for a link while the agent walks"
    swap_race "module directory" m1
    swap_race "course directory" c
}

# ==== watch: a synced directory exchanged for a link ============================================
_live_is() { [[ $(live_under "$URL" "$1") == "$2" ]]; }
_sentinel_is() {
    [[ $(qcmp "$URL" "SELECT title FROM public.contents WHERE slug = 'w2/lessons/aula-1.1-x'") == "$1" ]]
}

links_watch_swapped_directory_not_followed() {
    test_begin "watch: a synced directory exchanged for a link"
    local R=$WORK/watch/root O=$WORK/watch/outside i f
    for ((i = 1; i <= 5; i++)); do
        lesson "$R/w/lessons/m1/aula-1.$i-x.md" "INSIDE w $i"
    done
    lesson "$R/w/COURSE-BRIEF.md" "Course w"
    lesson "$R/w2/lessons/aula-1.1-x.md" "sentinel 0"
    # The lessons directory becomes a link: each file is then reached through a link in a
    # directory component (lessons/ in w/lessons/m1/...), not only in the last one.
    outside_copy "$R/w/lessons" "$O/lessons"
    ln -s "$O/lessons" "$R/w/.lessons-swap"
    new_db watch || return
    start_watch watch "$R" --source links-w
    wait_ready || return
    check "the course's 5 lessons are live" wait_until 15 _live_is w/lessons/ 5

    "$PY" "$SWAP" now "$R/w/lessons" "$R/w/.lessons-swap"
    check "lessons/ exchanged for a link: its lessons are soft-deleted (the directory is gone)" \
        wait_until 20 _live_is w/lessons/ 0
    # Files behind the link change; a file of the tree written after them is the barrier.
    for f in "$O"/lessons/m1/*.md; do
        printf 'more %s\n' "$TOKEN" >>"$f"
    done
    lesson "$R/w2/lessons/aula-1.1-x.md" "sentinel 1"
    check "a later change in the tree syncs" wait_until 20 _sentinel_is "sentinel 1"
    assert_eq "nothing from behind the link reaches a row" 0 "$(leaks "$URL")"
    "$PY" "$SWAP" now "$R/w/lessons" "$R/w/.lessons-swap"
    check "exchanged back: its lessons are live again" wait_until 20 _live_is w/lessons/ 5
    assert_eq "exchanged back: the rows hold the tree's files" "5" \
        "$(qcmp "$URL" "SELECT count(*) FROM public.contents WHERE slug LIKE 'w/lessons/%'
                        AND deleted_at IS NULL AND title LIKE 'INSIDE w %'")"
    assert_eq "still nothing from behind the link" 0 "$(leaks "$URL")"
    check "watch still running" alive "$AG_PID"
    stop_checked watch
    assert_eq "no log line names the token" 0 "$(cat "$AG_LOG" "$AG_ERRF" | grep -c "$TOKEN")"
}

lib_run links_parse_refuses_paths_through_links links_backfill_swapped_directory_not_followed \
    links_watch_swapped_directory_not_followed
lib_finish
