#!/usr/bin/python3
"""latency.py -- paced create latency of a running `creatoros-agent watch`.

    latency.py ROOT DB_URL [--n 200] [--interval-ms 20] [--course zz-probe] [--timeout 60]

Writes a fresh course ROOT/<course>-<run>/ (its brief first; its lessons count once the
project row exists), then N lessons, one every --interval-ms, each through a hidden temp file
renamed into place (as generators and editors write). For each lesson it measures the time
from the rename to the moment its row is visible: an AFTER INSERT trigger on contents, for
the probe course's rows only, pg_notify()s the file path and the probe LISTENs (the trigger
costs the agent's transaction one pg_notify). Trigger and function are dropped at exit.

Prints one line:
    latency op=create write=rename n=200 ok=200 missed=0 p50_ms=.. p99_ms=.. max_ms=..
Exit status 1 when a lesson's row never appeared within --timeout.
"""
import argparse
import math
import os
import select
import sys
import time
import uuid

import psycopg2
import psycopg2.extensions

sys.dont_write_bytecode = True


def pct(vals, q):
    if not vals:
        return float("nan")
    k = max(0, min(len(vals) - 1, math.ceil(q * len(vals)) - 1))
    return vals[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("db")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--interval-ms", type=float, default=20.0)
    ap.add_argument("--course", default="zz-probe")
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()

    run = uuid.uuid4().hex[:8]
    course = "%s-%s" % (a.course, run)
    cdir = os.path.join(a.root, course)
    lessons = os.path.join(cdir, "lessons", "modulo-1")
    chan = "co_probe_%s" % run
    fn = "co_probe_fn_%s" % run

    conn = psycopg2.connect(a.db)
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    cur = conn.cursor()
    cur.execute(
        "CREATE FUNCTION public.%s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_notify('%s', coalesce(NEW.file_path, NEW.slug)); RETURN NEW; END $$" % (fn, chan))
    cur.execute(
        "CREATE TRIGGER %s AFTER INSERT ON public.contents FOR EACH ROW "
        "WHEN (split_part(NEW.slug, '/', 1) = '%s') EXECUTE FUNCTION public.%s()" % (fn, course, fn))
    cur.execute("LISTEN %s" % chan)
    seen = {}

    def drain(wait_s):
        if select.select([conn], [], [], wait_s) == ([], [], []):
            return
        conn.poll()
        now = time.monotonic()
        while conn.notifies:
            n = conn.notifies.pop(0)
            seen.setdefault(os.path.basename(n.payload), now)

    ok = True
    try:
        os.makedirs(lessons)
        with open(os.path.join(cdir, ".brief.tmp"), "w") as f:
            f.write('---\ntitle: "Probe %s"\n---\n# Probe\n' % run)
        os.rename(os.path.join(cdir, ".brief.tmp"), os.path.join(cdir, "COURSE-BRIEF.md"))
        cur.execute("SELECT 1 FROM public.content_projects WHERE slug = %s", (course,))
        deadline = time.monotonic() + a.timeout
        while cur.fetchone() is None:
            if time.monotonic() > deadline:
                print("latency: the probe course never appeared", file=sys.stderr)
                return 1
            time.sleep(0.01)
            cur.execute("SELECT 1 FROM public.content_projects WHERE slug = %s", (course,))
        done = {}
        t_next = time.monotonic()
        for i in range(1, a.n + 1):
            name = "aula-1.%d-probe.md" % i
            tmp = os.path.join(lessons, ".%s.tmp" % name)
            with open(tmp, "w") as f:
                f.write('---\ntitle: "probe %d"\nmodule_name: "Probe"\n---\n# probe %d\n\n%s\n'
                        % (i, i, "texto " * 600))
            os.rename(tmp, os.path.join(lessons, name))
            done[name] = time.monotonic()
            t_next += a.interval_ms / 1000.0
            while True:
                left = t_next - time.monotonic()
                if left <= 0:
                    break
                drain(left)
        deadline = time.monotonic() + a.timeout
        while len([k for k in done if k in seen]) < len(done) and time.monotonic() < deadline:
            drain(0.1)
        lat = sorted((seen[k] - done[k]) * 1000.0 for k in done if k in seen)
        missed = len(done) - len(lat)
        ok = missed == 0
        print("latency op=create write=rename n=%d ok=%d missed=%d p50_ms=%.2f p99_ms=%.2f "
              "max_ms=%.2f" % (len(done), len(lat), missed, pct(lat, 0.5), pct(lat, 0.99),
                               lat[-1] if lat else float("nan")))
    finally:
        cur.execute("DROP TRIGGER IF EXISTS %s ON public.contents" % fn)
        cur.execute("DROP FUNCTION IF EXISTS public.%s()" % fn)
        conn.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
