/* adopt.c -- an existing CreatorOS database: what the agent needs, its known holes, the way back.
 */
#include "persist/adopt.h"

#include <stdlib.h>
#include <string.h>

#include "persist/adopt_sql.h"
#include "persist/plain.h"

/* The relations CreatorOS and the agent share; 0 of them present makes a fresh database. */
static const char SQL_SHARED[] =
    "SELECT count(*) FROM unnest(ARRAY['public.minds', 'public.user_profiles', 'public.tags', "
    "  'public.audience_profiles', 'public.content_projects', 'public.contents', "
    "  'public.content_minds', 'public.content_tags', 'public.v_contents_with_creators']) r "
    "WHERE pg_catalog.to_regclass(r) IS NOT NULL";

/* sql/adopt/check.sql and sql/adopt/holes.sql (persist/adopt_sql.h) say what they ask. */

static const char SQL_RECORD_CHANGE[] =
    "INSERT INTO creatoros_agent.changes (made_by, kind, description, undo) "
    "VALUES ('harden', $1, $2, $3)";

/* The agent's objects, one line each; the record of changes adds its lines (adopt_inventory). */
static const char SQL_INVENTORY[] =
    "SELECT 'role creatoros_agent' FROM pg_catalog.pg_roles WHERE rolname = 'creatoros_agent' "
    "UNION ALL "
    "SELECT 'schema creatoros_agent' "
    "WHERE pg_catalog.to_regnamespace('creatoros_agent') IS NOT NULL "
    "UNION ALL "
    "SELECT * FROM (SELECT format('%s creatoros_agent.%I', CASE c.relkind WHEN 'r' THEN 'table' "
    "  WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' ELSE 'relation' END, "
    "  c.relname) "
    "FROM pg_catalog.pg_class c "
    "WHERE c.relnamespace = pg_catalog.to_regnamespace('creatoros_agent') "
    "ORDER BY c.relkind DESC, c.relname) t "
    "UNION ALL "
    "SELECT * FROM (SELECT format('function creatoros_agent.%I(%s)', p.proname, "
    "  pg_catalog.pg_get_function_identity_arguments(p.oid)) "
    "FROM pg_catalog.pg_proc p "
    "WHERE p.pronamespace = pg_catalog.to_regnamespace('creatoros_agent') "
    "ORDER BY p.proname) f";
static const char SQL_HAS_CHANGES[] =
    "SELECT pg_catalog.to_regclass('creatoros_agent.changes') IS NOT NULL";
static const char SQL_CHANGES[] =
    "SELECT description FROM creatoros_agent.changes WHERE kind <> 'role' ORDER BY id";
static const char SQL_UNDO[] =
    "SELECT kind, description, undo FROM creatoros_agent.changes ORDER BY id DESC";
static const char SQL_DROP_SCHEMA[] = "DROP SCHEMA creatoros_agent CASCADE";
/* The role goes last, in a savepoint: another database of the cluster may still use it. */
static const char SQL_DROP_ROLE[] =
    "SAVEPOINT co_revert_role; DROP ROLE creatoros_agent; RELEASE SAVEPOINT co_revert_role";
static const char SQL_KEEP_ROLE[] = "ROLLBACK TO SAVEPOINT co_revert_role";

int
adopt_count_shared(PGconn *conn, int *present, struct err *err)
{
    PGresult *res = plain_query(conn, SQL_SHARED, 0, NULL,
                                "migrate: cannot look for the CreatorOS tables", err);

    if (res == NULL) {
        return -1;
    }
    *present = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int
adopt_check(PGconn *conn, struct migrate_report *report, struct err *err)
{
    PGresult *res = plain_query(conn, adopt_sql_check, 0, NULL,
                                "migrate: cannot check the existing tables", err);
    int n;

    if (res == NULL) {
        return -1;
    }
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        migrate_report_add(report, MIGRATE_LINE_PROBLEM, "%s", PQgetvalue(res, i, 0));
    }
    PQclear(res);
    return n;
}

int
adopt_holes(PGconn *conn, bool fix, struct migrate_report *report, struct err *err)
{
    PGresult *res = plain_query(conn, adopt_sql_holes, 0, NULL,
                                "migrate: cannot look for the known holes", err);
    const char *last = "";
    char what[128];
    int rc = -1;

    if (res == NULL) {
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *hole = PQgetvalue(res, i, 0);
        const char *change = PQgetvalue(res, i, 3);
        const char *values[3] = {PQgetvalue(res, i, 6), change, PQgetvalue(res, i, 5)};

        if (strcmp(hole, last) != 0) {
            migrate_report_add(report, MIGRATE_LINE_HOLE, "%s: %s; fix: %s", hole,
                               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
            report->holes++;
            last = hole;
        }
        if (!fix) {
            continue;
        }
        snprintf(what, sizeof(what), "migrate --harden, %s", hole);
        if (plain_command(conn, PQgetvalue(res, i, 4), 0, NULL, what, err) < 0 ||
            plain_command(conn, SQL_RECORD_CHANGE, 3, values, what, err) < 0) {
            goto out;
        }
        migrate_report_add(report, MIGRATE_LINE_CHANGED, "%s", change);
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* Append every row's first column to out, one line each. */
static void
add_lines(const PGresult *res, struct strbuf *out)
{
    for (int i = 0; i < PQntuples(res); i++) {
        strbuf_addstr(out, PQgetvalue(res, i, 0));
        strbuf_addch(out, '\n');
    }
}

int
adopt_inventory(PGconn *conn, struct strbuf *out, struct err *err)
{
    const char *what = "migrate: cannot list the agent's objects";
    PGresult *res = plain_query(conn, SQL_INVENTORY, 0, NULL, what, err);
    int rc = -1;

    if (res == NULL) {
        return -1;
    }
    add_lines(res, out);
    PQclear(res);
    if ((res = plain_query(conn, SQL_HAS_CHANGES, 0, NULL, what, err)) == NULL) {
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        PQclear(res);
        if ((res = plain_query(conn, SQL_CHANGES, 0, NULL, what, err)) == NULL) {
            goto out;
        }
        add_lines(res, out);
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

int
adopt_revert(PGconn *conn, struct migrate_report *report, struct err *err)
{
    PGresult *res =
        plain_query(conn, SQL_UNDO, 0, NULL, "migrate --revert: cannot read the changes", err);
    bool drop_role = false;
    char what[ERR_MSG_MAX];
    int rc = -1;

    if (res == NULL) {
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *description = PQgetvalue(res, i, 1);

        if (strcmp(PQgetvalue(res, i, 0), "role") == 0) {
            drop_role = true;
            continue;
        }
        snprintf(what, sizeof(what), "migrate --revert, %s", description);
        if (plain_command(conn, PQgetvalue(res, i, 2), 0, NULL, what, err) < 0) {
            goto out;
        }
        migrate_report_add(report, MIGRATE_LINE_REMOVED, "%s", description);
    }
    if (plain_command(conn, SQL_DROP_SCHEMA, 0, NULL, "migrate --revert, schema creatoros_agent",
                      err) < 0) {
        goto out;
    }
    migrate_report_add(report, MIGRATE_LINE_REMOVED,
                       "schema creatoros_agent (the file state, the claims of courses, the record "
                       "of migrations and changes, the policies' functions)");
    if (drop_role) {
        PGresult *drop = PQexec(conn, SQL_DROP_ROLE);

        if (PQresultStatus(drop) == PGRES_COMMAND_OK) {
            migrate_report_add(report, MIGRATE_LINE_REMOVED, "role creatoros_agent");
        } else {
            const char *why = PQresultErrorField(drop, PG_DIAG_MESSAGE_PRIMARY);
            migrate_report_add(report, MIGRATE_LINE_NOTE,
                               "kept role creatoros_agent (%s); drop it once no database uses it",
                               why != NULL ? why : "it cannot be dropped");
            if (plain_command(conn, SQL_KEEP_ROLE, 0, NULL, "migrate --revert", err) < 0) {
                PQclear(drop);
                goto out;
            }
        }
        PQclear(drop);
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}
