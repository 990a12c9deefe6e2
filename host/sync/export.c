/* The export side of the sync engine: Simplix changes from the outbox pushed with the
 * connector's push(), the mapping recorded (docs/SYNC.md "Export"). */
#include "sync/engine_internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "queue/queue.h"
#include "queue/worker.h"
#include "sync/apply.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- export ---------------------------------------------------------------------------------- */

/* The canonical record of a Simplix row, with the integration's external id when mapped. */
static const char sql_export_customer[] =
    "SELECT jsonb_strip_nulls(jsonb_build_object("
    "  'external_id', m.external_id, 'updated_at', to_char(c.updated_at AT TIME ZONE 'UTC', "
    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'company_name', c.name, "
    "  'first_name', c.contact_first_name, 'last_name', c.contact_last_name, 'email', c.email, "
    "  'phone', c.phone, 'tax_exempt', c.tax_exempt, 'currency', c.currency, 'note', c.notes, "
    "  'addresses', CASE WHEN c.address_line1 IS NULL AND c.city IS NULL THEN NULL ELSE "
    "    jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('kind', 'billing', "
    "    'line1', c.address_line1, 'line2', c.address_line2, 'city', c.city, 'region', c.region, "
    "    'postal_code', c.postal_code, 'country_code', c.country_code))) END))::text, "
    "  m.content_hash "
    "FROM companies c LEFT JOIN integration_mappings m ON m.integration_id = $1 "
    "  AND m.entity = 'customer' AND m.internal_id = c.id "
    "WHERE c.id = $2 AND c.organization_id = $3";

static const char sql_export_product[] =
    "SELECT jsonb_strip_nulls(jsonb_build_object("
    "  'external_id', m.external_id, 'updated_at', to_char(p.updated_at AT TIME ZONE 'UTC', "
    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'title', p.name, 'description', p.description, "
    "  'vendor', p.vendor, 'status', p.status, 'currency', p.currency, "
    "  'variants', coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object("
    "      'external_id', vm.external_id, 'title', v.name, 'sku', v.sku, 'barcode', v.barcode, "
    "      'price_minor', v.price_minor, 'stock', v.stock, 'taxable', v.taxable, "
    "      'position', v.position)) ORDER BY v.position, v.id) "
    "    FROM products v LEFT JOIN integration_mappings vm ON vm.integration_id = $1 "
    "      AND vm.entity = 'variant' AND vm.internal_id = v.id "
    "    WHERE v.parent_id = p.id AND v.status <> 'archived'), "
    "    jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('sku', p.sku, "
    "      'barcode', p.barcode, 'price_minor', p.price_minor, 'stock', p.stock, "
    "      'taxable', p.taxable))))))::text, m.content_hash "
    "FROM products p LEFT JOIN integration_mappings m ON m.integration_id = $1 "
    "  AND m.entity = 'product' AND m.internal_id = p.id "
    "WHERE p.id = $2 AND p.organization_id = $3";

struct export_counts {
    int64_t processed, pushed, skipped, failed, examined, batches;
};

/* One record ready to push: the Simplix row `internal_id` (a product's parent row), its
 * canonical JSON and the hash of what is sent. */
struct export_item {
    int64_t internal_id;
    char   *json;
    char    hash[65];
};

#define EXPORT_BATCH_MAX 1000

/*
 * Load the canonical record of a Simplix row and decide whether it needs a push.
 * 0 with it->json set (malloc'd) to push, 0 with it->json NULL when there is nothing to send
 * (deleted since, or unchanged since the last sync), or a HUB_E_* code.
 */
static int
export_prepare(struct hub_db *db, const struct integ *in, const char *entity, int64_t internal_id,
               struct export_counts *ec, struct export_item *it, struct hub_error *err)
{
    PGresult            *r = NULL;
    char                 ids[24], iid[24], org[24], hash[65] = "";
    const char          *p[3];
    int64_t              parent = internal_id;
    int                  rc;

    memset(it, 0, sizeof(*it));
    snprintf(ids, sizeof(ids), "%" PRId64, in->id);
    snprintf(org, sizeof(org), "%" PRId64, in->org);
    if (strcmp(entity, "product") == 0) {
        /* A variant row exports its product. */
        snprintf(iid, sizeof(iid), "%" PRId64, internal_id);
        p[0] = iid;
        if (hub_db_query(db, "SELECT coalesce(parent_id, id) FROM products WHERE id = $1", 1, p,
                         &r, err) == 0 && PQntuples(r) == 1)
            parent = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        r = NULL;
    }
    it->internal_id = parent;
    snprintf(iid, sizeof(iid), "%" PRId64, parent);
    p[0] = ids;
    p[1] = iid;
    p[2] = org;
    rc = hub_db_query(db, strcmp(entity, "customer") == 0 ? sql_export_customer :
                      sql_export_product, 3, p, &r, err);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        ec->skipped++;
        return 0;                  /* deleted since: nothing to send */
    }
    it->json = strdup(PQgetvalue(r, 0, 0));
    if (!PQgetisnull(r, 0, 1))
        snprintf(hash, sizeof(hash), "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    if (it->json == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");

    /* Unchanged since the last sync (an import brought exactly this): nothing to send. The
     * hash compares the record without its updated_at, which a local touch changes. */
    {
        json_object *o = json_tokener_parse(it->json);
        char         h2[65] = "";

        if (o != NULL) {
            const char *t;
            char        h[65];

            json_object_object_add(o, "updated_at", json_object_new_string("1970-01-01T00:00:00Z"));
            t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
            if (hub_sync_record_hash(t, strlen(t), h, err) == 0)
                snprintf(h2, sizeof(h2), "x%.63s", h);
            json_object_put(o);
        }
        if (h2[0] != '\0' && strcmp(h2, hash) == 0) {
            free(it->json);
            it->json = NULL;
            ec->skipped++;
            return 0;
        }
        snprintf(it->hash, sizeof(it->hash), "%s", h2);
    }
    return 0;
}

static void
export_failed(struct hub_buf *details, struct export_counts *ec, int64_t internal_id,
              const char *msg)
{
    ec->failed++;
    if (details->len < 256 * 1024) {
        hub_buf_printf(details, "%s{\"internal_id\":%" PRId64 ",\"error\":",
                       details->len ? "," : "", internal_id);
        hub_buf_json_str(details, msg, strlen(msg));
        hub_buf_puts(details, "}");
    }
}

/* The hash an import would give `platform_json` (the connector's canonical form of the
 * record as the platform has it after the push), into out[65]; "" when there is none. The
 * echo of the push is recognised by it (apply.c, classify; migration 0023). */
static void
echo_hash(sx_str platform_json, char out[65])
{
    struct hub_error e;

    out[0] = '\0';
    if (platform_json.ptr != NULL && platform_json.len > 0 &&
        platform_json.len <= 16 * 1024 * 1024)
        (void)hub_sync_record_hash(platform_json.ptr, platform_json.len, out, &e);
}

/* The mapping records the platform's id and time, and the hash of what we sent: when the
 * record comes back by the next import it is recognised as ours. `complete` 0: the push
 * failed after the platform created the record (a later write of the same push was refused);
 * the mapping is kept without a hash or time, so the retry updates that record instead of
 * creating a second one, and the record is not counted as pushed. */
static int
export_record(struct hub_db *db, const struct integ *in, const char *entity,
              const struct export_item *it, sx_str external_id, int64_t external_updated_at,
              sx_str platform_json, int complete, struct export_counts *ec,
              struct hub_buf *details, struct hub_error *err)
{
    char        ids[24], iid[24], ext[520], upd[32], echo[65] = "";
    const char *p[7];
    PGresult   *res = NULL;
    int         rc, own_tx;

    snprintf(ids, sizeof(ids), "%" PRId64, in->id);
    snprintf(iid, sizeof(iid), "%" PRId64, it->internal_id);
    snprintf(ext, sizeof(ext), "%.*s", (int)external_id.len, external_id.ptr);
    snprintf(upd, sizeof(upd), "%" PRId64, external_updated_at);
    p[0] = ids;
    p[1] = entity;
    p[2] = iid;
    p[3] = ext;
    p[4] = complete ? upd : "0";
    p[5] = complete ? it->hash : NULL;
    if (complete)
        echo_hash(platform_json, echo);
    p[6] = echo[0] != '\0' ? echo : NULL;
    own_tx = !db->in_tx;
    if (own_tx && (rc = hub_db_begin(db, err)) < 0)
        return rc;
    /* Under the record's lock (sync/apply.h), so a webhook batch or an import page carrying
     * this record waits for the mapping. One of them may have been quicker: it brought the
     * record in while the push was under way and mapped the platform's id to a row it
     * created, a copy of ours. The mapping moves to the row we pushed; the copy stays, for
     * review, and is named in the log. */
    rc = hub_sync_lock_one(db, in->id, entity, ext, err);
    if (rc == 0)
        rc = hub_db_query(db, "DELETE FROM integration_mappings WHERE integration_id = $1 AND "
                          "entity = $2 AND external_id = $4 AND internal_id <> $3::bigint "
                          "RETURNING internal_id", 4, p, &res, err);
    if (rc == 0 && PQntuples(res) > 0) {
        hub_log_warn("sync", "integration %s: %s %s came in from the platform as row %s while "
                     "row %s was being exported as it; the mapping now points to row %s, and "
                     "row %s is a copy to review", ids, entity, ext, PQgetvalue(res, 0, 0), iid,
                     iid, PQgetvalue(res, 0, 0));
        /* In the run's details too, where the administrator looks (sync logs, the API). */
        if (details != NULL && details->len < 256 * 1024) {
            hub_buf_printf(details, "%s{\"internal_id\":%s,\"external_id\":",
                           details->len ? "," : "", iid);
            hub_buf_json_str(details, ext, strlen(ext));
            hub_buf_printf(details, ",\"copy_internal_id\":%s,\"warning\":\"the record came "
                           "back from the platform before its export was recorded; row %s is "
                           "a copy to review\"}", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 0));
        }
    }
    PQclear(res);
    if (rc == 0)
        rc = hub_db_query(db, "INSERT INTO integration_mappings (integration_id, entity, "
                      "internal_id, external_id, external_updated_at, internal_updated_at, "
                      "content_hash, last_synced_at, last_direction, echo_hash) VALUES "
                      "($1, $2, $3, $4, "
                      "CASE WHEN $5::bigint > 0 THEN to_timestamp($5::bigint / 1000.0) END, "
                      "now(), $6, now(), 'export', $7) "
                      "ON CONFLICT (integration_id, entity, internal_id) DO UPDATE SET "
                      "external_id = EXCLUDED.external_id, external_updated_at = "
                      "coalesce(EXCLUDED.external_updated_at, integration_mappings.external_updated_at), "
                      "internal_updated_at = now(), content_hash = EXCLUDED.content_hash, "
                      "last_synced_at = now(), last_direction = 'export', "
                      "echo_hash = EXCLUDED.echo_hash", 7, p, NULL, err);
    if (own_tx) {
        if (rc == 0)
            rc = hub_db_commit(db, err);
        else
            hub_db_rollback(db);
    }
    if (rc == 0 && complete)
        ec->pushed++;
    return rc;
}

static int
external_id_ok(sx_str id)
{
    return id.ptr != NULL && id.len > 0 && id.len <= 512 && memchr(id.ptr, '\0', id.len) == NULL;
}

/* Push one Simplix row. 0 pushed or skipped; HUB_E_TRANSIENT to stop and retry later;
 * HUB_E_REJECTED when the platform refused this record (logged, the export goes on). */
static int
export_one(struct hub_db *db, struct hub_instance *inst, const struct integ *in,
           const char *entity, int64_t internal_id, struct export_counts *ec,
           struct hub_buf *details, struct hub_error *err)
{
    const sx_entity_ops *ops = hub_plugin_entity(inst->plugin, hub_sync_entity_id(entity));
    struct export_item   it;
    struct hub_call      call;
    sx_push_res          res;
    int                  rc;

    rc = export_prepare(db, in, entity, internal_id, ec, &it, err);
    if (rc < 0 || it.json == NULL)
        return rc;
    ec->processed++;
    memset(&res, 0, sizeof(res));
    res.hdr.abi_version = SX_ABI_VERSION;
    res.hdr.struct_size = sizeof(res);
    hub_call_begin(&call, inst, db);
    rc = ops->push(&call.cx, sx_cstr(it.json), &res);
    rc = hub_call_result(&call, rc, "push()");
    if (rc == 0 && !external_id_ok(res.external_id)) {
        rc = SX_E_PROTOCOL;
        hub_error_set(&call.err, rc, "push() returned no external id");
    }
    if (rc < 0) {
        hub_error_set(err, hub_sync_retryable(rc) ? HUB_E_TRANSIENT : HUB_E_REJECTED, "%s %" PRId64
                      ": %s", entity, it.internal_id, call.err.msg);
        if (external_id_ok(res.external_id)) {
            struct hub_error merr;

            if (export_record(db, in, entity, &it, res.external_id, 0, SX_STR_NULL, 0, ec,
                              details, &merr) < 0)
                hub_log_warn("sync", "integration %" PRId64 ": %s %" PRId64 " exists on the "
                             "platform as %.*s but its mapping could not be kept: %s", in->id,
                             entity, it.internal_id, (int)res.external_id.len,
                             res.external_id.ptr, merr.msg);
        }
        hub_call_end(&call);
        free(it.json);
        if (!hub_sync_retryable(rc)) {
            export_failed(details, ec, it.internal_id, err->msg);
            return HUB_E_REJECTED;
        }
        return HUB_E_TRANSIENT;
    }
    rc = export_record(db, in, entity, &it, res.external_id, res.external_updated_at,
                       res.canonical_json, 1, ec, details, err);
    hub_call_end(&call);
    free(it.json);
    return rc;
}

/* Records of one entity waiting for one push_batch() call. */
struct export_batch {
    const char        *entity;     /* "customer" | "product" (static strings) */
    size_t             n;
    struct export_item items[EXPORT_BATCH_MAX];
};

static void
batch_clear(struct export_batch *b)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        free(b->items[i].json);
    b->n = 0;
    b->entity = NULL;
}

static int
batch_has(const struct export_batch *b, int64_t internal_id)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        if (b->items[i].internal_id == internal_id)
            return 1;
    }
    return 0;
}

/*
 * Push the batch with the connector's push_batch(): one platform request for up to max_batch
 * records. 0 when every record was pushed or refused for good (counted and logged);
 * HUB_E_TRANSIENT when the batch (or one of its records) must be tried again later: what was
 * written is recorded, so the retry finds it unchanged and skips it.
 */
static int
batch_flush(struct hub_db *db, struct hub_instance *inst, const struct integ *in,
            struct export_batch *b, struct export_counts *ec, struct hub_buf *details,
            struct hub_error *err)
{
    const sx_entity_ops *ops;
    struct hub_call      call;
    sx_str              *strs;
    sx_push_res         *res;
    size_t               i;
    int                  rc, again = 0;

    if (b->n == 0)
        return 0;
    ops = hub_plugin_entity(inst->plugin, hub_sync_entity_id(b->entity));
    strs = calloc(b->n, sizeof(*strs));
    res = calloc(b->n, sizeof(*res));
    if (strs == NULL || res == NULL) {
        free(strs);
        free(res);
        batch_clear(b);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    for (i = 0; i < b->n; i++) {
        strs[i] = sx_cstr(b->items[i].json);
        res[i].hdr.abi_version = SX_ABI_VERSION;
        res[i].hdr.struct_size = sizeof(res[i]);
        res[i].status = SX_E_INTERNAL;          /* a record the plugin leaves alone failed */
    }
    ec->processed += (int64_t)b->n;
    ec->batches++;
    hub_call_begin(&call, inst, db);
    rc = ops->push_batch(&call.cx, strs, (uint32_t)b->n, res);
    rc = hub_call_result(&call, rc, "push_batch()");
    if (rc < 0) {
        /* The whole batch: nothing is known to be written. */
        hub_error_set(err, hub_sync_retryable(rc) ? HUB_E_TRANSIENT : HUB_E_REJECTED,
                      "%s batch of %zu: %s", b->entity, b->n, call.err.msg);
        if (hub_sync_retryable(rc)) {
            ec->processed -= (int64_t)b->n;
            rc = HUB_E_TRANSIENT;
        } else {
            for (i = 0; i < b->n; i++)
                export_failed(details, ec, b->items[i].internal_id, err->msg);
            rc = 0;
        }
        goto out;
    }
    rc = 0;
    for (i = 0; i < b->n && rc == 0; i++) {
        int st = res[i].status;

        if (st == SX_OK && !external_id_ok(res[i].external_id))
            st = SX_E_PROTOCOL;
        if (st == SX_OK) {
            rc = export_record(db, in, b->entity, &b->items[i], res[i].external_id,
                               res[i].external_updated_at, res[i].canonical_json, 1, ec,
                               details, err);
        } else if (hub_sync_retryable(st)) {
            again = 1;
            ec->processed--;
        } else {
            char msg[600];

            snprintf(msg, sizeof(msg), "%s %" PRId64 ": %s: %.*s", b->entity,
                     b->items[i].internal_id, sx_status_name(st),
                     res[i].error.ptr != NULL && res[i].error.len <= 500 ? (int)res[i].error.len
                                                                         : 0,
                     res[i].error.ptr != NULL ? res[i].error.ptr : "");
            export_failed(details, ec, b->items[i].internal_id, msg);
        }
    }
    if (rc == 0 && again)
        rc = hub_error_set(err, HUB_E_TRANSIENT, "%s batch: some records must be sent again",
                           b->entity);
out:
    hub_call_end(&call);
    free(strs);
    free(res);
    batch_clear(b);
    return rc;
}

int
hub_sync_job_export(const struct hub_job *job, struct hub_job_run *run, void *ctx,
                    struct hub_error *err)
{
    struct hub_sync     *s = ctx;
    struct integ         in;
    struct hub_instance *inst = NULL;
    struct export_counts ec;
    struct hub_buf       details;
    json_object         *pl = json_tokener_parse(job->payload), *v;
    int64_t              integration_id = 0, last = 0, log_id = 0, pending_last = 0;
    struct export_batch *batch = NULL;
    char                 ids[24], org[24], lasts[24];
    const char          *p[4];
    PGresult            *res = NULL;
    int                  rc, i, n;

    if (pl != NULL && json_object_object_get_ex(pl, "integration_id", &v))
        integration_id = json_object_get_int64(v);
    json_object_put(pl);
    if (integration_id <= 0)
        return hub_error_set(err, HUB_E_INVALID, "sync.export payload needs integration_id");
    rc = hub_sync_integ_load(run->db, integration_id, &in, err);
    if (rc < 0)
        return rc == HUB_E_NOT_FOUND ? HUB_E_INVALID : rc;
    if (strcmp(in.status, "ACTIVE") != 0) {
        hub_sync_integ_free(&in);
        run->result = "{\"skipped\":\"integration is not ACTIVE\"}";
        return 0;
    }
    inst = hub_sync_instance_get(s, run->db, &in, err);
    if (inst == NULL) {
        hub_sync_integ_free(&in);
        return HUB_E_TRANSIENT;
    }
    rc = hub_sync_fresh_token(s, run->db, inst, err);
    if (rc < 0) {
        hub_sync_instance_put(s, inst);
        hub_sync_integ_free(&in);
        return rc == HUB_E_AUTH ? HUB_E_REJECTED : rc;
    }
    memset(&ec, 0, sizeof(ec));
    hub_buf_init(&details, 1 << 20);
    batch = calloc(1, sizeof(*batch));
    if (batch == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(ids, sizeof(ids), "%" PRId64, in.id);
    snprintf(org, sizeof(org), "%" PRId64, in.org);
    p[0] = ids;
    /* An integration exports the changes made since it was created (its first export starts
     * there); what Simplix held before is not pushed as "changes". */
    rc = hub_db_query(run->db, "INSERT INTO sync_state (integration_id, entity, direction, "
                      "last_outbox_id) SELECT i.id, '*', 'export', coalesce((SELECT max(o.id) "
                      "FROM outbox o WHERE o.organization_id = i.organization_id AND "
                      "o.created_at < i.created_at), 0) FROM integrations i WHERE i.id = $1 "
                      "ON CONFLICT DO NOTHING", 1, p, NULL, err);
    if (rc == 0)
        rc = hub_db_query(run->db, "SELECT last_outbox_id FROM sync_state WHERE integration_id "
                          "= $1 AND entity = '*' AND direction = 'export'", 1, p, &res, err);
    if (rc < 0)
        goto out;
    last = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = NULL;

    for (;;) {
        snprintf(lasts, sizeof(lasts), "%" PRId64, last);
        p[0] = org;
        p[1] = lasts;
        rc = hub_db_query(run->db, "SELECT id, entity, internal_id, op, "
                          "coalesce(origin_integration_id, 0) FROM outbox WHERE "
                          "organization_id = $1 AND id > $2 ORDER BY id LIMIT 200", 2, p, &res,
                          err);
        if (rc < 0)
            goto out;
        n = PQntuples(res);
        if (n == 0)
            break;
        for (i = 0; i < n; i++) {
            int64_t     id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
            const char *entity = PQgetvalue(res, i, 1);
            int64_t     internal = strtoll(PQgetvalue(res, i, 2), NULL, 10);
            int64_t     origin = strtoll(PQgetvalue(res, i, 4), NULL, 10);
            const sx_entity_ops *ops;

            ec.examined++;
            ops = hub_sync_entity_ok(entity) ? hub_plugin_entity(inst->plugin, hub_sync_entity_id(entity)) : NULL;
            if (origin == in.id || strcmp(PQgetvalue(res, i, 3), "upsert") != 0 || ops == NULL ||
                !(ops->directions & SX_DIR_EXPORT) || !hub_sync_setting_direction(&in, entity, "export")) {
                /* Our own import (no echo), a delete, or an entity this integration does
                 * not export. Past it now, or once the pending batch is written. */
                if (batch->n > 0)
                    pending_last = id;
                else
                    last = id;
                continue;
            }
            if (ops->push_batch != NULL && ops->max_batch >= 2) {
                struct export_item it;
                const char        *ent = strcmp(entity, "customer") == 0 ? "customer" : "product";

                rc = export_prepare(run->db, &in, entity, internal, &ec, &it, err);
                if (rc < 0)
                    goto save;
                if (it.json == NULL) {
                    pending_last = id;     /* nothing to send: past it once the batch is */
                    if (batch->n == 0)
                        last = id;
                    continue;
                }
                /* Never two changes of one record in a batch (a create would be sent twice);
                 * one entity per batch; at most max_batch. */
                if (batch->n > 0 && (batch->entity != ent || batch_has(batch, it.internal_id) ||
                                     batch->n >= ops->max_batch || batch->n >= EXPORT_BATCH_MAX)) {
                    rc = batch_flush(run->db, inst, &in, batch, &ec, &details, err);
                    if (rc < 0) {
                        free(it.json);
                        goto save;
                    }
                    last = pending_last;
                }
                batch->entity = ent;
                batch->items[batch->n++] = it;
                pending_last = id;
                continue;
            }
            if (batch->n > 0) {
                rc = batch_flush(run->db, inst, &in, batch, &ec, &details, err);
                if (rc < 0)
                    goto save;
                last = pending_last;
            }
            rc = export_one(run->db, inst, &in, entity, internal, &ec, &details, err);
            if (rc == HUB_E_TRANSIENT || rc == HUB_E_DB) {
                goto save;              /* retry from this change later */
            }
            last = id;
        }
        PQclear(res);
        res = NULL;
        if (batch->n > 0) {
            rc = batch_flush(run->db, inst, &in, batch, &ec, &details, err);
            if (rc < 0)
                goto save;
        }
        if (pending_last > last)
            last = pending_last;
        if (hub_worker_stopping(run))
            break;
    }
    rc = 0;
save:
    batch_clear(batch);
    {
        int         src = rc;
        struct hub_error serr;
        char        cnt[4][24], *arr;

        PQclear(res);
        res = NULL;
        snprintf(lasts, sizeof(lasts), "%" PRId64, last);
        p[0] = ids;
        p[1] = lasts;
        hub_db_query(run->db, "UPDATE sync_state SET last_outbox_id = $2, updated_at = now() "
                     "WHERE integration_id = $1 AND entity = '*' AND direction = 'export'", 2,
                     p, NULL, &serr);
        if (ec.examined > 0) {
            snprintf(cnt[0], sizeof(cnt[0]), "%" PRId64, ec.processed);
            snprintf(cnt[1], sizeof(cnt[1]), "%" PRId64, ec.pushed);
            snprintf(cnt[2], sizeof(cnt[2]), "%" PRId64, ec.failed);
            arr = malloc(details.len + 3);
            if (arr != NULL) {
                const char *q[9];
                char        job_id[24];

                snprintf(arr, details.len + 3, "[%s]", details.data ? details.data : "");
                snprintf(job_id, sizeof(job_id), "%" PRId64, job->id);
                snprintf(cnt[3], sizeof(cnt[3]), "%" PRId64, ec.examined - ec.processed);
                q[0] = ids;
                q[1] = cnt[0];
                q[2] = cnt[1];
                q[3] = cnt[2];
                q[4] = src == 0 ? (ec.failed ? "PARTIAL" : "COMPLETED") : "FAILED";
                q[5] = arr;
                q[6] = job_id;
                q[7] = cnt[3];
                q[8] = inst->plugin->desc.version;
                if (hub_db_query(run->db, "INSERT INTO integration_sync_logs (integration_id, "
                                 "entity, direction, type, status, processed, updated, failed, "
                                 "skipped, error_details, finished_at, duration_ms, job_id, "
                                 "connector_version) VALUES "
                                 "($1, '*', 'export', 'incremental', $5, $2, $3, $4, $8, $6::jsonb, "
                                 "now(), 0, $7, left($9, 200)) RETURNING id", 9, q, &res, &serr) == 0)
                    log_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
                res = NULL;
                free(arr);
            }
        }
        rc = src;
    }
    if (rc == 0 && ec.processed > 0)
        hub_log_info("sync", "integration %s export: %" PRId64 " pushed, %" PRId64 " failed, %"
                     PRId64 " unchanged (log %" PRId64 ")", ids, ec.pushed, ec.failed,
                     ec.skipped, log_id);
out:
    if (batch != NULL)
        batch_clear(batch);
    free(batch);
    PQclear(res);
    hub_buf_free(&details);
    hub_sync_instance_put(s, inst);
    hub_sync_integ_free(&in);
    return rc;
}

