/*
 * The template connector: a complete, small connector to copy when writing a new one.
 *
 * It speaks to an imaginary REST platform ("Acme"):
 *   GET  {base_url}/api/customers?page=N&per_page=M[&updated_since=ISO]  -> {"customers":[...],
 *                                                                           "next_page":N|null}
 *   POST {base_url}/api/customers            create, answers the record
 *   PUT  {base_url}/api/customers/{id}       update, answers the record
 *   GET  {base_url}/api/me                   cheap authenticated call
 *   GET  {base_url}/api/customers/ids?limit=M[&after=ID] -> {"ids":["c1",...],"more":bool}
 *                                            every id that exists, in id order
 * with an API key in the "X-Api-Key" header. A record is
 *   {"id":"c_1","email":"a@b.c","name":"Ada Lovelace","updated_at":"2024-03-01T10:00:00Z"}.
 *
 * Rename "template"/"Acme", change the paths and the mapping, keep the shape: the host does
 * auth, retries, rate limits, persistence and threads; the connector only translates.
 */
#include <simplix/simplix.h>

#include <stdio.h>
#include <string.h>

#define ACME_MAX_PAGE  100

/* Config fields the admin UI asks for; secrets are stored encrypted by the host. */
static const sx_config_field acme_config[] = {
    { "base_url", SX_CFG_URL,    SX_CFG_REQUIRED, "Base URL of the Acme account, https://..." },
    { "api_key",  SX_CFG_SECRET, SX_CFG_REQUIRED, "API key from Acme's settings page" },
    { NULL, 0, 0, NULL }
};

/* Map one Acme customer object to canonical JSON (in the call's arena). */
static int
acme_map_customer(sx_ctx *cx, const sx_json *rec, sx_str *canonical)
{
    const sx_host_api *h = cx->host;
    sx_str             id, email = SX_STR_NULL, name = SX_STR_NULL, updated;
    char               qid[256], qemail[512], qname[512], qupd[96];
    char              *out;
    size_t             cap = 2048;
    int                n;

    if (h->json_string(h->json_get(rec, "id"), &id) != SX_OK || id.len == 0)
        return h->fail(cx, SX_E_PROTOCOL, "customer without an id");
    if (h->json_string(h->json_get(rec, "updated_at"), &updated) != SX_OK)
        return h->fail(cx, SX_E_PROTOCOL, "customer " SX_STR_FMT " has no updated_at",
                       SX_STR_ARG(id));
    (void)h->json_string(h->json_get(rec, "email"), &email);   /* optional */
    (void)h->json_string(h->json_get(rec, "name"), &name);     /* optional */

    if (sx_json_quote(id, qid, sizeof(qid)) == 0 ||
        sx_json_quote(email, qemail, sizeof(qemail)) == 0 ||
        sx_json_quote(name, qname, sizeof(qname)) == 0 ||
        sx_json_quote(updated, qupd, sizeof(qupd)) == 0)
        return h->fail(cx, SX_E_LIMIT, "customer " SX_STR_FMT " has an oversized field",
                       SX_STR_ARG(id));

    out = h->alloc(cx, cap);
    if (out == NULL)
        return SX_E_LIMIT;
    n = snprintf(out, cap,
                 "{\"" SX_K_EXTERNAL_ID "\":%s,\"" SX_K_UPDATED_AT "\":%s,"
                 "\"" SX_K_EMAIL "\":%s,\"" SX_K_COMPANY_NAME "\":%s}",
                 qid, qupd, qemail, qname);
    if (n < 0 || (size_t)n >= cap)
        return h->fail(cx, SX_E_LIMIT, "customer record too large");
    *canonical = (sx_str){ out, (size_t)n };
    return SX_OK;
}

/* Map one Acme customer object and hand it to the engine. */
static int
acme_emit_customer(sx_ctx *cx, const sx_json *rec)
{
    sx_str canonical;
    int    rc = acme_map_customer(cx, rec, &canonical);

    return rc != SX_OK ? rc : cx->host->emit(cx, SX_ENTITY_CUSTOMER, canonical);
}

static int
acme_customers_list(sx_ctx *cx, const sx_list_req *req, sx_list_res *res)
{
    const sx_host_api   *h = cx->host;
    sx_http_req          hr = SX_HTTP_REQ_INIT;
    const sx_http_resp  *resp;
    const sx_json       *doc, *items, *next;
    sx_str               since = SX_STR_NULL;
    int64_t              page = 1, next_page;
    uint32_t             per_page = req->page_size;
    char                *query, *cursor;
    size_t               i, n;
    int                  rc;

    if (req->cursor.len > 0) {
        /* Our cursor is the page number we returned last time. */
        const sx_json *c;

        if (h->json_parse(cx, req->cursor, &c) != SX_OK || h->json_int64(c, &page) != SX_OK ||
            page < 1)
            return h->fail(cx, SX_E_INVALID, "bad cursor " SX_STR_FMT, SX_STR_ARG(req->cursor));
    }
    if (per_page == 0 || per_page > ACME_MAX_PAGE)
        per_page = ACME_MAX_PAGE;
    if (req->updated_since_ms > 0 && h->time_format(cx, req->updated_since_ms, &since) != SX_OK)
        return SX_E_INTERNAL;

    query = h->alloc(cx, 256);
    if (query == NULL)
        return SX_E_LIMIT;
    snprintf(query, 256, "page=%lld&per_page=%u%s" SX_STR_FMT, (long long)page, per_page,
             since.len ? "&updated_since=" : "", SX_STR_ARG(since));

    hr.method = SX_HTTP_GET;
    hr.url = SX_STR("/api/customers");
    hr.query = sx_cstr(query);
    rc = h->http(cx, &hr, &resp);          /* retries and rate limits are the host's business */
    if (rc != SX_OK)
        return rc;                         /* the host already recorded why */

    if (h->json_parse(cx, resp->body, &doc) != SX_OK)
        return h->fail(cx, SX_E_PROTOCOL, "customers page is not JSON (%zu bytes)",
                       resp->body.len);
    items = h->json_get(doc, "customers");
    if (h->json_type(items) != SX_JSON_ARRAY)
        return h->fail(cx, SX_E_PROTOCOL, "customers page has no \"customers\" array");

    n = h->json_length(items);
    for (i = 0; i < n; i++) {
        rc = acme_emit_customer(cx, h->json_at(items, i));
        if (rc != SX_OK)
            return rc;
    }

    next = h->json_get(doc, "next_page");
    if (h->json_type(next) == SX_JSON_INT && h->json_int64(next, &next_page) == SX_OK &&
        next_page > page) {
        cursor = h->alloc(cx, 32);
        if (cursor == NULL)
            return SX_E_LIMIT;
        snprintf(cursor, 32, "%lld", (long long)next_page);
        res->next_cursor = sx_cstr(cursor);
        res->has_more = 1;
    }
    return SX_OK;
}

/*
 * Optional (ABI 1.2): the id of every customer that exists now, for the host's deletion sweep.
 * Acme drops deleted customers from its listings and sends no event, so only a listing of what
 * still exists tells. Keyset paging: the ids after the last one of the previous page, never an
 * offset (a customer deleted during the sweep must not shift a live one out of the listing).
 */
static int
acme_customers_list_ids(sx_ctx *cx, const sx_list_req *req, sx_list_res *res)
{
    const sx_host_api  *h = cx->host;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    const sx_http_resp *resp;
    const sx_json      *doc, *ids;
    sx_str              id = SX_STR_NULL;
    uint32_t            limit = req->page_size;
    char                after[65], query[160], qid[160], one[192], *cursor;
    size_t              i, n;
    int                 rc, more = 0;

    if (limit == 0 || limit > 1000)
        limit = 1000;
    /* Our cursor is the last id we listed; it goes back to Acme, so check it first. */
    if (req->cursor.len >= sizeof(after))
        return h->fail(cx, SX_E_INVALID, "bad id cursor");
    memcpy(after, req->cursor.ptr != NULL ? req->cursor.ptr : "", req->cursor.len);
    after[req->cursor.len] = '\0';
    if (strspn(after, "abcdefghijklmnopqrstuvwxyz0123456789_-") != req->cursor.len)
        return h->fail(cx, SX_E_INVALID, "bad id cursor");
    snprintf(query, sizeof(query), "limit=%u%s%s", limit, after[0] ? "&after=" : "", after);
    hr.url = SX_STR("/api/customers/ids");
    hr.query = sx_cstr(query);
    rc = h->http(cx, &hr, &resp);
    if (rc != SX_OK)
        return rc;
    if (h->json_parse(cx, resp->body, &doc) != SX_OK ||
        h->json_type(ids = h->json_get(doc, "ids")) != SX_JSON_ARRAY)
        return h->fail(cx, SX_E_PROTOCOL, "the id listing has no \"ids\" array");
    (void)h->json_bool(h->json_get(doc, "more"), &more);
    n = h->json_length(ids);
    if (n > limit)
        return h->fail(cx, SX_E_PROTOCOL, "Acme listed %zu ids for a page of %u", n, limit);
    for (i = 0; i < n; i++) {
        if (h->json_string(h->json_at(ids, i), &id) != SX_OK || id.len == 0 || id.len > 64 ||
            sx_json_quote(id, qid, sizeof(qid)) == 0)
            return h->fail(cx, SX_E_PROTOCOL, "the id listing has a bad id");
        snprintf(one, sizeof(one), "{\"" SX_K_EXTERNAL_ID "\":%s}", qid);
        if ((rc = h->emit(cx, SX_ENTITY_CUSTOMER, sx_cstr(one))) != SX_OK)
            return rc;
    }
    if (more && n > 0) {
        cursor = h->alloc(cx, id.len + 1);
        if (cursor == NULL)
            return SX_E_LIMIT;
        memcpy(cursor, id.ptr, id.len);
        cursor[id.len] = '\0';
        res->next_cursor = (sx_str){ cursor, id.len };
        res->has_more = 1;
    }
    return SX_OK;
}

static int
acme_customers_push(sx_ctx *cx, sx_str canonical_json, sx_push_res *res)
{
    const sx_host_api  *h = cx->host;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    const sx_http_resp *resp;
    const sx_json      *rec, *out;
    sx_str              ext = SX_STR_NULL, email = SX_STR_NULL, name = SX_STR_NULL, upd;
    char                qemail[512], qname[512], *body, *url;
    int                 rc, n;

    if (h->json_parse(cx, canonical_json, &rec) != SX_OK)
        return h->fail(cx, SX_E_INVALID, "canonical customer is not JSON");
    (void)h->json_string(h->json_get(rec, SX_K_EXTERNAL_ID), &ext);
    (void)h->json_string(h->json_get(rec, SX_K_EMAIL), &email);
    (void)h->json_string(h->json_get(rec, SX_K_COMPANY_NAME), &name);
    if (sx_json_quote(email, qemail, sizeof(qemail)) == 0 ||
        sx_json_quote(name, qname, sizeof(qname)) == 0)
        return h->fail(cx, SX_E_LIMIT, "customer field too long for Acme");

    body = h->alloc(cx, 1200);
    url = h->alloc(cx, 300);
    if (body == NULL || url == NULL)
        return SX_E_LIMIT;
    n = snprintf(body, 1200, "{\"email\":%s,\"name\":%s}", qemail, qname);
    if (n < 0 || n >= 1200)
        return SX_E_LIMIT;
    if (ext.len > 0) {
        hr.method = SX_HTTP_PUT;
        snprintf(url, 300, "/api/customers/" SX_STR_FMT, SX_STR_ARG(ext));
    } else {
        hr.method = SX_HTTP_POST;
        /* Acme has no idempotency key: one attempt, the engine decides about retrying. */
        hr.flags = SX_HTTP_NO_RETRY;
        snprintf(url, 300, "/api/customers");
    }
    hr.url = sx_cstr(url);
    hr.body = (sx_str){ body, (size_t)n };
    rc = h->http(cx, &hr, &resp);
    if (rc != SX_OK)
        return rc;
    if (h->json_parse(cx, resp->body, &out) != SX_OK ||
        h->json_string(h->json_get(out, "id"), &res->external_id) != SX_OK)
        return h->fail(cx, SX_E_PROTOCOL, "Acme answered a write without the record's id");
    if (h->json_string(h->json_get(out, "updated_at"), &upd) == SX_OK)
        (void)h->time_parse(upd, &res->external_updated_at);
    /* The record as Acme now has it, mapped as a listing maps it: the engine keeps its hash,
     * so that it knows this push when it comes back, and an edit made on Acme within the same
     * second (the same updated_at) for what it is. Optional, but without it such an edit is
     * taken for the echo. */
    (void)acme_map_customer(cx, out, &res->canonical_json);
    return SX_OK;
}

static int
acme_test_connection(sx_ctx *cx)
{
    const sx_host_api  *h = cx->host;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    const sx_http_resp *resp;
    int                 rc;

    hr.url = SX_STR("/api/me");
    hr.flags = SX_HTTP_NO_RETRY;
    rc = h->http(cx, &hr, &resp);
    if (rc == SX_E_AUTH)
        return h->fail(cx, rc, "Acme refused the API key: check it in Acme's settings");
    return rc;
}

static int
acme_instance_new(sx_ctx *cx, void **state)
{
    /* Acme allows 10 requests per second with bursts of 20; the host enforces it for every
     * integration on the same account. */
    static const sx_rate_policy policy = {
        SX_HEADER_INIT(sx_rate_policy), SX_RATE_TOKEN_BUCKET, 20, 10000, 4, 0, 0
    };

    *state = NULL;                         /* nothing per instance in this connector */
    return cx->host->rate_configure(cx, &policy);
}

static void
acme_instance_free(void *state)
{
    (void)state;
}

static const sx_entity_ops acme_customers = {
    .hdr        = SX_HEADER_INIT(sx_entity_ops),
    .entity     = SX_ENTITY_CUSTOMER,
    .directions = SX_DIR_IMPORT | SX_DIR_EXPORT,
    .list       = acme_customers_list,
    .push       = acme_customers_push,
    .list_ids   = acme_customers_list_ids,     /* ABI 1.2, optional: the deletion sweep */
};

static const sx_entity_ops *acme_entities[] = { &acme_customers, NULL };

static const sx_auth_ops acme_auth = {
    .hdr         = SX_HEADER_INIT(sx_auth_ops),
    .apply       = SX_APPLY_HEADER,
    .header_name = "X-Api-Key",
    .token_key   = "api_key",
};

static const sx_connector acme = {
    .hdr             = SX_HEADER_INIT(sx_connector),
    .id              = "template",
    .display_name    = "Template (Acme)",
    .version         = "1.0.0",
    .license         = "MIT",
    .auth_kind       = SX_AUTH_API_KEY,
    .caps            = SX_CAP_INCREMENTAL,
    .config          = acme_config,
    .entities        = acme_entities,
    .auth            = &acme_auth,
    .webhook         = NULL,
    .instance_new    = acme_instance_new,
    .instance_free   = acme_instance_free,
    .test_connection = acme_test_connection,
};

SX_CONNECTOR_DEFINE(acme)
