/* test_cli.c -- options, environment, help, version, and what may never be printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/cmd.h"
#include "agent/log.h"
#include "agent/options.h"
#include "agent/queue.h"
#include "parser/record.h"
#include "persist/conninfo.h"
#include "persist/pg.h"
#include "testutil.h"

/* A writable argv (the -Wwrite-strings safe way). Free with argv_free. */
static char **
argv_dup(const char *const *src, int n)
{
    char **v = calloc((size_t)n + 1, sizeof(char *));

    for (int i = 0; i < n; i++) {
        v[i] = strdup(src[i]);
    }
    return v;
}

static void
argv_free(char **v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

#define ARGV(name, ...)                                                                            \
    static const char *const name##_src[] = {__VA_ARGS__};                                         \
    const int name##_n = (int)(sizeof(name##_src) / sizeof(name##_src[0]));                        \
    char **name = argv_dup(name##_src, name##_n)

static void
test_defaults(void **state)
{
    struct config cfg;
    struct err err;
    char *argv[1] = {NULL};

    (void)state;
    unsetenv("CREATOROS_ROOT");
    unsetenv("SUPABASE_DB_URL");
    unsetenv("DATABASE_URL");
    unsetenv("CREATOR_OS_DB_PERSIST");
    assert_int_equal(options_parse(&cfg, VERB_WATCH, 0, argv, &err), 0);
    assert_string_equal(cfg.root, "outputs/courses");
    assert_null(cfg.db_url);
    assert_int_equal(cfg.settle_ms, 100);
    assert_int_equal(cfg.rescan_interval_s, 60);
    assert_int_equal(cfg.max_file_bytes, 8 << 20);
    /* the defaults are the constants the code uses */
    assert_int_equal(cfg.settle_ms, QUEUE_DEFAULT_SETTLE_MS);
    assert_int_equal(cfg.queue_limit, QUEUE_DEFAULT_LIMIT);
    assert_int_equal(cfg.rescan_interval_s, CMD_DEFAULT_RESCAN_INTERVAL_S);
    assert_int_equal(cfg.statement_timeout_ms, PG_DEFAULT_STATEMENT_TIMEOUT_MS);
    assert_int_equal(cfg.max_file_bytes, (long)PARSE_DEFAULT_MAX_FILE_BYTES);
    assert_null(cfg.metrics_file);
    assert_false(cfg.dry_run);
    free(cfg.files);
}

static void
test_environment_then_flags(void **state)
{
    struct config cfg;
    struct err err;
    ARGV(argv, "--settle-ms", "250", "--db=postgresql:///flag", "--dry-run");

    (void)state;
    setenv("CREATOROS_ROOT", "/srv/env-root", 1);
    setenv("CREATOROS_SETTLE_MS", "5", 1);
    setenv("DATABASE_URL", "postgresql:///database-url", 1);
    assert_int_equal(options_parse(&cfg, VERB_WATCH, 4, argv, &err), 0);
    assert_string_equal(cfg.root, "/srv/env-root");
    assert_int_equal(cfg.settle_ms, 250); /* the command line wins */
    assert_string_equal(cfg.db_url, "postgresql:///flag");
    assert_true(cfg.dry_run);
    free(cfg.files);

    /* SUPABASE_DB_URL before DATABASE_URL; CREATOR_OS_DB_PERSIST=false is a dry run */
    setenv("SUPABASE_DB_URL", "postgresql:///supabase", 1);
    setenv("CREATOR_OS_DB_PERSIST", "false", 1);
    assert_int_equal(options_parse(&cfg, VERB_BACKFILL, 0, argv, &err), 0);
    assert_string_equal(cfg.db_url, "postgresql:///supabase");
    assert_true(cfg.dry_run);
    assert_int_equal(cfg.connections, 2);
    free(cfg.files);
    unsetenv("CREATOROS_ROOT");
    unsetenv("CREATOROS_SETTLE_MS");
    unsetenv("DATABASE_URL");
    unsetenv("SUPABASE_DB_URL");
    unsetenv("CREATOR_OS_DB_PERSIST");
    argv_free(argv, argv_n);
}

static void
test_errors_name_the_option(void **state)
{
    struct config cfg;
    struct err err;
    ARGV(bad_number, "--settle-ms", "soon");
    ARGV(unknown, "--settle-ms", "5");
    ARGV(missing, "--root");
    ARGV(bad_format, "--log-format", "xml");
    ARGV(bad_encoding, "--fallback-encoding", "NO-SUCH-CHARSET");
    ARGV(zero_rescan, "--rescan-interval", "0");

    (void)state;
    assert_int_equal(options_parse(&cfg, VERB_WATCH, 2, bad_number, &err), -1);
    assert_non_null(strstr(err.msg, "--settle-ms"));
    free(cfg.files);
    /* --settle-ms is watch's, not backfill's */
    assert_int_equal(options_parse(&cfg, VERB_BACKFILL, 2, unknown, &err), -1);
    assert_non_null(strstr(err.msg, "unknown option --settle-ms"));
    free(cfg.files);
    assert_int_equal(options_parse(&cfg, VERB_WATCH, 1, missing, &err), -1);
    assert_non_null(strstr(err.msg, "needs a value"));
    free(cfg.files);
    assert_int_equal(options_parse(&cfg, VERB_WATCH, 2, bad_format, &err), -1);
    assert_non_null(strstr(err.msg, "text or json"));
    free(cfg.files);
    argv_free(bad_number, bad_number_n);
    argv_free(unknown, unknown_n);
    argv_free(missing, missing_n);
    argv_free(bad_format, bad_format_n);
    assert_int_equal(options_parse(&cfg, VERB_BACKFILL, 2, bad_encoding, &err), -1);
    assert_non_null(strstr(err.msg, "unknown encoding \"NO-SUCH-CHARSET\""));
    free(cfg.files);
    argv_free(bad_encoding, bad_encoding_n);
    /* 0 would rescan the tree continuously: refused at start, naming the range */
    assert_int_equal(options_parse(&cfg, VERB_WATCH, 2, zero_rescan, &err), -1);
    assert_non_null(strstr(err.msg, "--rescan-interval"));
    assert_non_null(strstr(err.msg, "1 to 86400"));
    free(cfg.files);
    argv_free(zero_rescan, zero_rescan_n);
}

static void
test_parse_files(void **state)
{
    struct config cfg;
    struct err err;
    ARGV(argv, "a.md", "--root", "r", "--", "--odd.md");
    ARGV(none, "--root", "r");

    (void)state;
    assert_int_equal(options_parse(&cfg, VERB_PARSE, 5, argv, &err), 0);
    assert_int_equal(cfg.nfiles, 2);
    assert_string_equal(cfg.files[0], "a.md");
    assert_string_equal(cfg.files[1], "--odd.md");
    assert_string_equal(cfg.root, "r");
    free(cfg.files);
    assert_int_equal(options_parse(&cfg, VERB_PARSE, 2, none, &err), -1);
    free(cfg.files);
    argv_free(argv, argv_n);
    argv_free(none, none_n);
}

static void
test_password_never_printed(void **state)
{
    static const char *const urls[] = {
        "postgresql://agent:S3cretPa55@db.example.supabase.co:5432/postgres?sslmode=require",
        "postgres://agent:S3cretPa55@host/db",
        "host=localhost user=agent password=S3cretPa55 dbname=x",
        "postgresql://agent@host/db?password=S3cretPa55&sslmode=require",
    };
    size_t off, len;

    (void)state;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        char *shown = conninfo_redact(urls[i]);
        assert_null(strstr(shown, "S3cretPa55"));
        free(shown);
        assert_true(conninfo_password_span(urls[i], &off, &len));
        assert_int_equal(len, strlen("S3cretPa55"));
        assert_memory_equal(urls[i] + off, "S3cretPa55", len);
    }
    assert_false(conninfo_password_span("postgresql://agent@host/db", &off, &len));
    char *shown = conninfo_redact(urls[0]);
    assert_string_equal(shown,
                        "postgresql://agent@db.example.supabase.co:5432/postgres?sslmode=require");
    free(shown);
}

/*
 * Every form a secret takes, table-driven: where it is written (the process title is blanked
 * there) and every form a message may quote (libpq's own parse errors included, which quote
 * the string or the token they choke on). Each secret must show in neither.
 */
struct secret_case {
    const char *conninfo;
    const char *secrets[3]; /* as written, decoded: none may show anywhere */
};

static const struct secret_case secret_cases[] = {
    /* libpq quotes the bad token, and a broken IPv6 address quotes the whole URL */
    {"postgresql://u:S3CRETpw%zz@h/db", {"S3CRETpw%zz"}},
    {"postgresql://u:Pw1S3cret@[::1/db", {"Pw1S3cret"}},
    /* key/value forms that a naive scan misses: spaces, quotes, sslpassword first */
    {"host=h password = Pw2S3cret dbname=d", {"Pw2S3cret"}},
    {"host=h password='a b Pw3' dbname=d", {"a b Pw3"}},
    {"host=h password='it\\'s Pw4' dbname=d", {"it\\'s Pw4", "it's Pw4"}},
    {"postgresql://h/db?sslpassword=Ssl5S3cret&password=Pw5S3cret", {"Ssl5S3cret", "Pw5S3cret"}},
    {"sslpassword=Ssl6S3cret password=Pw6S3cret host=h", {"Ssl6S3cret", "Pw6S3cret"}},
    /* a password in a URL's query; userinfo with '@' and ':' percent-encoded */
    {"postgresql://u@h/db?password=Pw7S3cret&sslmode=require", {"Pw7S3cret"}},
    {"postgresql://u:Pw8%40S3%3Acret@h/db", {"Pw8%40S3%3Acret", "Pw8@S3:cret"}},
    {"postgresql://u:Pw9S3cr%2fet@h/db?password=Qw9S3cret", {"Pw9S3cr%2fet", "Pw9S3cr/et"}},
    /* strings libpq refuses: the scan still finds the secret */
    {"host=h password=Pw10S3cret bogus=1", {"Pw10S3cret"}},
    {"host=h password='Pw11 S3cret", {"Pw11 S3cret"}},
    {"postgresql://h/db?password=Pw12%zzS3", {"Pw12%zzS3"}},
    {"postgresql://u:Pw13S3cret@h:notaport/db", {"Pw13S3cret"}},
};

static void
collect_form(void *arg, const char *form)
{
    (void)arg;
    log_add_secret(form);
}

static void
test_secrets_every_form(void **state)
{
    char *dir = tu_mkdtemp("co-secrets");
    char path[512];

    (void)state;
    snprintf(path, sizeof(path), "%s/log", dir);
    for (size_t i = 0; i < sizeof(secret_cases) / sizeof(secret_cases[0]); i++) {
        const struct secret_case *c = &secret_cases[i];
        struct conninfo_span spans[8];
        char *title = strdup(c->conninfo);
        char *errmsg = NULL;

        /* the process title: every secret blanked where it is written */
        size_t n = conninfo_secret_spans(title, spans, 8);
        assert_true(n >= 1);
        for (size_t k = 0; k < n && k < 8; k++) {
            memset(title + spans[k].off, '*', spans[k].len);
        }
        /* messages: libpq's own, and every way one may quote the string */
        conninfo_secret_forms(c->conninfo, collect_form, NULL);
        assert_int_equal(log_open(path, LOG_JSON, LOG_DEBUG), 0);
        PQconninfoOption *o = PQconninfoParse(c->conninfo, &errmsg);
        log_kv(LOG_ERROR, errmsg != NULL ? errmsg : "parsed", "error",
               errmsg != NULL ? errmsg : c->conninfo, "url", c->conninfo);
        for (size_t k = 0; k < 3 && c->secrets[k] != NULL; k++) {
            log_kv(LOG_WARN, c->secrets[k], "quoted", c->secrets[k]);
        }
        log_close();
        FILE *f = fopen(path, "a");
        assert_non_null(f);
        log_print(f, "creatoros-agent: %s\n", c->conninfo);
        fclose(f);
        PQconninfoFree(o);
        PQfreemem(errmsg);
        log_forget_secrets();
        char *out = tu_read(path, NULL);
        assert_non_null(out);
        for (size_t k = 0; k < 3 && c->secrets[k] != NULL; k++) {
            if (strstr(out, c->secrets[k]) != NULL || strstr(title, c->secrets[k]) != NULL) {
                fail_msg("case %zu (%s): \"%s\" shows in\n  title: %s\n  log: %s", i, c->conninfo,
                         c->secrets[k], title, out);
            }
        }
        assert_non_null(strstr(out, "***"));
        unlink(path);
        free(out);
        free(title);
    }
    tu_rmtree(dir);
    free(dir);
}

/* A statement whose parameters exceed one protocol message is refused before it is sent, as
 * a data error (the server would close the connection: an outage to the caller). */
static void
test_message_too_large_is_a_data_error(void **state)
{
    struct pg_opts o = {.url = "postgresql://u@127.0.0.1:1/x"};
    struct pg *pg = pg_create(&o);
    static const char none[1] = "";
    const char *values[2] = {none, none};
    int lengths[2] = {0x20000000, 0x20000000}; /* 512 MiB each: never read, only counted */
    int formats[2] = {1, 1};
    struct pg_call call = {0, 2, values, lengths, formats};
    struct err err;

    (void)state;
    assert_int_equal(pg_send_calls(pg, &call, 1, true, &err), PG_DATA);
    assert_non_null(strstr(err.msg, "above the"));
    assert_non_null(strstr(err.msg, "one protocol message"));
    lengths[0] = lengths[1] = 1000; /* small: it would be sent, but there is no connection */
    assert_int_equal(pg_send_calls(pg, &call, 1, true, &err), PG_TRANSIENT);
    pg_destroy(pg);
}

/* Run the binary; returns its exit status and its output in out (free()). */
static int
run(const char *args, char **out)
{
    char cmd[1024];
    FILE *p;
    size_t n = 0, cap = 65536;

    snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", CO_BINARY, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    *out = calloc(1, cap);
    n = fread(*out, 1, cap - 1, p);
    (*out)[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_binary_help_and_version(void **state)
{
    static const char *const verbs[] = {"watch", "backfill", "migrate", "status", "parse"};
    char *out;

    (void)state;
    assert_int_equal(run("--version", &out), 0);
    assert_non_null(strstr(out, "creatoros-agent "));
    assert_non_null(strstr(out, "libpq "));
    assert_non_null(strstr(out, "libyaml "));
    assert_non_null(strstr(out, "cJSON "));
    free(out);
    assert_int_equal(run("--help", &out), 0);
    for (size_t i = 0; i < 5; i++) {
        assert_non_null(strstr(out, verbs[i]));
    }
    free(out);
    for (size_t i = 0; i < 5; i++) {
        char args[64];
        snprintf(args, sizeof(args), "%s --help", verbs[i]);
        assert_int_equal(run(args, &out), 0);
        assert_non_null(strstr(out, "usage: creatoros-agent"));
        assert_non_null(strstr(out, "--log-format"));
        free(out);
    }
    assert_int_equal(run("frobnicate", &out), 2);
    assert_non_null(strstr(out, "unknown verb"));
    free(out);
    /* a password in --db never comes back, even in an error */
    assert_int_equal(
        run("status --root /tmp --db postgresql://u:S3cretPa55@127.0.0.1:1/x --connect-retry 0",
            &out),
        2);
    assert_null(strstr(out, "S3cretPa55"));
    assert_non_null(strstr(out, "postgresql://u@127.0.0.1:1/x"));
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_environment_then_flags),
        cmocka_unit_test(test_errors_name_the_option),
        cmocka_unit_test(test_parse_files),
        cmocka_unit_test(test_password_never_printed),
        cmocka_unit_test(test_secrets_every_form),
        cmocka_unit_test(test_message_too_large_is_a_data_error),
        cmocka_unit_test(test_binary_help_and_version),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
