/*
 * Everyday administration from the command line: organizations, integrations, sync runs and
 * their logs. The same functions the daemon uses (queue, sync engine, sealed secrets), on a
 * database connection of the command's own; a running hub does the work.
 */
#include "app/cli_admin.h"
#include "core/config.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "plugin/hostapi.h"
#include "queue/queue.h"
#include "sync/engine.h"
#include "net/http_client.h"
#include "oauth/oauth.h"
#include "webhook/webhook.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_org[] =
    "Usage: simplix-hub org create NAME\n"
    "       simplix-hub org list\n"
    "       simplix-hub org delete ID     the organization and everything synced for it\n";

static const char usage_integrations[] =
    "Usage: simplix-hub integrations create --org ID --platform CONNECTOR --name NAME\n"
    "           [--config JSON] [--settings JSON] [--secret KEY=VALUE]... [--active]\n"
    "       simplix-hub integrations list [--org ID]\n"
    "       simplix-hub integrations set-status ID ACTIVE|PAUSED\n"
    "       simplix-hub integrations connect ID     print the OAuth authorize URL to open\n"
    "       simplix-hub integrations test ID        one authenticated call to the platform\n"
    "       simplix-hub integrations subscribe ID   (re)register its webhooks now (the hubs do it\n"
    "                                               on connect and every subscribe_interval_s)\n"
    "\n"
    "--config is the connector's settings object ({\"shop_domain\":...}); --settings the sync\n"
    "settings ({\"entities\":[\"customer\",\"product\",\"order\"],\"directions\":{\"customer\":\n"
    "[\"import\",\"export\"]},\"interval_s\":900}); each --secret is sealed with the master key\n"
    "(SX_MASTER_KEY_FILE) and never printed. --active marks the integration ACTIVE at once\n"
    "(for API keys and pasted tokens; OAuth integrations become ACTIVE on their callback).\n";

static const char usage_sync[] =
    "Usage: simplix-hub sync start INTEGRATION --entity customer|product|order\n"
    "           [--mode full|incremental|reconcile|sweep] [--wait SECONDS]\n"
    "       simplix-hub sync export INTEGRATION [--wait SECONDS]\n"
    "       simplix-hub sync logs INTEGRATION [--limit N]\n"
    "\n"
    "start enqueues a run for the running hubs; --wait follows its progress (records, pages,\n"
    "rate) until it ends. --mode sweep lists every id the platform still has and marks\n"
    "deleted the mapped records it lacks (connectors with list_ids, e.g. PrestaShop). logs\n"
    "prints the integration's sync log, newest first.\n";

static int
fail(const struct hub_error *err)
{
    fprintf(stderr, "simplix-hub: %s\n", err->msg);
    return 1;
}

static int
connect_db(struct hub_db *db, struct hub_error *err)
{
    struct hub_config cfg;
    int               rc;

    hub_config_defaults(&cfg);
    rc = hub_config_load_env(&cfg, err);
    if (rc < 0)
        return rc;
    if (cfg.database_url[0] == '\0')
        return hub_error_set(err, HUB_E_CONFIG, "no database: set DATABASE_URL");
    return hub_db_connect(db, cfg.database_url, err);
}

static int
parse_id(const char *s, int64_t *out)
{
    char     *end;
    long long v = strtoll(s, &end, 10);

    if (end == s || *end != '\0' || v <= 0)
        return -1;
    *out = v;
    return 0;
}

/* ---- org ------------------------------------------------------------------------------------- */

static int
cmd_org(int argc, char **argv)
{
    struct hub_db    db;
    struct hub_error err;
    PGresult        *res = NULL;
    const char      *p[1];
    int              i, rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_org, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (connect_db(&db, &err) < 0)
        return fail(&err);
    if (strcmp(argv[1], "create") == 0 && argc == 3) {
        p[0] = argv[2];
        rc = hub_db_query(&db, "INSERT INTO organizations (name) VALUES ($1) RETURNING id", 1, p,
                          &res, &err);
        if (rc == 0)
            printf("%s\n", PQgetvalue(res, 0, 0));
    } else if (strcmp(argv[1], "delete") == 0 && argc == 3) {
        p[0] = argv[2];
        rc = hub_db_query(&db, "DELETE FROM organizations WHERE id = $1::bigint", 1, p, &res,
                          &err);
        if (rc == 0 && strcmp(PQcmdTuples(res), "1") != 0)
            rc = hub_error_set(&err, HUB_E_NOT_FOUND, "no organization %s", argv[2]);
    } else if (strcmp(argv[1], "list") == 0 && argc == 2) {
        rc = hub_db_query(&db, "SELECT id, name FROM organizations ORDER BY id", 0, NULL, &res,
                          &err);
        for (i = 0; rc == 0 && i < PQntuples(res); i++)
            printf("%-8s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    } else {
        hub_db_close(&db);
        fputs(usage_org, stderr);
        return 2;
    }
    PQclear(res);
    hub_db_close(&db);
    return rc < 0 ? fail(&err) : 0;
}

/* ---- integrations ----------------------------------------------------------------------------- */

static int
integrations_create(int argc, char **argv)
{
    struct hub_crypto_keyring keys;
    struct hub_db             db;
    struct hub_error          err;
    PGresult                 *res = NULL;
    const char               *org = NULL, *platform = NULL, *name = NULL;
    const char               *config = "{}", *settings = "{}", *status = "PENDING_AUTH";
    const char               *secrets[32], *p[6];
    int64_t                   id = 0;
    int                       i, n_secrets = 0, rc;

    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--active") == 0) {
            status = "ACTIVE";
            continue;
        }
        if (v == NULL)
            goto usage;
        if (strcmp(a, "--org") == 0)
            org = v;
        else if (strcmp(a, "--platform") == 0)
            platform = v;
        else if (strcmp(a, "--name") == 0)
            name = v;
        else if (strcmp(a, "--config") == 0)
            config = v;
        else if (strcmp(a, "--settings") == 0)
            settings = v;
        else if (strcmp(a, "--secret") == 0 && n_secrets < 32 && strchr(v, '=') != NULL)
            secrets[n_secrets++] = v;
        else
            goto usage;
        i++;
    }
    if (org == NULL || platform == NULL || name == NULL)
        goto usage;

    memset(&keys, 0, sizeof(keys));
    if (n_secrets > 0 && hub_crypto_keyring_load(&keys, NULL, &err) < 0) {
        hub_error_prefix(&err, "secrets need the master key (SX_MASTER_KEY_FILE)");
        return fail(&err);
    }
    if (connect_db(&db, &err) < 0) {
        hub_crypto_keyring_wipe(&keys);
        return fail(&err);
    }
    rc = hub_db_begin(&db, &err);
    p[0] = org;
    p[1] = platform;
    p[2] = name;
    p[3] = config;
    p[4] = settings;
    p[5] = status;
    if (rc == 0)
        rc = hub_db_query(&db, "INSERT INTO integrations (organization_id, platform, name, config, "
                          "sync_settings, status, auth_type) VALUES ($1, $2, $3, $4::jsonb, "
                          "$5::jsonb, $6, 'none') RETURNING id", 6, p, &res, &err);
    if (rc == 0) {
        id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        for (i = 0; rc == 0 && i < n_secrets; i++) {
            const char *eq = strchr(secrets[i], '=');
            char        key[201];

            snprintf(key, sizeof(key), "%.*s", (int)(eq - secrets[i]), secrets[i]);
            rc = hub_secret_store(&db, &keys, id, key, eq + 1, strlen(eq + 1), &err);
        }
    }
    if (rc == 0)
        rc = hub_db_commit(&db, &err);
    else
        hub_db_rollback(&db);
    PQclear(res);
    hub_db_close(&db);
    hub_crypto_keyring_wipe(&keys);
    if (rc < 0)
        return fail(&err);
    printf("%" PRId64 "\n", id);
    return 0;
usage:
    fputs(usage_integrations, stderr);
    return 2;
}

/* A connector runtime of the command's own: HTTP client, a process-local limiter, the keys
 * and the plugins of the plugin folder. */
struct cli_rt {
    struct hub_config         cfg;
    struct hub_crypto_keyring keys;
    struct hub_plugins        plugins;
    struct hub_runtime        rt;
};

static int
cli_rt_open(struct cli_rt *c, struct hub_error *err)
{
    size_t loaded = 0, refused = 0;
    int    rc;

    memset(c, 0, sizeof(*c));
    hub_config_defaults(&c->cfg);
    hub_plugins_init(&c->plugins);
    rc = hub_config_load_env(&c->cfg, err);
    if (rc == 0)
        rc = hub_config_finish(&c->cfg, err);
    if (rc == 0)
        rc = hub_crypto_keyring_load(&c->keys, c->cfg.master_key_file[0] ?
                                     c->cfg.master_key_file : NULL, err);
    if (rc == 0)
        rc = hub_http_global_init(err);
    if (rc == 0)
        rc = hub_http_client_new(NULL, &c->rt.http, err);
    if (rc == 0)
        rc = hub_rate_registry_new(NULL, NULL, &c->rt.rates, err);
    if (rc == 0)
        rc = hub_plugins_load_dir(&c->plugins, c->cfg.plugin_dir, &loaded, &refused, err);
    c->rt.keys = &c->keys;
    return rc;
}

static void
cli_rt_close(struct cli_rt *c)
{
    hub_plugins_destroy(&c->plugins);
    if (c->rt.rates != NULL)
        hub_rate_registry_free(c->rt.rates);
    if (c->rt.http != NULL)
        hub_http_client_free(c->rt.http);
    hub_http_global_cleanup();
    hub_crypto_keyring_wipe(&c->keys);
    hub_log_redact_clear();
}

static int
integrations_connect_or_test(struct hub_db *db, const char *what, int64_t id,
                             struct hub_error *err)
{
    struct cli_rt        c;
    struct hub_instance *inst = NULL;
    PGresult            *res = NULL;
    char                 ids[24], *url = NULL;
    const char          *p[1] = { ids };
    int                  rc;

    snprintf(ids, sizeof(ids), "%" PRId64, id);
    rc = cli_rt_open(&c, err);
    if (rc == 0 && strcmp(what, "connect") == 0) {
        /* The default (derived from the listen address) is rarely what the platform reaches:
         * the redirect URI must be said explicitly. */
        if (getenv("SX_PUBLIC_URL") == NULL || getenv("SX_PUBLIC_URL")[0] == '\0')
            rc = hub_error_set(err, HUB_E_CONFIG, "set SX_PUBLIC_URL: the platform redirects the "
                               "browser to <public_url>/oauth/callback");
        else
            rc = hub_oauth_start(db, &c.rt, &c.plugins, id, c.cfg.public_url, &url, err);
        if (rc == 0)
            printf("%s\n", url);
        free(url);
    } else if (rc == 0) {
        rc = hub_db_query(db, "SELECT platform, config::text FROM integrations WHERE id = $1 "
                          "AND deleted_at IS NULL", 1, p, &res, err);
        if (rc == 0 && PQntuples(res) == 0)
            rc = hub_error_set(err, HUB_E_NOT_FOUND, "no integration %s", ids);
        if (rc == 0)
            rc = hub_instance_open(&c.rt, &c.plugins, PQgetvalue(res, 0, 0), id,
                                   PQgetvalue(res, 0, 1), NULL, db, &inst, err);
        if (rc == 0)
            rc = hub_instance_test_connection(inst, db, err);
        if (rc == 0 && strcmp(PQgetvalue(res, 0, 0), "woocommerce") == 0)
            rc = hub_oauth_woo_store_save(db, c.rt.keys, id, NULL, err);
        if (rc == 0)
            printf("integration %s: connection ok\n", ids);
        hub_instance_close(inst);
        PQclear(res);
    }
    cli_rt_close(&c);
    return rc;
}

static int
cmd_integrations(int argc, char **argv)
{
    struct hub_db    db;
    struct hub_error err;
    PGresult        *res = NULL;
    const char      *p[2];
    int              i, rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_integrations, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "create") == 0)
        return integrations_create(argc, argv);
    if (connect_db(&db, &err) < 0)
        return fail(&err);
    if (strcmp(argv[1], "list") == 0 && (argc == 2 || (argc == 4 && !strcmp(argv[2], "--org")))) {
        p[0] = argc == 4 ? argv[3] : NULL;
        rc = hub_db_query(&db, "SELECT id, organization_id, platform, status, name, "
                          "coalesce(to_char(last_success_at, 'YYYY-MM-DD HH24:MI:SS'), '-'), "
                          "coalesce(last_error_message, '') FROM integrations WHERE deleted_at IS "
                          "NULL AND ($1::bigint IS NULL OR organization_id = $1::bigint) ORDER BY id",
                          1, p, &res, &err);
        if (rc == 0)
            printf("%-6s %-6s %-12s %-13s %-24s %-19s %s\n", "ID", "ORG", "PLATFORM", "STATUS",
                   "NAME", "LAST SUCCESS", "LAST ERROR");
        for (i = 0; rc == 0 && i < PQntuples(res); i++)
            printf("%-6s %-6s %-12s %-13s %-24.24s %-19s %s\n", PQgetvalue(res, i, 0),
                   PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                   PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6));
    } else if ((strcmp(argv[1], "connect") == 0 || strcmp(argv[1], "test") == 0) && argc == 3) {
        int64_t id;

        if (parse_id(argv[2], &id) < 0) {
            hub_db_close(&db);
            fputs(usage_integrations, stderr);
            return 2;
        }
        rc = integrations_connect_or_test(&db, argv[1], id, &err);
    } else if (strcmp(argv[1], "subscribe") == 0 && argc == 3) {
        struct hub_job_spec spec;
        char                payload[64], key[64];
        int64_t             id, job = 0;

        if (parse_id(argv[2], &id) < 0) {
            hub_db_close(&db);
            fputs(usage_integrations, stderr);
            return 2;
        }
        snprintf(payload, sizeof(payload), "{\"integration_id\":%" PRId64 "}", id);
        snprintf(key, sizeof(key), "webhook:subscribe:%" PRId64, id);
        memset(&spec, 0, sizeof(spec));
        spec.kind = HUB_JOB_WEBHOOK_SUBSCRIBE;
        spec.payload = payload;
        spec.dedupe_key = key;
        spec.integration_id = id;
        spec.max_attempts = 5;
        rc = hub_queue_enqueue(&db, &spec, &job, NULL, &err);
        if (rc == 0)
            printf("enqueued %s job %" PRId64 " for integration %" PRId64 "\n",
                   HUB_JOB_WEBHOOK_SUBSCRIBE, job, id);
    } else if (strcmp(argv[1], "set-status") == 0 && argc == 4 &&
               (strcmp(argv[3], "ACTIVE") == 0 || strcmp(argv[3], "PAUSED") == 0)) {
        p[0] = argv[2];
        p[1] = argv[3];
        rc = hub_db_query(&db, "UPDATE integrations SET status = $2 WHERE id = $1 AND deleted_at "
                          "IS NULL", 2, p, &res, &err);
        if (rc == 0 && strcmp(PQcmdTuples(res), "1") != 0)
            rc = hub_error_set(&err, HUB_E_NOT_FOUND, "no integration %s", argv[2]);
    } else {
        hub_db_close(&db);
        fputs(usage_integrations, stderr);
        return 2;
    }
    PQclear(res);
    hub_db_close(&db);
    return rc < 0 ? fail(&err) : 0;
}

/* ---- sync ------------------------------------------------------------------------------------- */

/* Follow the newest log of (integration, entity, direction) started after `since` until it ends
 * or `wait_s` passes. Prints progress lines. Returns 0 COMPLETED, 1 otherwise. */
static int
follow(struct hub_db *db, const char *ids, const char *entity, const char *direction,
       const char *since, long wait_s, int64_t job)
{
    const char *p[4] = { ids, entity, direction, since };
    char        jobs[24];
    const char *pj[1] = { jobs };

    snprintf(jobs, sizeof(jobs), "%" PRId64, job);
    time_t      deadline = time(NULL) + wait_s;
    long long   last_processed = -1;
    struct hub_error err;

    for (;;) {
        PGresult *res = NULL;
        int       done = 0, ok = 0;

        if (hub_db_query(db, "SELECT status, processed, created, updated, skipped, failed, "
                         "conflicts, pages, extract(epoch FROM coalesce(finished_at, now()) - "
                         "started_at)::float8, id, deleted FROM integration_sync_logs WHERE integration_id = $1 "
                         "AND entity = $2 AND direction = $3 AND id > $4::bigint "
                         "ORDER BY id DESC LIMIT 1", 4, p, &res, &err) < 0) {
            fprintf(stderr, "simplix-hub: %s\n", err.msg);
            return 1;
        }
        if (PQntuples(res) == 1) {
            long long processed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
            double    secs = strtod(PQgetvalue(res, 0, 8), NULL);

            if (processed != last_processed || strcmp(PQgetvalue(res, 0, 0), "RUNNING") != 0) {
                printf("  run %s %-9s %lld processed (%s created, %s updated, %s deleted, "
                       "%s unchanged, %s failed, %s conflicts), %s pages, %.1f s, %.0f records/s\n",
                       PQgetvalue(res, 0, 9), PQgetvalue(res, 0, 0), processed,
                       PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 10),
                       PQgetvalue(res, 0, 4),
                       PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 7), secs,
                       secs > 0 ? (double)processed / secs : 0.0);
                fflush(stdout);
                last_processed = processed;
            }
            done = strcmp(PQgetvalue(res, 0, 0), "RUNNING") != 0;
            ok = strcmp(PQgetvalue(res, 0, 0), "COMPLETED") == 0;
        }
        PQclear(res);
        if (done)
            return ok ? 0 : 1;
        /* A job that found nothing to do writes no log: its own end is the answer. */
        res = NULL;
        if (job > 0 && hub_db_query(db, "SELECT status, coalesce(last_error, '') FROM jobs WHERE "
                                    "id = $1", 1, pj, &res, &err) == 0 && PQntuples(res) == 1 &&
            (strcmp(PQgetvalue(res, 0, 0), "done") == 0 ||
             strcmp(PQgetvalue(res, 0, 0), "dead") == 0)) {
            int dead = strcmp(PQgetvalue(res, 0, 0), "dead") == 0;

            if (last_processed < 0)
                printf("  job %" PRId64 " %s%s%s\n", job, dead ? "dead: " : "done: nothing to "
                       "sync", dead ? PQgetvalue(res, 0, 1) : "", "");
            PQclear(res);
            if (last_processed >= 0)
                continue;          /* a log exists: read its final state on the next pass */
            return dead ? 1 : 0;
        }
        PQclear(res);
        if (time(NULL) > deadline) {
            fprintf(stderr, "simplix-hub: still running after %ld s (is a hub with workers "
                    "serving this database?)\n", wait_s);
            return 1;
        }
        usleep(250 * 1000);
    }
}

static int
cmd_sync(int argc, char **argv)
{
    struct hub_db    db;
    struct hub_error err;
    PGresult        *res = NULL;
    const char      *entity = NULL, *mode = "incremental", *p[2];
    char             since[24] = "0";
    int64_t          id, job = 0;
    long             wait_s = 0, limit = 20;
    int              i, rc = 0;

    if (argc < 3 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_sync, argc < 3 && !(argc == 2 && argv[1][0] == '-') ? stderr : stdout);
        return argc < 2 || argv[1][0] != '-' ? 2 : 0;
    }
    if (parse_id(argv[2], &id) < 0) {
        fputs(usage_sync, stderr);
        return 2;
    }
    for (i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--entity") == 0)
            entity = argv[i + 1];
        else if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
        else if (strcmp(argv[i], "--wait") == 0)
            wait_s = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--limit") == 0)
            limit = strtol(argv[i + 1], NULL, 10);
        else
            break;
    }
    if (i < argc || wait_s < 0 || wait_s > 86400 || limit < 1 || limit > 1000) {
        fputs(usage_sync, stderr);
        return 2;
    }
    if (connect_db(&db, &err) < 0)
        return fail(&err);
    p[0] = argv[2];
    if (strcmp(argv[1], "start") == 0 || strcmp(argv[1], "export") == 0) {
        const char *direction = strcmp(argv[1], "start") == 0 ? "import" : "export";

        if (strcmp(argv[1], "start") == 0 && entity == NULL) {
            hub_db_close(&db);
            fputs(usage_sync, stderr);
            return 2;
        }
        if (hub_db_query(&db, "SELECT coalesce(max(id), 0) FROM integration_sync_logs", 0, NULL,
                         &res, &err) == 0)
            snprintf(since, sizeof(since), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        res = NULL;
        rc = strcmp(direction, "import") == 0 ?
             hub_sync_enqueue_import(&db, id, entity, mode, &job, &err) :
             hub_sync_enqueue_export(&db, id, &job, &err);
        if (rc == 0) {
            printf("enqueued %s job %" PRId64 " for integration %" PRId64 "%s%s\n",
                   strcmp(direction, "import") != 0 ? HUB_JOB_SYNC_EXPORT :
                   mode != NULL && strcmp(mode, "sweep") == 0 ? HUB_JOB_SYNC_SWEEP :
                   HUB_JOB_SYNC_IMPORT,
                   job, id, entity ? " " : "", entity ? entity : "");
            fflush(stdout);
            if (wait_s > 0)
                rc = follow(&db, argv[2], strcmp(direction, "import") == 0 ? entity : "*",
                            direction, since, wait_s, job) == 0 ? 0 : 1;
            hub_db_close(&db);
            return rc;
        }
    } else if (strcmp(argv[1], "logs") == 0) {
        char lim[24];

        snprintf(lim, sizeof(lim), "%ld", limit);
        p[1] = lim;
        rc = hub_db_query(&db, "SELECT id, to_char(started_at, 'YYYY-MM-DD HH24:MI:SS'), entity, "
                          "direction, type, status, processed, created, updated, skipped, failed, "
                          "conflicts, pages, coalesce(duration_ms::text, '-'), "
                          "left(error_details::text, 200), deleted FROM integration_sync_logs "
                          "WHERE integration_id = $1 ORDER BY id DESC LIMIT $2::int", 2, p, &res,
                          &err);
        if (rc == 0)
            printf("%-6s %-19s %-8s %-6s %-11s %-9s %8s %7s %7s %7s %7s %6s %5s %5s %8s  %s\n",
                   "RUN", "STARTED (UTC)", "ENTITY", "DIR", "TYPE", "STATUS", "PROCESSD",
                   "CREATED", "UPDATED", "DELETED", "SKIPPED", "FAILED", "CONFL", "PAGES", "MS",
                   "DETAILS");
        for (i = 0; rc == 0 && i < PQntuples(res); i++)
            printf("%-6s %-19s %-8s %-6s %-11s %-9s %8s %7s %7s %7s %7s %6s %5s %5s %8s  %s\n",
                   PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                   PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
                   PQgetvalue(res, i, 6), PQgetvalue(res, i, 7), PQgetvalue(res, i, 8),
                   PQgetvalue(res, i, 15), PQgetvalue(res, i, 9), PQgetvalue(res, i, 10), PQgetvalue(res, i, 11),
                   PQgetvalue(res, i, 12), PQgetvalue(res, i, 13),
                   strcmp(PQgetvalue(res, i, 14), "[]") == 0 ? "" : PQgetvalue(res, i, 14));
    } else {
        hub_db_close(&db);
        fputs(usage_sync, stderr);
        return 2;
    }
    PQclear(res);
    hub_db_close(&db);
    return rc < 0 ? fail(&err) : 0;
}

static const char usage_events[] =
    "Usage: simplix-hub events replay (--event ID | --integration ID | --org ID)\n"
    "           [--since RFC3339] [--until RFC3339]\n"
    "       simplix-hub events list INTEGRATION [--status PENDING|PROCESSING|PROCESSED|FAILED]\n"
    "\n"
    "replay puts the matching webhook events back to PENDING (attempts reset); the running\n"
    "hubs process them again, in order of arrival.\n";

static int
cmd_events(int argc, char **argv)
{
    struct hub_webhook_filter f;
    struct hub_db             db;
    struct hub_error          err;
    PGresult                 *res = NULL;
    int64_t                   n = 0;
    int                       i, rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_events, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (connect_db(&db, &err) < 0)
        return fail(&err);
    if (strcmp(argv[1], "replay") == 0) {
        memset(&f, 0, sizeof(f));
        for (i = 2; i + 1 < argc; i += 2) {
            int64_t id = 0;

            if (strcmp(argv[i], "--since") == 0) {
                f.since = argv[i + 1];
                continue;
            }
            if (strcmp(argv[i], "--until") == 0) {
                f.until = argv[i + 1];
                continue;
            }
            if (parse_id(argv[i + 1], &id) < 0)
                break;
            if (strcmp(argv[i], "--event") == 0)
                f.event_id = id;
            else if (strcmp(argv[i], "--integration") == 0)
                f.integration_id = id;
            else if (strcmp(argv[i], "--org") == 0)
                f.organization_id = id;
            else
                break;
        }
        if (i < argc) {
            hub_db_close(&db);
            fputs(usage_events, stderr);
            return 2;
        }
        rc = hub_webhook_replay(&db, &f, &n, &err);
        if (rc == 0)
            printf("%" PRId64 " event(s) back to PENDING\n", n);
    } else if (strcmp(argv[1], "list") == 0 && argc >= 3) {
        const char *p[2] = { argv[2], argc == 5 && strcmp(argv[3], "--status") == 0 ?
                             argv[4] : NULL };

        rc = hub_db_query(&db, "SELECT id, to_char(received_at, 'YYYY-MM-DD HH24:MI:SS'), "
                          "coalesce(topic, ''), status, attempts, left(coalesce(last_error, ''), 80) "
                          "FROM integration_webhook_events WHERE integration_id = $1::bigint AND "
                          "($2::text IS NULL OR status = $2) ORDER BY id DESC LIMIT 100", 2, p,
                          &res, &err);
        if (rc == 0)
            printf("%-8s %-19s %-24s %-10s %-8s %s\n", "EVENT", "RECEIVED (UTC)", "TOPIC",
                   "STATUS", "ATTEMPTS", "LAST ERROR");
        for (i = 0; rc == 0 && i < PQntuples(res); i++)
            printf("%-8s %-19s %-24s %-10s %-8s %s\n", PQgetvalue(res, i, 0),
                   PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                   PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
        PQclear(res);
    } else {
        hub_db_close(&db);
        fputs(usage_events, stderr);
        return 2;
    }
    hub_db_close(&db);
    return rc < 0 ? fail(&err) : 0;
}

int
hub_cli_admin(int argc, char **argv)
{
    hub_log_set_json(0);
    if (strcmp(argv[0], "org") == 0)
        return cmd_org(argc, argv);
    if (strcmp(argv[0], "integrations") == 0)
        return cmd_integrations(argc, argv);
    if (strcmp(argv[0], "sync") == 0)
        return cmd_sync(argc, argv);
    if (strcmp(argv[0], "events") == 0)
        return cmd_events(argc, argv);
    return -1;
}
