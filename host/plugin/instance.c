/* Connector instances, call contexts and secrets at rest. */
#include "plugin/api_internal.h"
#include "core/buf.h"
#include "core/log.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- status mapping -------------------------------------------------------------------------- */

int
hub_to_sx_status(int code)
{
    if (code >= SX_E__LAST && code <= 0)
        return code;                     /* HUB_E_* -1..-14 equal SX_E_* by construction */
    switch (code) {
    case HUB_E_DB:
        return SX_E_TRANSIENT;
    case HUB_E_CRYPTO:
        return SX_E_AUTH;
    default:
        return SX_E_INTERNAL;
    }
}

/* ---- call lifecycle -------------------------------------------------------------------------- */

void
hub_call_begin(struct hub_call *call, struct hub_instance *inst, struct hub_db *db)
{
    memset(call, 0, sizeof(*call));
    call->cx.hdr.abi_version = SX_ABI_VERSION;
    call->cx.hdr.struct_size = sizeof(sx_ctx);
    call->cx.host = hub_host_api();
    call->cx.state = inst != NULL ? inst->state : NULL;
    call->inst = inst;
    call->db = db;
    hub_arena_init(&call->arena, HUB_CALL_ARENA_CAP);
    if (inst != NULL)
        pthread_mutex_lock(&inst->lock);
}

void
hub_call_end(struct hub_call *call)
{
    size_t i;

    for (i = 0; i < call->n_json_roots; i++)
        json_object_put(call->json_roots[i]);
    free(call->json_roots);
    call->json_roots = NULL;
    call->n_json_roots = 0;
    hub_arena_destroy(&call->arena);
    if (call->inst != NULL)
        pthread_mutex_unlock(&call->inst->lock);
}

int
hub_call_result(struct hub_call *call, int rc, const char *what)
{
    if (rc >= 0)
        return rc;
    if (call->err.msg[0] == '\0')
        hub_error_set(&call->err, rc, "%s failed with %s and gave no reason", what,
                      sx_status_name(rc));
    call->err.code = rc;
    return rc;
}

/* ---- secrets at rest ------------------------------------------------------------------------- */

static void
secret_ad(char *ad, size_t cap, int64_t integration_id, const char *key)
{
    snprintf(ad, cap, "integration_secrets:%lld:%s", (long long)integration_id, key);
}

int
hub_secret_store(struct hub_db *db, const struct hub_crypto_keyring *keys, int64_t integration_id,
                 const char *key, const void *value, size_t len, struct hub_error *err)
{
    char        id[32], ad[300];
    uint8_t    *blob = NULL;
    size_t      blen = 0;
    const char *params[4];
    int         lens[4] = { 0, 0, 0, 0 }, fmts[4] = { 0, 0, 1, 0 };
    PGresult   *res;
    int         rc;

    secret_ad(ad, sizeof(ad), integration_id, key);
    rc = hub_crypto_seal_ad(keys, ad, strlen(ad), value, len, &blob, &blen, err);
    if (rc < 0)
        return rc;
    snprintf(id, sizeof(id), "%lld", (long long)integration_id);
    params[0] = id;
    params[1] = key;
    params[2] = (const char *)blob;
    lens[2] = (int)blen;
    params[3] = hub_crypto_keyring_active_id(keys);
    res = PQexecParams(db->conn,
                       "INSERT INTO integration_secrets (integration_id, key, value, key_id) "
                       "VALUES ($1, $2, $3, $4) ON CONFLICT (integration_id, key) DO UPDATE "
                       "SET value = EXCLUDED.value, key_id = EXCLUDED.key_id, updated_at = now()",
                       4, NULL, params, lens, fmts, 0);
    free(blob);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = hub_error_set(err, HUB_E_DB, "storing secret %s: %s", key,
                           PQerrorMessage(db->conn));
        PQclear(res);
        return rc;
    }
    PQclear(res);
    return 0;
}

int
hub_secret_load(struct hub_db *db, const struct hub_crypto_keyring *keys, int64_t integration_id,
                const char *key, char **out, size_t *len, struct hub_error *err)
{
    char        id[32], ad[300];
    const char *params[2];
    PGresult   *res;
    int         rc;

    *out = NULL;
    *len = 0;
    snprintf(id, sizeof(id), "%lld", (long long)integration_id);
    params[0] = id;
    params[1] = key;
    /* Binary result: the sealed blob as bytes. */
    res = PQexecParams(db->conn, "SELECT value FROM integration_secrets WHERE integration_id = $1 "
                       "AND key = $2", 2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = hub_error_set(err, HUB_E_DB, "loading secret %s: %s", key, PQerrorMessage(db->conn));
        PQclear(res);
        return rc;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return hub_error_set(err, HUB_E_NOT_FOUND, "no secret %s", key);
    }
    secret_ad(ad, sizeof(ad), integration_id, key);
    {
        uint8_t *plain = NULL;
        size_t   plen = 0;

        rc = hub_crypto_open_ad(keys, ad, strlen(ad), (const uint8_t *)PQgetvalue(res, 0, 0),
                                (size_t)PQgetlength(res, 0, 0), &plain, &plen, err);
        PQclear(res);
        if (rc < 0)
            return rc;
        *out = (char *)plain;
        *len = plen;
    }
    return 0;
}

/* ---- instances ------------------------------------------------------------------------------- */

int
hub_instance_open(struct hub_runtime *rt, struct hub_plugins *reg, const char *connector_id,
                  int64_t integration_id, const char *config_json, const char *account,
                  struct hub_db *db, struct hub_instance **out, struct hub_error *err)
{
    struct hub_instance *inst;
    struct hub_call      call;
    json_object         *cfg = NULL, *base = NULL;
    int                  rc;

    *out = NULL;
    if (config_json != NULL && config_json[0] != '\0') {
        cfg = json_tokener_parse(config_json);
        if (cfg == NULL || !json_object_is_type(cfg, json_type_object)) {
            json_object_put(cfg);
            return hub_error_set(err, HUB_E_INVALID, "integration %lld: config is not a JSON "
                                 "object", (long long)integration_id);
        }
    }
    inst = calloc(1, sizeof(*inst));
    if (inst == NULL) {
        json_object_put(cfg);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    inst->plugin = hub_plugins_acquire(reg, connector_id);
    if (inst->plugin == NULL) {
        json_object_put(cfg);
        free(inst);
        return hub_error_set(err, HUB_E_NOT_FOUND, "connector \"%s\" is not loaded in this hub",
                             connector_id);
    }
    inst->rt = rt;
    inst->reg = reg;
    inst->integration_id = integration_id;
    inst->config = cfg;
    pthread_mutex_init(&inst->lock, NULL);
    if (account == NULL && cfg != NULL && json_object_object_get_ex(cfg, "base_url", &base) &&
        json_object_is_type(base, json_type_string))
        account = json_object_get_string(base);
    if (account != NULL)
        snprintf(inst->account, sizeof(inst->account), "%s:%s", connector_id, account);
    else
        snprintf(inst->account, sizeof(inst->account), "%s:integration-%lld", connector_id,
                 (long long)integration_id);

    if (inst->plugin->desc.instance_new != NULL) {
        hub_call_begin(&call, inst, db);
        rc = inst->plugin->desc.instance_new(&call.cx, &inst->state);
        rc = hub_call_result(&call, rc, "instance_new()");
        if (rc < 0)
            hub_error_set(err, HUB_E_PLUGIN, "%s: instance_new: %s", connector_id, call.err.msg);
        hub_call_end(&call);
        if (rc < 0) {
            inst->state = NULL;
            hub_instance_close(inst);
            return HUB_E_PLUGIN;
        }
    }
    *out = inst;
    return 0;
}

void
hub_instance_close(struct hub_instance *inst)
{
    if (inst == NULL)
        return;
    if (inst->state != NULL && inst->plugin->desc.instance_free != NULL)
        inst->plugin->desc.instance_free(inst->state);
    json_object_put(inst->config);
    pthread_mutex_destroy(&inst->lock);
    hub_plugins_release(inst->reg, inst->plugin);
    free(inst);
}

int
hub_instance_test_connection(struct hub_instance *inst, struct hub_db *db, struct hub_error *err)
{
    struct hub_call call;
    int             rc;

    hub_call_begin(&call, inst, db);
    rc = inst->plugin->desc.test_connection(&call.cx);
    rc = hub_call_result(&call, rc, "test_connection()");
    if (rc < 0)
        hub_error_set(err, rc, "%s", call.err.msg);
    hub_call_end(&call);
    return rc;
}

static int
list_call(struct hub_instance *inst, struct hub_db *db, uint32_t entity, int ids_only,
          const char *cursor, int64_t updated_since_ms, uint32_t page_size,
          hub_emit_fn emit, void *arg, char *next_cursor, size_t cap, int *has_more,
          struct hub_error *err)
{
    const sx_entity_ops *ops = hub_plugin_entity(inst->plugin, entity);
    const char          *what = ids_only ? "list_ids" : "list";
    struct hub_call      call;
    sx_list_req          req;
    sx_list_res          res;
    int                  rc;

    *has_more = 0;
    if (ops == NULL || !(ops->directions & SX_DIR_IMPORT) ||
        (ids_only && ops->list_ids == NULL)) {
        next_cursor[0] = '\0';
        return hub_error_set(err, HUB_E_UNSUPPORTED, ids_only ? "%s cannot list the ids of "
                             "every %s (no deletion sweep)" : "%s does not import %s",
                             inst->plugin->id, sx_entity_name(entity));
    }
    memset(&req, 0, sizeof(req));
    req.hdr.abi_version = SX_ABI_VERSION;
    req.hdr.struct_size = sizeof(req);
    req.entity = entity;
    req.page_size = page_size;
    req.cursor = sx_cstr(cursor != NULL ? cursor : "");
    req.updated_since_ms = updated_since_ms;
    memset(&res, 0, sizeof(res));
    res.hdr.abi_version = SX_ABI_VERSION;
    res.hdr.struct_size = sizeof(res);

    hub_call_begin(&call, inst, db);
    call.emit = emit;
    call.sink_arg = arg;
    rc = ids_only ? ops->list_ids(&call.cx, &req, &res) : ops->list(&call.cx, &req, &res);
    rc = hub_call_result(&call, rc, ids_only ? "list_ids()" : "list()");
    /* Only now: `cursor` may be the same buffer as `next_cursor`. */
    next_cursor[0] = '\0';
    if (rc < 0) {
        hub_error_set(err, rc, "%s", call.err.msg);
    } else if (res.next_cursor.len > 0) {
        /* Validate what the plugin returned before trusting it. */
        if (res.next_cursor.ptr == NULL || res.next_cursor.len >= cap ||
            memchr(res.next_cursor.ptr, '\0', res.next_cursor.len) != NULL) {
            rc = hub_error_set(err, HUB_E_PROTOCOL, "%s %s(%s) returned an invalid or "
                               "oversized cursor (%zu bytes)", inst->plugin->id, what,
                               sx_entity_name(entity), res.next_cursor.len);
        } else {
            memcpy(next_cursor, res.next_cursor.ptr, res.next_cursor.len);
            next_cursor[res.next_cursor.len] = '\0';
            *has_more = 1;
        }
    }
    hub_call_end(&call);
    return rc;
}

int
hub_instance_list(struct hub_instance *inst, struct hub_db *db, uint32_t entity,
                  const char *cursor, int64_t updated_since_ms, uint32_t page_size,
                  hub_emit_fn emit, void *arg, char *next_cursor, size_t cap, int *has_more,
                  struct hub_error *err)
{
    return list_call(inst, db, entity, 0, cursor, updated_since_ms, page_size, emit, arg,
                     next_cursor, cap, has_more, err);
}

int
hub_instance_list_ids(struct hub_instance *inst, struct hub_db *db, uint32_t entity,
                      const char *cursor, uint32_t page_size, hub_emit_fn emit, void *arg,
                      char *next_cursor, size_t cap, int *has_more, struct hub_error *err)
{
    return list_call(inst, db, entity, 1, cursor, 0, page_size, emit, arg, next_cursor, cap,
                     has_more, err);
}
