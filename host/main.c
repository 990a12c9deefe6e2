/*
 * simplix-hub: the command line. Every command is a thin shell over the host modules, so the
 * CLI, the daemon and the tests share one code path.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "app/cli_admin.h"
#include "app/hub.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "db/migrate.h"
#include "marketplace/cli_pkg.h"
#include "marketplace/install.h"
#include "net/http_client.h"
#include "plugin/loader.h"
#include "queue/queue.h"

static const char usage_main[] =
    "Usage: simplix-hub COMMAND [OPTIONS]\n"
    "\n"
    "Connects Simplix organizations to the shops and payment platforms they sell through.\n"
    "\n"
    "Commands:\n"
    "  serve              run the daemon (HTTP front, workers, plugins)\n"
    "  migrate            apply the database migrations that are not applied yet\n"
    "  plugin inspect F   load a connector .so, print its descriptor as JSON or refuse it\n"
    "  plugin list        list the connectors in the plugin folder and why any is refused\n"
    "  keygen FILE        create a master key file for encrypting secrets (mode 0600)\n"
    "  selftest           enqueue jobs and wait until running hubs have run them all\n"
    "  org                create, list and delete organizations\n"
    "  integrations       create, list, pause, resume, connect (OAuth) and test integrations\n"
    "  sync               start sync runs, follow their progress, read the sync logs\n"
    "  events             list and replay received webhook events\n"
    "  token              create, list and revoke admin API tokens (create prints it once)\n"
    "  marketplace        build, sign, index and verify connector packages\n"
    "  openapi            print the admin API's OpenAPI 3.1 document\n"
    "  version            print the hub and SDK ABI versions\n"
    "\n"
    "Run `simplix-hub COMMAND --help` for a command's options. serve and migrate take settings\n"
    "from a config file (--config), then the environment (DATABASE_URL, SX_LISTEN,\n"
    "SX_PLUGIN_DIR, SX_PUBLIC_URL, SX_MASTER_KEY_FILE, SX_WORKERS, SX_LOG_LEVEL, ...), then\n"
    "flags; the other commands read the environment. See docs/OPERATIONS.md.\n";

static const char usage_serve[] =
    "Usage: simplix-hub serve [OPTIONS]\n"
    "\n"
    "Run the daemon until SIGTERM or SIGINT, then stop gracefully: stop accepting, let running\n"
    "jobs finish (up to 10 s; the rest go back to the queue for another hub), close.\n"
    "\n"
    "  -c, --config FILE       config file (key = value lines; see docs/OPERATIONS.md)\n"
    "  -d, --database-url URL  PostgreSQL connection URL            [DATABASE_URL]\n"
    "  -l, --listen HOST:PORT  address to serve on; port 0 = any free port [SX_LISTEN]\n"
    "  -p, --plugins DIR       folder of connector .so files        [SX_PLUGIN_DIR]\n"
    "  -u, --public-url URL    URL platforms use to reach this hub  [SX_PUBLIC_URL]\n"
    "  -k, --master-key FILE   master key file for secrets          [SX_MASTER_KEY_FILE]\n"
    "  -w, --workers N         worker threads (0 = serve, run no jobs) [SX_WORKERS]\n"
    "  -r, --ready-file FILE   write {\"url\":...,\"pid\":...} once listening [SX_READY_FILE]\n"
    "      --log-level LEVEL   error | warn | info | debug          [SX_LOG_LEVEL]\n"
    "      --log-format FMT    json | text                          [SX_LOG_FORMAT]\n"
    "  -h, --help              this text\n"
    "\n"
    "Endpoints: GET /healthz (process, database, queue), GET /metrics (Prometheus).\n";

static const char usage_migrate[] =
    "Usage: simplix-hub migrate [OPTIONS]\n"
    "\n"
    "Apply every migration not applied yet, in order, each in its own transaction. Safe to run\n"
    "from several hosts at once. Refuses when an applied migration file was changed.\n"
    "\n"
    "  -c, --config FILE       config file\n"
    "  -d, --database-url URL  PostgreSQL connection URL [DATABASE_URL]\n"
    "  -m, --dir DIR           migrations folder [SX_MIGRATIONS_DIR; found automatically]\n"
    "  -h, --help              this text\n";

static const char usage_plugin[] =
    "Usage: simplix-hub plugin inspect FILE.so\n"
    "       simplix-hub plugin list [-p DIR]\n"
    "\n"
    "inspect loads the connector the way the daemon does (ABI version, struct sizes, required\n"
    "callbacks, id = file name) and prints its descriptor as JSON; a refused file prints one\n"
    "sentence saying why and exits 1.\n"
    "list does the same for every .so in the plugin folder [SX_PLUGIN_DIR].\n";

static const char usage_keygen[] =
    "Usage: simplix-hub keygen FILE [--id KEYID]\n"
    "\n"
    "Create a master key file (32 random bytes, base64, mode 0600) used to encrypt secrets\n"
    "at rest with AES-256-GCM. Refuses to overwrite an existing file. Point the hub at it with\n"
    "SX_MASTER_KEY_FILE. KEYID (default k1) names the key for rotation.\n";

static const char usage_selftest[] =
    "Usage: simplix-hub selftest [-d URL] [-n JOBS] [-t SECONDS]\n"
    "\n"
    "Enqueue JOBS (default 100) hub.selftest jobs and wait (default 60 s) until the running\n"
    "hubs have run every one; prints how many each worker ran and whether any ran twice.\n";

static int
die_usage(const char *usage)
{
    fputs(usage, stderr);
    return 2;
}

static int
want_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

/* Config: defaults -> file -> env -> flags. Flags are applied by the caller afterwards. */
static int
load_config(struct hub_config *cfg, const char *file, struct hub_error *err)
{
    int rc;

    hub_config_defaults(cfg);
    if (file != NULL) {
        rc = hub_config_load_file(cfg, file, err);
        if (rc < 0)
            return rc;
    }
    return hub_config_load_env(cfg, err);
}

static int
fail_err(const struct hub_error *err)
{
    fprintf(stderr, "simplix-hub: %s\n", err->msg);
    return 1;
}

/* ---- serve ------------------------------------------------------------------------------------- */

/* Keep the database URL and its password out of every log line. */
static void
redact_database_password(const char *url)
{
    PQconninfoOption *opts, *o;

    hub_log_redact_add(url, strlen(url));
    opts = PQconninfoParse(url, NULL);
    if (opts == NULL)
        return;
    for (o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
            hub_log_redact_add(o->val, strlen(o->val));
    }
    PQconninfoFree(opts);
}

static int
cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "database-url", required_argument, NULL, 'd' },
        { "listen", required_argument, NULL, 'l' },
        { "plugins", required_argument, NULL, 'p' },
        { "public-url", required_argument, NULL, 'u' },
        { "master-key", required_argument, NULL, 'k' },
        { "workers", required_argument, NULL, 'w' },
        { "ready-file", required_argument, NULL, 'r' },
        { "log-level", required_argument, NULL, 'L' },
        { "log-format", required_argument, NULL, 'F' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    static const char *keys[128];
    struct hub        *hub;
    struct hub_error   err;
    const char        *cfgfile = NULL;
    const char        *vals[128];
    int                flags[128];
    int                n = 0, c, i, rc;

    keys['d'] = "database_url";
    keys['l'] = "listen";
    keys['p'] = "plugin_dir";
    keys['u'] = "public_url";
    keys['k'] = "master_key_file";
    keys['w'] = "workers";
    keys['r'] = "ready_file";
    keys['L'] = "log_level";
    keys['F'] = "log_format";

    while ((c = getopt_long(argc, argv, "c:d:l:p:u:k:w:r:h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_serve, stdout);
            return 0;
        }
        if (c == 'c') {
            cfgfile = optarg;
            continue;
        }
        if (c < 0 || c >= 128 || keys[c] == NULL || n >= 128)
            return die_usage(usage_serve);
        flags[n] = c;
        vals[n++] = optarg;
    }
    if (optind < argc)
        return die_usage(usage_serve);

    hub = calloc(1, sizeof(*hub));
    if (hub == NULL)
        return 1;
    rc = load_config(&hub->cfg, cfgfile, &err);
    for (i = 0; rc == 0 && i < n; i++)
        rc = hub_config_set(&hub->cfg, keys[flags[i]], vals[i], "command line", &err);
    if (rc == 0)
        rc = hub_config_finish(&hub->cfg, &err);
    if (rc < 0) {
        free(hub);
        return fail_err(&err);
    }
    hub_log_set_level(hub->cfg.log_level);
    hub_log_set_json(hub->cfg.log_json);
    redact_database_password(hub->cfg.database_url);

    rc = hub_http_global_init(&err);
    if (rc < 0) {
        free(hub);
        return fail_err(&err);
    }
    rc = hub_run(hub, &err);
    if (rc != 0)
        hub_log_error("hub", "%s", err.msg);
    hub_http_global_cleanup();
    hub_log_redact_clear();
    free(hub);
    return rc;
}

/* ---- migrate ----------------------------------------------------------------------------------- */

static int
cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "database-url", required_argument, NULL, 'd' },
        { "dir", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct hub_config cfg;
    struct hub_error  err;
    struct hub_db     db;
    const char       *cfgfile = NULL, *url = NULL, *dir = NULL;
    int               c, rc, applied = 0;

    while ((c = getopt_long(argc, argv, "c:d:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cfgfile = optarg; break;
        case 'd': url = optarg; break;
        case 'm': dir = optarg; break;
        case 'h': fputs(usage_migrate, stdout); return 0;
        default:  return die_usage(usage_migrate);
        }
    }
    if (optind < argc)
        return die_usage(usage_migrate);
    if (load_config(&cfg, cfgfile, &err) < 0)
        return fail_err(&err);
    hub_log_set_level(cfg.log_level);
    hub_log_set_json(cfg.log_json);
    if (url != NULL && hub_config_set(&cfg, "database_url", url, "command line", &err) < 0)
        return fail_err(&err);
    if (cfg.database_url[0] == '\0') {
        fprintf(stderr, "simplix-hub: no database: set DATABASE_URL or pass --database-url\n");
        return 1;
    }
    if (dir == NULL)
        dir = cfg.migrations_dir[0] ? cfg.migrations_dir : hub_migrations_dir();
    if (dir == NULL) {
        fprintf(stderr, "simplix-hub: cannot find the migrations folder: set SX_MIGRATIONS_DIR\n");
        return 1;
    }
    if (hub_db_connect(&db, cfg.database_url, &err) < 0)
        return fail_err(&err);
    rc = hub_migrate(&db, dir, &applied, &err);
    hub_db_close(&db);
    if (rc < 0)
        return fail_err(&err);
    printf("migrations: %d applied from %s\n", applied, dir);
    return 0;
}

/* ---- plugin ------------------------------------------------------------------------------------ */

static int
cmd_plugin_inspect(const char *path)
{
    struct hub_plugin *p;
    struct hub_error   err;
    struct hub_buf     b;

    if (hub_plugin_load(path, NULL, &p, &err) < 0) {
        fprintf(stderr, "simplix-hub: refused %s\n", err.msg);
        return 1;
    }
    hub_buf_init(&b, 1 << 20);
    if (hub_plugin_describe_json(p, &b) < 0) {
        fprintf(stderr, "simplix-hub: %s: descriptor too large to print\n", path);
        hub_buf_free(&b);
        hub_plugin_unload(p);
        return 1;
    }
    printf("%s\n", b.data);
    hub_buf_free(&b);
    hub_plugin_unload(p);
    return 0;
}

static int
cmd_plugin_list(const char *dir)
{
    struct hub_plugins reg;
    struct hub_plugin *p;
    struct hub_error   err;
    size_t             loaded = 0, refused = 0;

    /* Refusals are logged by the loader, one sentence each, on stderr. */
    hub_log_set_json(0);
    hub_plugins_init(&reg);
    if (hub_plugins_load_dir(&reg, dir, &loaded, &refused, &err) < 0) {
        hub_plugins_destroy(&reg);
        return fail_err(&err);
    }
    for (p = reg.head; p != NULL; p = p->next)
        printf("%-16s %-10s %-20s %s\n", p->id, p->desc.version,
               hub_auth_kind_name(p->desc.auth_kind), p->desc.display_name);
    printf("%zu loaded, %zu refused, from %s\n", loaded, refused, dir);
    hub_plugins_destroy(&reg);
    return refused > 0 ? 1 : 0;
}

static int
cmd_plugin(int argc, char **argv)
{
    struct hub_config cfg;
    struct hub_error  err;
    const char       *dir;

    if (argc < 2 || want_help(argc, argv)) {
        fputs(usage_plugin, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "inspect") == 0) {
        if (argc != 3)
            return die_usage(usage_plugin);
        return cmd_plugin_inspect(argv[2]);
    }
    if (strcmp(argv[1], "list") == 0) {
        if (load_config(&cfg, NULL, &err) < 0)
            return fail_err(&err);
        dir = cfg.plugin_dir;
        if (argc == 4 && (strcmp(argv[2], "-p") == 0 || strcmp(argv[2], "--plugins") == 0))
            dir = argv[3];
        else if (argc != 2)
            return die_usage(usage_plugin);
        return cmd_plugin_list(dir);
    }
    return die_usage(usage_plugin);
}

/* ---- keygen ------------------------------------------------------------------------------------ */

static int
cmd_keygen(int argc, char **argv)
{
    struct hub_error err;
    const char      *id = "k1";

    if (want_help(argc, argv)) {
        fputs(usage_keygen, stdout);
        return 0;
    }
    if (argc == 4 && strcmp(argv[2], "--id") == 0)
        id = argv[3];
    else if (argc != 2)
        return die_usage(usage_keygen);
    if (hub_crypto_generate_keyfile(argv[1], id, NULL, &err) < 0)
        return fail_err(&err);
    printf("master key %s written to %s (mode 0600)\n", id, argv[1]);
    return 0;
}

/* ---- selftest ---------------------------------------------------------------------------------- */

static int
cmd_selftest(int argc, char **argv)
{
    struct hub_config   cfg;
    struct hub_error    err;
    struct hub_db       db;
    struct hub_job_spec spec;
    PGresult           *res = NULL;
    const char         *url = NULL;
    long                jobs = 100, wait_s = 60, i;
    char                since[64];
    const char         *params[1];
    time_t              deadline;
    int                 c, rc;

    if (want_help(argc, argv)) {
        fputs(usage_selftest, stdout);
        return 0;
    }
    optind = 1;
    while ((c = getopt(argc, argv, "d:n:t:h")) != -1) {
        switch (c) {
        case 'd': url = optarg; break;
        case 'n': jobs = strtol(optarg, NULL, 10); break;
        case 't': wait_s = strtol(optarg, NULL, 10); break;
        case 'h': fputs(usage_selftest, stdout); return 0;
        default:  return die_usage(usage_selftest);
        }
    }
    if (jobs < 1 || jobs > 1000000 || wait_s < 1 || wait_s > 86400)
        return die_usage(usage_selftest);
    if (load_config(&cfg, NULL, &err) < 0)
        return fail_err(&err);
    if (url != NULL && hub_config_set(&cfg, "database_url", url, "command line", &err) < 0)
        return fail_err(&err);
    if (hub_db_connect(&db, cfg.database_url, &err) < 0)
        return fail_err(&err);
    rc = hub_db_query(&db, "SELECT coalesce(max(id), 0) FROM jobs", 0, NULL, &res, &err);
    if (rc < 0)
        goto out;
    snprintf(since, sizeof(since), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    for (i = 0; i < jobs; i++) {
        memset(&spec, 0, sizeof(spec));
        spec.kind = HUB_JOB_SELFTEST;
        rc = hub_queue_enqueue(&db, &spec, NULL, NULL, &err);
        if (rc < 0)
            goto out;
    }
    printf("enqueued %ld %s jobs; waiting up to %ld s\n", jobs, HUB_JOB_SELFTEST, wait_s);
    params[0] = since;
    deadline = time(NULL) + wait_s;
    for (;;) {
        rc = hub_db_query(&db, "SELECT count(*) FILTER (WHERE status = 'done'), count(*) "
                          "FROM jobs WHERE id > $1 AND kind = 'hub.selftest'", 1, params, &res,
                          &err);
        if (rc < 0)
            goto out;
        if (strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) == 0)
            break;
        if (time(NULL) > deadline) {
            rc = hub_error_set(&err, HUB_E_TRANSIENT, "only %s of %s jobs done after %ld s: is a "
                               "hub with workers running?", PQgetvalue(res, 0, 0),
                               PQgetvalue(res, 0, 1), wait_s);
            goto out;
        }
        PQclear(res);
        res = NULL;
        usleep(200 * 1000);
    }
    PQclear(res);
    rc = hub_db_query(&db, "SELECT r.worker_id, count(*), count(*) - count(DISTINCT r.job_id) "
                      "FROM hub_selftest_runs r WHERE r.job_id > $1 GROUP BY 1 ORDER BY 1", 1,
                      params, &res, &err);
    if (rc < 0)
        goto out;
    for (i = 0; i < PQntuples(res); i++)
        printf("  %-40s ran %s\n", PQgetvalue(res, (int)i, 0), PQgetvalue(res, (int)i, 1));
    PQclear(res);
    rc = hub_db_query(&db, "SELECT count(*), count(DISTINCT job_id) FROM hub_selftest_runs "
                      "WHERE job_id > $1", 1, params, &res, &err);
    if (rc < 0)
        goto out;
    printf("%s runs of %s distinct jobs\n", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    if (strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) != 0)
        rc = hub_error_set(&err, HUB_E_CONFLICT, "some jobs ran more than once");
out:
    PQclear(res);
    hub_db_close(&db);
    if (rc < 0)
        return fail_err(&err);
    return 0;
}

/* ---- marketplace ------------------------------------------------------------------------------- */

/* Each handler returns HUB_CLI_NOT_MINE for a sub-command it does not know; then the usage. */
static int
cmd_marketplace(int argc, char **argv)
{
    int rc;

    rc = hub_cli_marketplace_tools(argc, argv);
    if (rc != HUB_CLI_NOT_MINE)
        return rc;
    rc = hub_cli_marketplace_admin(argc, argv);
    if (rc != 2)
        return rc;
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        fputs(hub_cli_marketplace_usage, stdout);
        return 0;
    }
    if (argc >= 2)
        fprintf(stderr, "simplix-hub: unknown marketplace command \"%s\"\n\n", argv[1]);
    return die_usage(hub_cli_marketplace_usage);
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        return die_usage(usage_main);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("simplix-hub %s (connector SDK ABI %u.%u)\n", SX_HUB_VERSION, SX_ABI_MAJOR,
               SX_ABI_MINOR);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "migrate") == 0)
        return cmd_migrate(argc - 1, argv + 1);
    if (strcmp(argv[1], "plugin") == 0)
        return cmd_plugin(argc - 1, argv + 1);
    if (strcmp(argv[1], "keygen") == 0)
        return cmd_keygen(argc - 1, argv + 1);
    if (strcmp(argv[1], "selftest") == 0)
        return cmd_selftest(argc - 1, argv + 1);
    if (strcmp(argv[1], "org") == 0 || strcmp(argv[1], "integrations") == 0 ||
        strcmp(argv[1], "sync") == 0 || strcmp(argv[1], "events") == 0)
        return hub_cli_admin(argc - 1, argv + 1);
    if (strcmp(argv[1], "token") == 0)
        return hub_cli_tokens(argc - 1, argv + 1);
    if (strcmp(argv[1], "marketplace") == 0)
        return cmd_marketplace(argc - 1, argv + 1);
    if (strcmp(argv[1], "openapi") == 0) {
        /* The admin API's OpenAPI 3.1 document, as GET /api/v1/openapi.json serves it. */
        printf("%s\n", hub_api_openapi_json());
        return 0;
    }
    fprintf(stderr, "simplix-hub: unknown command \"%s\"\n\n", argv[1]);
    return die_usage(usage_main);
}
