/* main.c -- creatoros-agent: keeps PostgreSQL in step with a tree of generated course files. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "agent/cmd.h"
#include "agent/log.h"
#include "agent/options.h"
#include "common/strbuf.h"
#include "persist/conninfo.h"
#include "persist/pg.h"
#include "persist/pgversion.h"

/*
 * A URL given on the command line shows in the process title (/proc/PID/cmdline, ps)
 * for every local user: keep a private copy and blank every secret in argv itself, as
 * written (password = x, password='a b', sslpassword=x&password=y, a URL's user
 * information or query), whether libpq can parse the string or not.
 */
static char *
hide_password(struct config *cfg, int argc, char **argv)
{
    struct conninfo_span spans[16];
    char *copy;

    if (cfg->db_url == NULL) {
        return NULL;
    }
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (cfg->db_url < argv[i] || cfg->db_url > argv[i] + n) {
            continue;
        }
        copy = xstrdup(cfg->db_url);
        size_t found = conninfo_secret_spans(copy, spans, 16);
        char *at = argv[i] + (cfg->db_url - argv[i]);
        for (size_t k = 0; k < found && k < 16; k++) {
            memset(at + spans[k].off, '*', spans[k].len);
        }
        cfg->db_url = copy;
        return copy;
    }
    return NULL;
}

static void
add_secret_cb(void *arg, const char *form)
{
    (void)arg;
    log_add_secret(form);
}

/* Every form of every secret the agent holds is blanked in whatever it logs or prints:
 * libpq quotes connection strings in some of its errors. */
static void
register_secrets(const struct config *cfg)
{
    conninfo_secret_forms(cfg->db_url, add_secret_cb, NULL);
    conninfo_value_forms(getenv("PGPASSWORD"), add_secret_cb, NULL);
}

static void
print_version(void)
{
    char libpq[PGVERSION_TEXT_MAX];

    printf("creatoros-agent %s\nlibpq %s\nlibyaml %s\ncJSON %s\n", CO_VERSION,
           pgversion_lib(libpq, sizeof(libpq)), yaml_get_version_string(), cJSON_Version());
}

int
main(int argc, char **argv)
{
    struct config cfg;
    struct err err;
    /* What the binary prints instead of running a verb. Hidden but --version: the README's
     * option table, the man page and the bash completion, all printed from the one option
     * table (the build writes the last two; a test checks the first). */
    static const struct {
        const char *flag;
        void (*print)(void);
    } printers[] = {{"--version", print_version},
                    {"--help-markdown", options_markdown},
                    {"--help-man", options_man},
                    {"--help-bash-completion", options_bash_completion}};
    static const struct {
        enum verb verb;
        int (*run)(const struct config *cfg);
    } commands[] = {{VERB_WATCH, cmd_watch},
                    {VERB_BACKFILL, cmd_backfill},
                    {VERB_MIGRATE, cmd_migrate},
                    {VERB_STATUS, cmd_status},
                    {VERB_PARSE, cmd_parse}};
    enum verb verb;
    int rc;

    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        options_help(0);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(printers) / sizeof(printers[0]); i++) {
        if (strcmp(argv[1], printers[i].flag) == 0) {
            printers[i].print();
            return 0;
        }
    }
    verb = options_verb(argv[1]);
    if (verb == 0) {
        fprintf(stderr, "creatoros-agent: unknown verb \"%s\" (see --help)\n", argv[1]);
        return 2;
    }
    rc = options_parse(&cfg, verb, argc - 2, argv + 2, &err);
    if (rc != 0) {
        free(cfg.files);
        if (rc > 0) {
            return 0;
        }
        fprintf(stderr, "creatoros-agent %s: %s\n", argv[1], err.msg);
        return 2;
    }
    /*
     * From here on the process holds the connection string (argv, the environment, libpq's
     * copy): no core dump, and no ptrace or /proc/PID/mem by another process of the same
     * user. The systemd unit also sets LimitCORE=0.
     */
    if ((verb & VERB_DB) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        fprintf(stderr, "creatoros-agent: cannot mark the process not dumpable\n");
        free(cfg.files);
        return 2;
    }
    char *db_url = hide_password(&cfg, argc, argv);
    register_secrets(&cfg);
    if (log_open(cfg.log_file, cfg.log_format, cfg.log_level) != 0) {
        log_print(stderr, "creatoros-agent: cannot open log file %s; logging to stderr\n",
                  cfg.log_file);
    }
    rc = 2;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].verb == verb) {
            rc = commands[i].run(&cfg);
        }
    }
    log_close();
    log_forget_secrets();
    free(cfg.files);
    if (db_url != NULL) {
        memset(db_url, 0, strlen(db_url));
        free(db_url);
    }
    return rc;
}
