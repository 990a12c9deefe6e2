/*
 * The admin API's webhook events (list, read, replay), the organization's Simplix records
 * (companies, products, invoices), the connectors, and the operator's organizations and
 * marketplace. See api.h for the security model and docs/API.md for the routes.
 */
#include "api/api_internal.h"
#include "core/log.h"
#include "marketplace/install.h"
#include "oauth/oauth.h"
#include "plugin/hostapi.h"
#include "sync/engine.h"
#include "webhook/webhook.h"

#include <ctype.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- webhook events --------------------------------------------------------------------------- */

/* The public shape of a webhook event: never its headers, body, signature or source address
 * (they may carry the platform's signatures and the shop's data). */
#define EVENT_JSON                                                                          \
    "json_build_object('id', e.id, 'received_at', e.received_at, 'topic', e.topic, "        \
    "'delivery_id', e.delivery_id, 'status', e.status, 'attempts', e.attempts, "            \
    "'last_error', e.last_error, 'processed_at', e.processed_at)::text"

static int
event_status_ok(const char *s)
{
    static const char *const ok[] = { "PENDING", "PROCESSING", "PROCESSED", "FAILED", "SKIPPED" };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (strcmp(s, ok[i]) == 0)
            return 1;
    }
    return 0;
}

void
api_h_events_list(struct api_req *r)
{
    struct api_page pg;
    PGresult   *res = NULL;
    const char *p[4], *status;
    char        ids[24];
    int64_t     id;

    if (api_own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (api_page_parse(r, &pg, 1) < 0)
        goto out;
    status = hub_oauth_param(&pg.qp, "status");
    if (status != NULL && !event_status_ok(status)) {
        api_error(r, 400, "invalid_query", NULL, "status is PENDING, PROCESSING, PROCESSED, "
                  "FAILED or SKIPPED");
        goto out;
    }
    p[0] = ids;
    p[1] = pg.after;
    p[2] = pg.limit1;
    p[3] = status;
    if (api_q(r, "SELECT e.id, " EVENT_JSON " FROM integration_webhook_events e WHERE "
              "e.integration_id = $1::bigint AND e.id < $2::bigint AND ($4::text IS NULL OR "
              "e.status = $4) ORDER BY e.id DESC LIMIT $3::int", 4, p, &res) == 0)
        api_page_reply(r, &pg, res);
out:
    PQclear(res);
    api_page_free(&pg);
}

void
api_h_event_get(struct api_req *r)
{
    PGresult   *res = NULL;
    const char *p[2];
    char        ids[24], eids[24];

    if (api_own_child(r, "event_id", "webhook event", ids, eids) < 0)
        return;
    p[0] = ids;
    p[1] = eids;
    if (api_q(r, "SELECT " EVENT_JSON " FROM integration_webhook_events e WHERE e.integration_id = "
              "$1::bigint AND e.id = $2::bigint", 2, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        api_not_found(r, "webhook event");
    else
        api_reply_raw(r, 200, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

static int
digits(const char *s, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). Only the shape: PostgreSQL
 * checks the calendar (rfc3339_valid). */
static int
rfc3339_shape(const char *s)
{
    size_t len = strlen(s), i = 19;

    if (len < 20 || len > 40 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
        s[7] != '-' || !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
        !digits(s + 17, 2))
        return 0;
    if (s[i] == '.') {
        i++;
        if (!isdigit((unsigned char)s[i]))
            return 0;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0')
        return 1;
    return (s[i] == '+' || s[i] == '-') && len - i == 6 && digits(s + i + 1, 2) &&
           s[i + 3] == ':' && digits(s + i + 4, 2);
}

/* since / until: RFC 3339 that PostgreSQL accepts as a timestamptz. 422 answered otherwise. */
static int
rfc3339_valid(struct api_req *r, const char *since, const char *until)
{
    const char      *p[2] = { since, until };
    struct hub_error e;
    PGresult        *res = NULL;

    if ((since != NULL && !rfc3339_shape(since)) || (until != NULL && !rfc3339_shape(until)))
        goto bad;
    /* A failed cast here is the client's mistake, not a 500 (no transaction is open). */
    if (hub_db_query(r->db, "SELECT $1::timestamptz, $2::timestamptz", 2, p, &res, &e) < 0)
        goto bad;
    PQclear(res);
    return 0;
bad:
    api_error(r, 422, "invalid_field", NULL, "since and until are RFC 3339 date-times "
              "(2026-01-31T12:00:00Z)");
    return -1;
}

void
api_h_events_replay(struct api_req *r)
{
    struct hub_webhook_filter f;
    json_object              *o = NULL, *v;
    const char               *since, *until, *p[2];
    PGresult                 *res = NULL;
    char                      ids[24], eids[24];
    int64_t                   id, n = 0;
    int                       has_event;

    if (api_own_integration(r, &id, ids, &res) < 0)
        return;
    PQclear(res);
    res = NULL;
    if (api_body_object(r, &o) < 0)
        return;
    memset(&f, 0, sizeof(f));
    f.integration_id = id;     /* never another integration's (or organization's) events */
    has_event = json_object_object_get_ex(o, "event_id", &v) &&
                !json_object_is_type(v, json_type_null);
    if (has_event) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0) {
            api_error(r, 422, "invalid_field", NULL, "event_id must be a positive integer");
            goto out;
        }
        f.event_id = json_object_get_int64(v);
    }
    if (api_member_str(r, o, "since", 40, &since) < 0 ||
        api_member_str(r, o, "until", 40, &until) < 0)
        goto out;
    if (has_event == (since != NULL || until != NULL)) {
        api_error(r, 422, "missing_field", "{\"one_of\":[[\"event_id\"],[\"since\",\"until\"]]}",
                  "give either event_id, or since and/or until");
        goto out;
    }
    if (has_event) {
        snprintf(eids, sizeof(eids), "%" PRId64, f.event_id);
        p[0] = ids;
        p[1] = eids;
        if (api_q(r, "SELECT 1 FROM integration_webhook_events WHERE integration_id = $1::bigint "
                  "AND id = $2::bigint", 2, p, &res) < 0)
            goto out;
        if (PQntuples(res) == 0) {
            api_not_found(r, "webhook event");
            goto out;
        }
    } else {
        if (rfc3339_valid(r, since, until) < 0)
            goto out;
        f.since = since;
        f.until = until;
    }
    if (hub_webhook_replay(r->db, &f, &n, &r->err) < 0) {
        api_internal(r, "webhook replay");
        goto out;
    }
    hub_log_info("api", "organization %s replayed %" PRId64 " webhook event(s) of integration %s",
                 r->org, n, ids);
    hub_buf_reset(&r->body);
    hub_buf_printf(&r->body, "{\"integration_id\":%" PRId64 ",\"replayed\":%" PRId64
                   ",\"status\":\"queued\"}", id, n);
    r->status = 202;
out:
    PQclear(res);
    json_object_put(o);
}

/* ---- Simplix records ---------------------------------------------------------------------------- */

static void
org_list(struct api_req *r, const char *sql)
{
    struct api_page pg;
    const char *p[3];
    PGresult   *res = NULL;

    if (api_page_parse(r, &pg, 0) < 0)
        goto out;
    p[0] = r->org;
    p[1] = pg.after;
    p[2] = pg.limit1;
    if (api_q(r, sql, 3, p, &res) == 0)
        api_page_reply(r, &pg, res);
out:
    PQclear(res);
    api_page_free(&pg);
}

void
api_h_companies(struct api_req *r)
{
    org_list(r, "SELECT c.id, row_to_json(c)::text FROM (SELECT id, name, contact_first_name, "
             "contact_last_name, email, phone, address_line1, address_line2, city, region, "
             "postal_code, country_code, tax_id, tax_exempt, currency, origin_integration_id, "
             "created_at, updated_at FROM companies WHERE organization_id = $1::bigint AND id > "
             "$2::bigint ORDER BY id LIMIT $3::int) c ORDER BY c.id");
}

void
api_h_products(struct api_req *r)
{
    org_list(r, "SELECT c.id, row_to_json(c)::text FROM (SELECT id, parent_id, name, "
             "description, sku, barcode, vendor, price_minor, currency, stock, taxable, status, "
             "origin_integration_id, created_at, updated_at FROM products WHERE "
             "organization_id = $1::bigint AND id > $2::bigint ORDER BY id LIMIT $3::int) c "
             "ORDER BY c.id");
}

void
api_h_invoices(struct api_req *r)
{
    org_list(r, "SELECT c.id, row_to_json(c)::text FROM (SELECT v.id, v.company_id, v.number, "
             "v.status, v.currency, v.taxes_included, v.subtotal_minor, v.discount_minor, "
             "v.shipping_minor, v.tax_minor, v.total_minor, v.refunded_minor, v.issued_at, "
             "v.due_at, v.paid_at, v.cancelled_at, v.origin_integration_id, v.created_at, "
             "v.updated_at, (SELECT coalesce(json_agg(json_build_object('id', l.id, 'kind', "
             "l.kind, 'description', l.description, 'sku', l.sku, 'product_id', l.product_id, "
             "'quantity', l.quantity, 'unit_price_minor', l.unit_price_minor, 'total_minor', "
             "l.total_minor) ORDER BY l.position, l.id), '[]'::json) FROM invoice_lines l WHERE "
             "l.invoice_id = v.id) AS lines FROM invoices v WHERE v.organization_id = $1::bigint "
             "AND v.id > $2::bigint ORDER BY v.id LIMIT $3::int) c ORDER BY c.id");
}

/* ---- connectors -------------------------------------------------------------------------------- */

struct describe_acc {
    struct hub_buf *b;
    int             n;
    int             rc;
};

static void
describe_one(const struct hub_plugin *p, void *arg)
{
    struct describe_acc *a = arg;

    if (a->rc < 0)
        return;
    if (a->n++ > 0)
        a->rc = hub_buf_puts(a->b, ",");
    if (a->rc == 0)
        a->rc = hub_plugin_describe_json(p, a->b);
}

void
api_h_connectors(struct api_req *r)
{
    struct describe_acc a = { &r->body, 0, 0 };

    hub_buf_reset(&r->body);
    hub_buf_puts(&r->body, "{\"data\":[");
    hub_plugins_foreach(r->ctx->plugins, describe_one, &a);
    if (a.rc < 0 || hub_buf_puts(&r->body, "]}") < 0) {
        api_error(r, 500, "internal", NULL, "could not describe the connectors");
        return;
    }
    r->status = 200;
}

/* ---- organizations (operator tokens) ----------------------------------------------------------- */

#define ORG_JSON                                                                            \
    "json_build_object('id', o.id, 'name', o.name, 'currency', o.currency, 'created_at', "  \
    "o.created_at, 'updated_at', o.updated_at, 'integrations', (SELECT count(*) FROM "      \
    "integrations i WHERE i.organization_id = o.id AND i.deleted_at IS NULL))::text"

static void
org_reply(struct api_req *r, const char *ids, int status)
{
    const char *p[1] = { ids };
    PGresult   *res = NULL;

    if (api_q(r, "SELECT " ORG_JSON " FROM organizations o WHERE o.id = $1::bigint", 1, p,
              &res) < 0)
        return;
    if (PQntuples(res) == 0)
        api_not_found(r, "organization");
    else
        api_reply_raw(r, status, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

void
api_h_orgs_list(struct api_req *r)
{
    struct api_page pg;
    const char *p[2];
    PGresult   *res = NULL;

    if (api_page_parse(r, &pg, 0) < 0)
        goto out;
    p[0] = pg.after;
    p[1] = pg.limit1;
    if (api_q(r, "SELECT o.id, " ORG_JSON " FROM organizations o WHERE o.id > $1::bigint ORDER BY "
              "o.id LIMIT $2::int", 2, p, &res) == 0)
        api_page_reply(r, &pg, res);
out:
    PQclear(res);
    api_page_free(&pg);
}

void
api_h_orgs_create(struct api_req *r)
{
    json_object *o = NULL;
    const char  *name, *currency, *p[2];
    PGresult    *res = NULL;
    char         ids[24];

    if (api_body_object(r, &o) < 0)
        return;
    if (api_member_str(r, o, "name", 300, &name) < 0 ||
        api_member_str(r, o, "currency", 3, &currency) < 0)
        goto out;
    if (name == NULL) {
        api_error(r, 422, "missing_field", "{\"required\":[\"name\"]}", "name is required");
        goto out;
    }
    if (currency != NULL && (strlen(currency) != 3 || !isupper((unsigned char)currency[0]) ||
                             !isupper((unsigned char)currency[1]) ||
                             !isupper((unsigned char)currency[2]))) {
        api_error(r, 422, "invalid_field", NULL, "currency is an ISO 4217 code (EUR)");
        goto out;
    }
    p[0] = name;
    p[1] = currency;
    if (api_q(r, "INSERT INTO organizations (name, currency) VALUES ($1, coalesce($2, 'EUR')) "
              "RETURNING id", 2, p, &res) < 0)
        goto out;
    snprintf(ids, sizeof(ids), "%s", PQgetvalue(res, 0, 0));
    hub_log_info("api", "operator created organization %s", ids);
    org_reply(r, ids, 201);
    if (r->status == 201)
        snprintf(r->location, sizeof(r->location), HUB_API_PREFIX "/organizations/%s", ids);
out:
    PQclear(res);
    json_object_put(o);
}

void
api_h_org_get(struct api_req *r)
{
    int64_t id;
    char    ids[24];

    if (api_param_id(r, "org_id", &id, ids) < 0)
        api_not_found(r, "organization");
    else
        org_reply(r, ids, 200);
}

/* ---- marketplace (operator tokens) ---------------------------------------------------------------- */

static int
market_cfg(struct api_req *r, struct hub_market_cfg *mc)
{
    mc->marketplace_dir = r->ctx->marketplace_dir;
    mc->trust_path = r->ctx->marketplace_trust;
    mc->plugin_dir = r->ctx->plugin_dir;
    mc->actor = "api";
    if (mc->marketplace_dir == NULL || mc->marketplace_dir[0] == '\0') {
        api_error(r, 503, "unavailable", NULL, "this hub has no marketplace folder "
                  "(SX_MARKETPLACE_DIR)");
        return -1;
    }
    return 0;
}

static void
market_error(struct api_req *r, int rc, const char *msg)
{
    switch (rc) {
    case HUB_E_NOT_FOUND: api_error(r, 404, "not_found", NULL, "%s", msg); break;
    case HUB_E_CONFLICT:  api_error(r, 409, "conflict", NULL, "%s", msg); break;
    case HUB_E_SIGNATURE:
    case HUB_E_REJECTED:
    case HUB_E_PLUGIN:
    case HUB_E_PLUGIN_ABI:
    case HUB_E_INVALID:   api_error(r, 422, "package_refused", NULL, "%s", msg); break;
    default:              api_error(r, 500, "internal", NULL, "%s", msg); break;
    }
}

/* {connector_id}: [a-z0-9_]{1,64}. */
static const char *
market_id(struct api_req *r)
{
    const char *id = hub_http_job_param(r->job, "connector_id");
    size_t      i, n = id != NULL ? strlen(id) : 0;

    for (i = 0; i < n; i++) {
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '_'))
            break;
    }
    if (n == 0 || n > 64 || i < n) {
        api_not_found(r, "connector");
        return NULL;
    }
    return id;
}

static void
market_reply(struct api_req *r, const char *id, const char *version, const char *status)
{
    struct hub_buf b;

    hub_buf_init(&b, 4096);
    hub_buf_puts(&b, "{\"id\":");
    hub_buf_json_str(&b, id, strlen(id));
    hub_buf_puts(&b, ",\"version\":");
    if (version != NULL)
        hub_buf_json_str(&b, version, strlen(version));
    else
        hub_buf_puts(&b, "null");
    hub_buf_printf(&b, ",\"status\":\"%s\",\"note\":\"the hubs switch within a few seconds\"}",
                   status);
    api_reply_raw(r, 200, b.data, b.len);
    hub_buf_free(&b);
}

void
api_h_market_list(struct api_req *r)
{
    struct hub_market_cfg mc;
    struct hub_buf        b;
    struct hub_error      e;
    int                   rc;

    if (market_cfg(r, &mc) < 0)
        return;
    hub_buf_init(&b, 16 << 20);
    rc = hub_market_list_json(r->db, &mc, &b, &e);
    if (rc < 0)
        market_error(r, rc, e.msg);
    else
        api_reply_raw(r, 200, b.data, b.len);
    hub_buf_free(&b);
}

void
api_h_market_install(struct api_req *r)
{
    struct hub_market_cfg mc;
    struct hub_error      e;
    json_object          *o = NULL, *v;
    const char           *id, *version = NULL;
    char                  got[65] = "";
    size_t                len = 0;
    int                   rc, upgrade = 0;

    if (market_cfg(r, &mc) < 0 || (id = market_id(r)) == NULL)
        return;
    (void)hub_http_job_body(r->job, &len);
    if (len > 0) {
        if (api_body_object(r, &o) < 0)
            return;
        if (api_member_str(r, o, "version", 64, &version) < 0)
            goto out;
        if (json_object_object_get_ex(o, "upgrade", &v)) {
            if (!json_object_is_type(v, json_type_boolean)) {
                api_error(r, 422, "invalid_field", NULL, "upgrade is true or false");
                goto out;
            }
            upgrade = json_object_get_boolean(v);
        }
    }
    rc = hub_market_install(r->db, &mc, id, version, upgrade, got, sizeof(got), &e);
    if (rc < 0)
        market_error(r, rc, e.msg);
    else
        market_reply(r, id, got, "active");
out:
    json_object_put(o);
}

void
api_h_market_rollback(struct api_req *r)
{
    struct hub_market_cfg mc;
    struct hub_error      e;
    const char           *id;
    char                  got[65] = "";
    int                   rc;

    if (market_cfg(r, &mc) < 0 || (id = market_id(r)) == NULL)
        return;
    rc = hub_market_rollback(r->db, &mc, id, got, sizeof(got), &e);
    if (rc < 0)
        market_error(r, rc, e.msg);
    else
        market_reply(r, id, got, "active");
}

void
api_h_market_remove(struct api_req *r)
{
    struct hub_market_cfg mc;
    struct hub_error      e;
    const char           *id, *qs = hub_http_job_query(r->job);
    int                   rc;

    if (market_cfg(r, &mc) < 0 || (id = market_id(r)) == NULL)
        return;
    rc = hub_market_remove(r->db, &mc, id, qs != NULL && strstr(qs, "force=true") != NULL, &e);
    if (rc < 0)
        market_error(r, rc, e.msg);
    else
        market_reply(r, id, NULL, "removed");
}
