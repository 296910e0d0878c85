#!/usr/bin/env bash
# make_big_course.sh -- a course of many large lessons, for the byte-budget tests.
#
#   tests/hostile/make_big_course.sh ROOT COURSE FILES BYTES [FRONT-MATTER-LINE]
#
# Writes ROOT/COURSE/COURSE-BRIEF.md and FILES lessons of BYTES bytes each (front-matter
# included) under ROOT/COURSE/lessons/, ten to a module: lesson i has the title BIG-<i> and
# lesson_id "<module>.<lesson>". The bodies are text the database compresses well, so that
# the tests measure the agent rather than the disk; each starts with a line of its own.
# FRONT-MATTER-LINE (e.g. "tags: [big]") is added to every lesson's front-matter.
set -euo pipefail

if [[ $# -lt 4 || $# -gt 5 ]]; then
    echo "usage: $0 ROOT COURSE FILES BYTES [FRONT-MATTER-LINE]" >&2
    exit 2
fi
exec /usr/bin/python3 - "$@" <<'PY'
import os, sys
root, course, files, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
extra = sys.argv[5] + "\n" if len(sys.argv) > 5 else ""
d = os.path.join(root, course)
os.makedirs(os.path.join(d, "lessons"), exist_ok=True)
with open(os.path.join(d, "COURSE-BRIEF.md"), "w") as f:
    f.write('---\ntitle: "Big Course %s"\n---\n# Big Course\n\n%d lessons of %d bytes.\n'
            % (course, files, size))
# ASCII, so that a body cut at any byte is still UTF-8 (the accents are in the heading)
line = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua.\n").encode()
filler = line * (size // len(line) + 1)
for i in range(1, files + 1):
    m, l = (i - 1) // 10 + 1, (i - 1) % 10 + 1
    head = ('---\ntitle: "BIG-%d"\nlesson_id: "%d.%d"\nmodule_name: "Module %d"\n%s---\n'
            '# Lesson %d of %s: ação, lição e coração\n' % (i, m, l, m, extra, i, course)).encode()
    body = head + filler[: max(0, size - len(head))]
    with open(os.path.join(d, "lessons", "aula-%d.%d-big.md" % (m, l)), "wb") as f:
        f.write(body)
PY
