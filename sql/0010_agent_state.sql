-- 0010_agent_state.sql -- the agent's own bookkeeping, in its own schema (not public).
--
-- Migrations from 0010 on hold what the agent itself needs and run on every database: a fresh
-- one after 0001-0003, and an existing CreatorOS database, which keeps its own schema. Nothing
-- here touches the app's objects.
--
-- file_state holds one row per file the agent has seen under a root: what it looked like
-- when it was last synced (size, mtime, content hash), the module facts of its last good
-- version (module rows are computed from them) and, while the file is rejected, the
-- reason. It is written in the same transaction as the rows it describes, so it can
-- never run ahead of the data.
CREATE SCHEMA IF NOT EXISTS creatoros_agent;

CREATE TABLE creatoros_agent.file_state (
    source       text        NOT NULL,  -- one tree: --source, default <hostname>:<root>
    path         text        NOT NULL,  -- relative to the root
    course       text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('brief', 'lesson')),
    size         bigint      NOT NULL,
    mtime_ns     bigint      NOT NULL,
    hash         bigint      NOT NULL,
    module_no    bigint,
    lesson_no    bigint,
    module_title text,
    error        text,                  -- why the file is rejected; NULL when synced
    error_at     timestamptz,
    synced_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, path)
);

CREATE INDEX file_state_course_idx
    ON creatoros_agent.file_state (course, kind, module_no);
CREATE INDEX file_state_error_idx
    ON creatoros_agent.file_state (source) WHERE error IS NOT NULL;

CREATE TABLE creatoros_agent.sources (
    source       text PRIMARY KEY,
    root         text NOT NULL,
    last_sync_at timestamptz          -- last time a sync of this tree wrote something
);

-- Which source claimed which course: the first writer wins, and a course claimed by another
-- source is refused, naming that source. A claim is inserted in the course's transaction
-- before any row of the course is written; the agent role's policies (0011) let it write only
-- the projects, audience profiles and contents of claimed courses.
CREATE TABLE creatoros_agent.courses (
    course     text PRIMARY KEY,
    source     text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);

-- What migrate changed outside this schema (policies, grants and an index on the app's tables,
-- the role) and what `migrate --harden` changed, each with the SQL that takes it back:
-- `migrate --revert` runs the undo statements newest first, then drops this schema.
-- Written and read by the migrating administrator only.
CREATE TABLE creatoros_agent.changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    made_at     timestamptz NOT NULL DEFAULT now(),
    made_by     text NOT NULL CHECK (made_by IN ('migrate', 'harden')),
    kind        text NOT NULL CHECK (kind IN ('role', 'grant', 'policy', 'index', 'rls', 'view',
                                              'privileges', 'function')),
    description text NOT NULL,
    undo        text NOT NULL
);
