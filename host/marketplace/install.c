/*
 * Installing, upgrading, rolling back and removing connector packages while hubs run. See
 * install.h for the model; package.h verifies packages.
 */
#include "marketplace/install.h"
#include "marketplace/package.h"
#include "marketplace/package_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "core/log.h"

#define LOCK_SQL       "SELECT pg_advisory_xact_lock(hashtext('simplix_marketplace'))"

static const char *
trust_path(const struct hub_market_cfg *cfg, char *buf, size_t cap)
{
    if (cfg->trust_path != NULL && cfg->trust_path[0] != '\0')
        return cfg->trust_path;
    snprintf(buf, cap, "%s/trusted-keys.json", cfg->marketplace_dir);
    return buf;
}

static int
cfg_ok(const struct hub_market_cfg *cfg, struct hub_error *err)
{
    if (cfg->marketplace_dir == NULL || cfg->marketplace_dir[0] == '\0')
        return hub_error_set(err, HUB_E_INVALID, "no marketplace folder: set SX_MARKETPLACE_DIR "
                             "(marketplace_dir)");
    if (cfg->plugin_dir == NULL || cfg->plugin_dir[0] == '\0')
        return hub_error_set(err, HUB_E_INVALID, "no plugin folder: set SX_PLUGIN_DIR "
                             "(plugin_dir)");
    return 0;
}

/* Record a step in package_events, in its own statement (the caller's transaction if any). */
static void
event(struct hub_db *db, const char *id, const char *version, const char *action,
      const char *outcome, const char *actor, const char *message)
{
    struct hub_error e;
    struct hub_buf   d;
    const char      *p[6];

    hub_buf_init(&d, 8192);
    hub_buf_puts(&d, "{\"message\":");
    hub_buf_json_str(&d, message != NULL ? message : "", message != NULL ? strlen(message) : 0);
    hub_buf_puts(&d, "}");
    p[0] = id;
    p[1] = version;
    p[2] = action;
    p[3] = outcome;
    p[4] = actor != NULL ? actor : "cli";
    p[5] = d.data != NULL ? d.data : "{}";
    if (hub_db_query(db, "INSERT INTO package_events (package_id, connector_id, version, action, "
                     "outcome, actor, details) VALUES ((SELECT id FROM installed_packages WHERE "
                     "connector_id = $1 AND version = $2), left($1, 64), left($2, 64), $3, $4, "
                     "left($5, 200), $6::jsonb)", 6, p, NULL, &e) < 0)
        hub_log_warn("marketplace", "package_events: %s", e.msg);
    hub_buf_free(&d);
}

/* A refusal: recorded (outside any transaction of the caller), then returned. */
static int
refused(struct hub_db *db, const struct hub_market_cfg *cfg, const char *id,
        const char *version, const char *action, int rc, struct hub_error *err)
{
    event(db, id, version != NULL ? version : "", action, rc == HUB_E_DB ? "error" : "refused",
          cfg->actor, err->msg);
    if (cfg->actor == NULL || strcmp(cfg->actor, "cli") != 0)   /* the CLI prints it itself */
        hub_log_warn("marketplace", "%s %s %s refused: %s", action, id,
                     version != NULL ? version : "", err->msg);
    return rc;
}

/* SHA-256 hex of a regular file (no symlink), at most HUB_PKG_SO_MAX bytes. */
static int
file_sha256(const char *path, char out[65], struct hub_error *err)
{
    int64_t size = 0;

    return pkg_hash_at(AT_FDCWD, path, HUB_PKG_SO_MAX, path, out, &size, err);
}

/*
 * Put the verified package's .so at `<dir>/<name>` (hub_pkg_copy_verified: temporary file,
 * the bytes hashed as they are copied, rename). When the file is there already (installed
 * before, or put by another hub) it must be the same bytes. *created = 1 when it was copied.
 */
static int
place_file(const char *pkg_dir, const struct hub_pkg_manifest *m, const char *dir,
           const char *name, int *created, struct hub_error *err)
{
    char        dst[PATH_MAX], got[65];
    struct stat st;
    int         rc;

    *created = 0;
    if ((size_t)snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= sizeof(dst))
        return hub_error_set(err, HUB_E_INVALID, "the plugin folder path is too long");
    if (lstat(dst, &st) == 0) {
        rc = file_sha256(dst, got, err);
        if (rc < 0)
            return rc;
        if (strcmp(got, m->sha256) != 0)
            return hub_error_set(err, HUB_E_CONFLICT, "%s already exists with other content; "
                                 "remove it first", dst);
        return 0;
    }
    rc = hub_pkg_copy_verified(pkg_dir, m, dst, err);
    if (rc == 0)
        *created = 1;
    return rc;
}

static int
load_trust(const struct hub_market_cfg *cfg, struct hub_pkg_trust **trust, struct hub_error *err)
{
    char buf[PATH_MAX];

    return hub_pkg_trust_load(trust_path(cfg, buf, sizeof(buf)), trust, err);
}

/* Find and verify a package (nothing copied yet). */
static int
verify_package(const struct hub_market_cfg *cfg, const char *id, const char *version,
               char *dir, size_t cap, struct hub_pkg_manifest *m, struct hub_error *err)
{
    struct hub_pkg_trust *trust = NULL;
    int                   rc;

    rc = hub_pkg_find(cfg->marketplace_dir, id, version, dir, cap, err);
    if (rc == 0)
        rc = load_trust(cfg, &trust, err);
    if (rc == 0)
        rc = hub_pkg_verify_dir(dir, trust, 1, m, err);
    hub_pkg_trust_free(trust);
    if (rc == 0 && strcmp(m->id, id) != 0)
        rc = hub_error_set(err, HUB_E_REJECTED, "the package at %s is connector %s, not %s", dir,
                           m->id, id);
    return rc;
}

int
hub_market_install(struct hub_db *db, const struct hub_market_cfg *cfg, const char *id,
                   const char *version, int upgrade, char *out_version, size_t cap,
                   struct hub_error *err)
{
    struct hub_pkg_manifest m;
    const char             *action = upgrade ? "upgrade" : "install";
    const char             *p[8];
    char                    dir[PATH_MAX], file[200], active[65] = "";
    PGresult               *res = NULL;
    int                     rc, created = 0, i;

    memset(&m, 0, sizeof(m));
    if ((rc = cfg_ok(cfg, err)) < 0)
        return rc;
    rc = verify_package(cfg, id, version, dir, sizeof(dir), &m, err);
    if (rc < 0) {
        hub_pkg_manifest_free(&m);
        return refused(db, cfg, id, version, action, rc, err);
    }
    snprintf(file, sizeof(file), "%s@%s.so", m.id, m.version);

    rc = hub_db_begin(db, err);
    if (rc < 0)
        goto free;
    if ((rc = hub_db_query(db, LOCK_SQL, 0, NULL, NULL, err)) < 0)
        goto rollback;
    p[0] = m.id;
    rc = hub_db_query(db, "SELECT version, status FROM installed_packages WHERE connector_id = $1 "
                      "AND status IN ('active', 'inactive')", 1, p, &res, err);
    if (rc < 0)
        goto rollback;
    for (i = 0; i < PQntuples(res); i++) {
        if (strcmp(PQgetvalue(res, i, 1), "active") == 0)
            snprintf(active, sizeof(active), "%s", PQgetvalue(res, i, 0));
        if (strcmp(PQgetvalue(res, i, 0), m.version) == 0) {
            rc = hub_error_set(err, HUB_E_CONFLICT, "%s %s is already installed (%s): roll "
                               "back to it, or remove the connector first", m.id, m.version,
                               PQgetvalue(res, i, 1));
            break;
        }
    }
    PQclear(res);
    res = NULL;
    if (rc == 0 && upgrade && active[0] != '\0' && hub_pkg_semver_cmp(m.version, active) <= 0)
        rc = hub_error_set(err, HUB_E_CONFLICT, "%s %s is not newer than the active %s", m.id,
                           m.version, active);
    if (rc == 0 && upgrade && active[0] == '\0')
        rc = hub_error_set(err, HUB_E_NOT_FOUND, "%s is not installed: install it first", m.id);
    if (rc < 0)
        goto rollback;
    rc = place_file(dir, &m, cfg->plugin_dir, file, &created, err);
    if (rc < 0)
        goto rollback;
    rc = hub_db_query(db, "UPDATE installed_packages SET status = 'inactive' WHERE "
                      "connector_id = $1 AND status = 'active'", 1, p, NULL, err);
    if (rc < 0)
        goto rollback;
    p[1] = m.version;
    p[2] = m.publisher;
    p[3] = m.key_id;
    p[4] = m.sha256;
    p[5] = file;
    p[6] = m.sdk_abi;
    p[7] = active[0] != '\0' ? active : NULL;
    rc = hub_db_query(db, "INSERT INTO installed_packages (connector_id, version, publisher, "
                      "publisher_key_id, sha256, path, abi_version, status, activated_at, "
                      "previous_version) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', now(), $8) "
                      "ON CONFLICT (connector_id, version) DO UPDATE SET status = 'active', "
                      "publisher = EXCLUDED.publisher, publisher_key_id = "
                      "EXCLUDED.publisher_key_id, sha256 = EXCLUDED.sha256, path = EXCLUDED.path, "
                      "abi_version = EXCLUDED.abi_version, installed_at = now(), activated_at = "
                      "now(), previous_version = EXCLUDED.previous_version", 8, p, NULL, err);
    if (rc < 0)
        goto rollback;
    {
        char msg[800];

        snprintf(msg, sizeof(msg), "%s %s signed by %s/%s, sha256 %s%s%s", m.id, m.version,
                 m.publisher, m.key_id, m.sha256, active[0] ? ", replacing " : "", active);
        event(db, m.id, m.version, action, "ok", cfg->actor, msg);
    }
    rc = hub_db_commit(db, err);
    if (rc < 0)
        goto undo_file;
    hub_log_info("marketplace", "%s %s %s (active; was %s)", action, m.id, m.version,
                 active[0] ? active : "none");
    if (out_version != NULL)
        snprintf(out_version, cap, "%s", m.version);
    goto free;

rollback:
    hub_db_rollback(db);
undo_file:
    if (created) {
        char dst[PATH_MAX];

        snprintf(dst, sizeof(dst), "%s/%s", cfg->plugin_dir, file);
        unlink(dst);
    }
    if (rc != HUB_E_DB)
        refused(db, cfg, id, m.version[0] ? m.version : version, action, rc, err);
free:
    hub_pkg_manifest_free(&m);
    return rc;
}

int
hub_market_rollback(struct hub_db *db, const struct hub_market_cfg *cfg, const char *id,
                    char *out_version, size_t cap, struct hub_error *err)
{
    const char *p[3];
    char        cur[65], target[65] = "", file[200], sha[65], got[65], path[PATH_MAX];
    PGresult   *res = NULL;
    int         rc;

    if ((rc = cfg_ok(cfg, err)) < 0)
        return rc;
    rc = hub_db_begin(db, err);
    if (rc < 0)
        return rc;
    if ((rc = hub_db_query(db, LOCK_SQL, 0, NULL, NULL, err)) < 0)
        goto rollback;
    p[0] = id;
    rc = hub_db_query(db, "SELECT a.version, coalesce((SELECT i.version FROM installed_packages i "
                      "WHERE i.connector_id = a.connector_id AND i.version = a.previous_version "
                      "AND i.status = 'inactive'), (SELECT i.version FROM installed_packages i "
                      "WHERE i.connector_id = a.connector_id AND i.status = 'inactive' ORDER BY "
                      "i.activated_at DESC NULLS LAST, i.id DESC LIMIT 1)) FROM installed_packages a "
                      "WHERE a.connector_id = $1 AND a.status = 'active'", 1, p, &res, err);
    if (rc < 0)
        goto rollback;
    if (PQntuples(res) == 0) {
        rc = hub_error_set(err, HUB_E_NOT_FOUND, "%s has no active version to roll back from",
                           id);
    } else if (PQgetisnull(res, 0, 1)) {
        rc = hub_error_set(err, HUB_E_NOT_FOUND, "%s %s has no previous version to roll back "
                           "to", id, PQgetvalue(res, 0, 0));
    } else {
        snprintf(cur, sizeof(cur), "%s", PQgetvalue(res, 0, 0));
        snprintf(target, sizeof(target), "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    res = NULL;
    if (rc < 0)
        goto rollback;
    p[1] = target;
    rc = hub_db_query(db, "SELECT path, sha256 FROM installed_packages WHERE connector_id = $1 "
                      "AND version = $2", 2, p, &res, err);
    if (rc < 0)
        goto rollback;
    snprintf(file, sizeof(file), "%s", PQgetvalue(res, 0, 0));
    snprintf(sha, sizeof(sha), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    res = NULL;
    /* The file is still the one verified at install time. */
    snprintf(path, sizeof(path), "%s/%s", cfg->plugin_dir, file);
    if (strchr(file, '/') != NULL || file_sha256(path, got, err) < 0 ||
        strcmp(got, sha) != 0) {
        rc = hub_error_set(err, HUB_E_REJECTED, "the file of %s %s (%s) is missing or changed "
                           "since it was installed: install that version again", id, target,
                           path);
        goto rollback;
    }
    p[2] = cur;
    /* Two statements: the one-active index is checked row by row. */
    rc = hub_db_query(db, "UPDATE installed_packages SET status = 'inactive' WHERE "
                      "connector_id = $1 AND version = $3 AND $2::text IS NOT NULL", 3, p, NULL, err);
    if (rc == 0)
        rc = hub_db_query(db, "UPDATE installed_packages SET status = 'active', activated_at = "
                          "now(), previous_version = $3 WHERE connector_id = $1 AND version = $2",
                          3, p, NULL, err);
    if (rc < 0)
        goto rollback;
    {
        char msg[300];

        snprintf(msg, sizeof(msg), "%s rolled back from %s to %s", id, cur, target);
        event(db, id, target, "rollback", "ok", cfg->actor, msg);
    }
    rc = hub_db_commit(db, err);
    if (rc < 0)
        return rc;
    hub_log_info("marketplace", "rollback %s: %s -> %s", id, cur, target);
    if (out_version != NULL)
        snprintf(out_version, cap, "%s", target);
    return 0;
rollback:
    hub_db_rollback(db);
    if (rc != HUB_E_DB)
        refused(db, cfg, id, target[0] ? target : NULL, "rollback", rc, err);
    return rc;
}

int
hub_market_remove(struct hub_db *db, const struct hub_market_cfg *cfg, const char *id, int force,
                  struct hub_error *err)
{
    const char *p[1] = { id };
    PGresult   *res = NULL;
    char      **files = NULL;
    int         rc, n = 0, i, users;

    if ((rc = cfg_ok(cfg, err)) < 0)
        return rc;
    rc = hub_db_begin(db, err);
    if (rc < 0)
        return rc;
    if ((rc = hub_db_query(db, LOCK_SQL, 0, NULL, NULL, err)) < 0)
        goto rollback;
    rc = hub_db_query(db, "SELECT count(*) FROM integrations WHERE platform = $1 AND "
                      "deleted_at IS NULL", 1, p, &res, err);
    if (rc < 0)
        goto rollback;
    users = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    if (users > 0 && !force) {
        rc = hub_error_set(err, HUB_E_CONFLICT, "%d integration(s) use %s: delete them first, "
                           "or remove with --force (their syncs will then fail)", users, id);
        goto rollback;
    }
    rc = hub_db_query(db, "UPDATE installed_packages SET status = 'removed' WHERE "
                      "connector_id = $1 AND status <> 'removed' RETURNING path", 1, p, &res, err);
    if (rc < 0)
        goto rollback;
    n = PQntuples(res);
    if (n == 0) {
        PQclear(res);
        rc = hub_error_set(err, HUB_E_NOT_FOUND, "%s is not installed from the marketplace", id);
        goto rollback;
    }
    files = calloc((size_t)n, sizeof(*files));
    for (i = 0; files != NULL && i < n; i++)
        files[i] = strdup(PQgetvalue(res, i, 0));
    PQclear(res);
    {
        char msg[200];

        snprintf(msg, sizeof(msg), "%s removed (%d version(s))%s", id, n,
                 users > 0 ? ", forced while integrations use it" : "");
        event(db, id, "", "remove", "ok", cfg->actor, msg);
    }
    rc = hub_db_commit(db, err);
    if (rc == 0) {
        /* The hubs unload it; a loaded .so stays mapped after its file is gone. */
        for (i = 0; files != NULL && i < n; i++) {
            char path[PATH_MAX];

            if (files[i] != NULL && strchr(files[i], '/') == NULL && files[i][0] != '.') {
                snprintf(path, sizeof(path), "%s/%s", cfg->plugin_dir, files[i]);
                unlink(path);
            }
        }
        hub_log_info("marketplace", "removed %s (%d version(s))", id, n);
    }
    for (i = 0; files != NULL && i < n; i++)
        free(files[i]);
    free(files);
    return rc;
rollback:
    hub_db_rollback(db);
    if (rc != HUB_E_DB)
        refused(db, cfg, id, NULL, "remove", rc, err);
    return rc;
}

/* ---- listing ---------------------------------------------------------------------------------- */

int
hub_market_list_json(struct hub_db *db, const struct hub_market_cfg *cfg, struct hub_buf *out,
                     struct hub_error *err)
{
    json_object *index = NULL, *pkgs, *root, *arr;
    PGresult    *res = NULL;
    size_t       i, j;
    int          rc, r;

    if ((rc = cfg_ok(cfg, err)) < 0)
        return rc;
    rc = hub_pkg_index_load(cfg->marketplace_dir, &index, err);
    if (rc == HUB_E_NOT_FOUND) {
        index = json_object_new_object();
        rc = 0;
    }
    if (rc < 0)
        return rc;
    rc = hub_db_query(db, "SELECT connector_id, version, status, publisher, publisher_key_id "
                      "FROM installed_packages WHERE status <> 'removed' ORDER BY connector_id, "
                      "id", 0, NULL, &res, err);
    if (rc < 0) {
        json_object_put(index);
        return rc;
    }
    root = json_object_new_object();
    arr = json_object_new_array();
    json_object_object_add(root, "packages", arr);
    if (json_object_object_get_ex(index, "packages", &pkgs) &&
        json_object_is_type(pkgs, json_type_array)) {
        for (i = 0; i < json_object_array_length(pkgs) && i < 10000; i++) {
            json_object *pk = json_object_array_get_idx(pkgs, i), *o, *vs, *id, *v, *vo;
            const char  *pid;

            if (!json_object_object_get_ex(pk, "id", &id) ||
                !json_object_is_type(id, json_type_string))
                continue;
            pid = json_object_get_string(id);
            o = json_object_new_object();
            json_object_object_add(o, "id", json_object_get(id));
            if (json_object_object_get_ex(pk, "display_name", &v))
                json_object_object_add(o, "display_name", json_object_get(v));
            if (json_object_object_get_ex(pk, "summary", &v))
                json_object_object_add(o, "summary", json_object_get(v));
            json_object_object_add(o, "active", NULL);
            vs = json_object_new_array();
            json_object_object_add(o, "versions", vs);
            if (json_object_object_get_ex(pk, "versions", &v) &&
                json_object_is_type(v, json_type_array)) {
                for (j = 0; j < json_object_array_length(v) && j < 1000; j++) {
                    json_object *ve = json_object_array_get_idx(v, j), *ver, *abi;
                    const char  *vs_str, *abi_str = "";
                    unsigned     maj = 0, min = 0;
                    const char  *status = NULL;

                    if (!json_object_object_get_ex(ve, "version", &ver))
                        continue;
                    vs_str = json_object_get_string(ver);
                    if (json_object_object_get_ex(ve, "sdk_abi", &abi))
                        abi_str = json_object_get_string(abi);
                    for (r = 0; r < PQntuples(res); r++) {
                        if (strcmp(PQgetvalue(res, r, 0), pid) == 0 &&
                            strcmp(PQgetvalue(res, r, 1), vs_str) == 0)
                            status = PQgetvalue(res, r, 2);
                    }
                    vo = json_object_new_object();
                    json_object_object_add(vo, "version", json_object_new_string(vs_str));
                    json_object_object_add(vo, "sdk_abi", json_object_new_string(abi_str));
                    json_object_object_add(vo, "compatible", json_object_new_boolean(
                        sscanf(abi_str, "%u.%u", &maj, &min) == 2 && maj == SX_ABI_MAJOR &&
                        min <= SX_ABI_MINOR));
                    json_object_object_add(vo, "installed", status != NULL ?
                                           json_object_new_string(status) : NULL);
                    if (status != NULL && strcmp(status, "active") == 0)
                        json_object_object_add(o, "active", json_object_new_string(vs_str));
                    json_object_array_add(vs, vo);
                }
            }
            json_object_array_add(arr, o);
        }
    }
    PQclear(res);
    json_object_put(index);
    {
        const char *t = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);

        rc = hub_buf_puts(out, t) < 0 ? hub_error_set(err, HUB_E_NOMEM, "out of memory") : 0;
    }
    json_object_put(root);
    return rc;
}

/* ---- reconcile -------------------------------------------------------------------------------- */

/* Load <plugin_dir>/<file> (copying it from the marketplace first when missing) as `id`
 * `version`, and make it current. */
static int
activate(const struct hub_market_cfg *cfg, struct hub_plugins *reg, const char *id,
         const char *version, const char *file, const char *sha, struct hub_error *err)
{
    struct hub_plugin *p = NULL, *cur;
    char               path[PATH_MAX], got[65], was[65] = "none";
    int                rc;

    if (strchr(file, '/') != NULL || file[0] == '.' || strstr(file, "..") != NULL)
        return hub_error_set(err, HUB_E_REJECTED, "installed_packages path \"%s\" is not a "
                             "plain file name", file);
    snprintf(path, sizeof(path), "%s/%s", cfg->plugin_dir, file);
    if (access(path, F_OK) != 0) {
        struct hub_pkg_manifest m;
        char                    dir[PATH_MAX];
        int                     created;

        /* Another hub installed it: take it from the marketplace, verified again. */
        memset(&m, 0, sizeof(m));
        rc = verify_package(cfg, id, version, dir, sizeof(dir), &m, err);
        if (rc == 0 && strcmp(m.sha256, sha) != 0)
            rc = hub_error_set(err, HUB_E_REJECTED, "the marketplace's %s %s differs from the "
                               "installed one (SHA-256)", id, version);
        if (rc == 0)
            rc = place_file(dir, &m, cfg->plugin_dir, file, &created, err);
        hub_pkg_manifest_free(&m);
        if (rc < 0)
            return rc;
    }
    rc = file_sha256(path, got, err);
    if (rc < 0)
        return rc;
    if (strcmp(got, sha) != 0)
        return hub_error_set(err, HUB_E_REJECTED, "%s changed since it was installed "
                             "(SHA-256 differs): not loaded", path);
    rc = hub_plugin_load(path, id, &p, err);
    if (rc < 0)
        return rc;
    if (strcmp(p->desc.version, version) != 0) {
        rc = hub_error_set(err, HUB_E_REJECTED, "%s says version %s, installed_packages says %s",
                           path, p->desc.version, version);
        hub_plugin_unload(p);
        return rc;
    }
    cur = hub_plugins_acquire(reg, id);
    if (cur != NULL) {
        snprintf(was, sizeof(was), "%s", cur->desc.version);
        hub_plugins_release(reg, cur);
    }
    hub_plugins_replace(reg, p);
    hub_log_info("marketplace", "%s %s is now current (was %s); calls in flight finish on the "
                 "old one", id, version, was);
    return 0;
}

int
hub_market_reconcile(struct hub_db *db, const struct hub_market_cfg *cfg,
                     struct hub_plugins *reg, int64_t *stamp, struct hub_error *err)
{
    PGresult *res = NULL;
    int64_t   top;
    int       rc, i, failed = 0;

    if (cfg->plugin_dir == NULL || cfg->plugin_dir[0] == '\0')
        return 0;
    rc = hub_db_query(db, "SELECT coalesce(max(id), 0) FROM package_events", 0, NULL, &res, err);
    if (rc < 0)
        return rc;
    top = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (*stamp != 0 && top == *stamp)
        return 0;
    rc = hub_db_query(db, "SELECT connector_id, version, path, sha256, status, "
                      "bool_or(status = 'active') OVER (PARTITION BY connector_id) "
                      "FROM installed_packages WHERE status IN ('active', 'removed') "
                      "ORDER BY connector_id, id", 0, NULL, &res, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < PQntuples(res); i++) {
        const char        *id = PQgetvalue(res, i, 0), *version = PQgetvalue(res, i, 1);
        const char        *status = PQgetvalue(res, i, 4);
        struct hub_plugin *cur;
        struct hub_error   e;

        if (strcmp(status, "active") == 0) {
            cur = hub_plugins_acquire(reg, id);
            if (cur != NULL && strcmp(cur->desc.version, version) == 0 &&
                strchr(cur->file, '@') != NULL) {
                hub_plugins_release(reg, cur);
                continue;                  /* already current */
            }
            if (cur != NULL)
                hub_plugins_release(reg, cur);
            if (activate(cfg, reg, id, version, PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                         &e) < 0) {
                failed = 1;
                hub_log_error("marketplace", "cannot activate %s %s on this hub: %s", id,
                              version, e.msg);
            }
        } else if (PQgetvalue(res, i, 5)[0] != 't' &&
                   (i + 1 >= PQntuples(res) || strcmp(PQgetvalue(res, i + 1, 0), id) != 0)) {
            /* Every version removed (the last row of the connector): unload it. */
            if (hub_plugins_remove(reg, id) == 0)
                hub_log_info("marketplace", "%s removed: unloaded (calls in flight finish "
                             "first)", id);
        }
    }
    PQclear(res);
    if (!failed)
        *stamp = top;            /* a failure is tried again on the next pass */
    return 0;
}
