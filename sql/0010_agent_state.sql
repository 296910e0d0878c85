-- 0010_agent_state.sql -- the agent's own bookkeeping, in its own schema (not public).
--
-- file_state holds one row per file the agent has seen under a root: what it looked like
-- when it was last synced (size, mtime, content hash), the module facts of its last good
-- version (module rows are computed from them) and, while the file is rejected, the
-- reason. It is written in the same transaction as the rows it describes, so it can
-- never run ahead of the data.
CREATE SCHEMA IF NOT EXISTS creatoros_agent;

CREATE TABLE IF NOT EXISTS creatoros_agent.file_state (
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

CREATE INDEX IF NOT EXISTS file_state_course_idx
    ON creatoros_agent.file_state (course, kind, module_no);
CREATE INDEX IF NOT EXISTS file_state_error_idx
    ON creatoros_agent.file_state (source) WHERE error IS NOT NULL;

CREATE TABLE IF NOT EXISTS creatoros_agent.sources (
    source       text PRIMARY KEY,
    root         text NOT NULL,
    last_sync_at timestamptz          -- last time a sync of this tree wrote something
);

-- Which source claimed which course: the first to write it. A course claimed by another
-- source is refused (its files rejected, naming that source); nothing is written for it.
CREATE TABLE IF NOT EXISTS creatoros_agent.courses (
    course     text PRIMARY KEY,
    source     text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'creatoros_agent') THEN
        GRANT USAGE ON SCHEMA creatoros_agent TO creatoros_agent;
        GRANT SELECT, INSERT, UPDATE, DELETE ON creatoros_agent.file_state,
            creatoros_agent.sources TO creatoros_agent;
        GRANT SELECT, INSERT ON creatoros_agent.courses TO creatoros_agent;
    END IF;
END $$;
