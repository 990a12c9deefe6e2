/*
 * `simplix-hub marketplace list|install|upgrade|rollback|remove`: the administrator's side of
 * install.h, on a database connection of its own. The running hubs pick the change up within
 * a few seconds (hub_market_reconcile); nothing restarts.
 */
#include "marketplace/install.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"

static const char usage_admin[] =
    "usage: simplix-hub marketplace list\n"
    "       simplix-hub marketplace install ID [--version V]   verify, copy, activate\n"
    "       simplix-hub marketplace upgrade ID [--version V]   the same, newer than the active\n"
    "       simplix-hub marketplace rollback ID                the version active before\n"
    "       simplix-hub marketplace remove ID [--force]        every version; --force even\n"
    "                                                          while integrations use it\n"
    "  Environment: DATABASE_URL, SX_MARKETPLACE_DIR (packages and index.json),\n"
    "  SX_MARKETPLACE_TRUST (default <dir>/trusted-keys.json), SX_PLUGIN_DIR.\n";

static int
fail(const struct hub_error *err)
{
    fprintf(stderr, "simplix-hub: %s\n", err->msg);
    return 1;
}

int
hub_cli_marketplace_admin(int argc, char **argv)
{
    struct hub_config     cfg;
    struct hub_market_cfg mc;
    struct hub_error      err;
    struct hub_db         db;
    struct hub_buf        out;
    const char           *cmd, *id = NULL, *version = NULL;
    char                  got[65] = "";
    int                   i, force = 0, rc;

    hub_log_set_json(0);
    if (argc < 2)
        return 2;
    cmd = argv[1];
    if (strcmp(cmd, "list") != 0 && strcmp(cmd, "install") != 0 && strcmp(cmd, "upgrade") != 0 &&
        strcmp(cmd, "rollback") != 0 && strcmp(cmd, "remove") != 0)
        return 2;
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0 && i + 1 < argc)
            version = argv[++i];
        else if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else if (strcmp(argv[i], "--help") == 0) {
            fputs(usage_admin, stdout);
            return 0;
        } else if (argv[i][0] != '-' && id == NULL)
            id = argv[i];
        else {
            fprintf(stderr, "simplix-hub: unexpected argument \"%s\"\n%s", argv[i], usage_admin);
            return 2;
        }
    }
    if (strcmp(cmd, "list") != 0 && id == NULL) {
        fprintf(stderr, "simplix-hub: marketplace %s needs a connector id\n%s", cmd, usage_admin);
        return 2;
    }
    hub_config_defaults(&cfg);
    if (hub_config_load_env(&cfg, &err) < 0)
        return fail(&err);
    if (cfg.database_url[0] == '\0') {
        fprintf(stderr, "simplix-hub: no database: set DATABASE_URL\n");
        return 1;
    }
    memset(&db, 0, sizeof(db));
    if (hub_db_connect(&db, cfg.database_url, &err) < 0)
        return fail(&err);
    mc.marketplace_dir = cfg.marketplace_dir;
    mc.trust_path = cfg.marketplace_trust;
    mc.plugin_dir = cfg.plugin_dir;
    mc.actor = "cli";
    if (strcmp(cmd, "list") == 0) {
        hub_buf_init(&out, 16 << 20);
        rc = hub_market_list_json(&db, &mc, &out, &err);
        if (rc == 0)
            printf("%s\n", out.data != NULL ? out.data : "{}");
        hub_buf_free(&out);
    } else if (strcmp(cmd, "install") == 0 || strcmp(cmd, "upgrade") == 0) {
        int up = strcmp(cmd, "upgrade") == 0;

        rc = hub_market_install(&db, &mc, id, version, up, got, sizeof(got), &err);
        if (rc == 0)
            printf("%s %s %s (active)\n", up ? "upgraded" : "installed", id, got);
    } else if (strcmp(cmd, "rollback") == 0) {
        rc = hub_market_rollback(&db, &mc, id, got, sizeof(got), &err);
        if (rc == 0)
            printf("rolled back %s to %s (active)\n", id, got);
    } else {
        rc = hub_market_remove(&db, &mc, id, force, &err);
        if (rc == 0)
            printf("removed %s\n", id);
    }
    hub_db_close(&db);
    if (rc < 0)
        return fail(&err);
    return 0;
}
