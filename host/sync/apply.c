#include "sync/apply.h"
#include "core/log.h"
#include "core/jscan.h"
#include "plugin/hostapi.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A page applied to the Simplix tables (apply.h): classified against the mappings, written by
 * set-based statements, variants in a second round, record by record when one is refused. The
 * page itself, the record locks and the statistics refresh are page.c.
 */

enum { ACT_SKIP = 0, ACT_NEW, ACT_UPDATE, ACT_DELETE };

/* ---- SQL per entity ----------------------------------------------------------------------------- */

/* A batch element: {"i": internal id, "e": external id, "u": updated_at ms, "h": hash,
 * "r": record}. The same shape feeds every statement below. */

/* The page's batch: "@B@" is replaced by the rows of one action of the statement's "sxb" CTE
 * (see build_statement), so one page is parsed once, whatever the number of statements. */
#define SQL_BATCH "@B@"

/*
 * Access paths that no statistics can change. Every statement below reaches its rows by id:
 * the batch's ids (primary key), a product's parent id, an invoice's lines (`= ANY (ARRAY(
 * ...))`, an index condition). The organization is checked as `organization_id + 0 = $2`, a
 * filter that no index can serve: written plainly, a plan made while a new organization's rows
 * were not yet in the statistics ("about one row") walked all of the organization's rows
 * through its (organization_id, id) index for every page, once they were thousands.
 */

#define SQL_CUSTOMER_FIELDS \
    "CROSS JOIN LATERAL jsonb_to_record(b.r) AS f(company_name text, first_name text, " \
    "  last_name text, email text, phone text, tax_exempt jsonb, currency text, note text, " \
    "  raw jsonb, created_at jsonb, addresses jsonb) " \
    "LEFT JOIN LATERAL jsonb_to_record(sx_pick_address(f.addresses)) AS a(line1 text, " \
    "  line2 text, city text, region text, postal_code text, country_code text) ON true "

#define SQL_CUSTOMER_NAME(t, fallback) \
    "left(coalesce(nullif(left(" t ".company_name, 500), ''), " \
    "  nullif(btrim(concat_ws(' ', left(" t ".first_name, 200), left(" t ".last_name, 200))), " \
    "''), " \
    "  nullif(left(" t ".email, 320), ''), " fallback "), 500)"

static const char sql_customer_insert[] =
    "INSERT INTO companies (id, organization_id, name, contact_first_name, contact_last_name, "
    "  email, phone, address_line1, address_line2, city, region, postal_code, country_code, "
    "  tax_exempt, currency, notes, external_data, origin_integration_id, created_at) "
    "SELECT b.i, $2, " SQL_CUSTOMER_NAME("f", "'Customer ' || b.e") ", "
    "  left(f.first_name, 200), left(f.last_name, 200), left(f.email, 320), left(f.phone, 64), "
    "  left(a.line1, 500), left(a.line2, 500), left(a.city, 200), left(a.region, 200), "
    "  left(a.postal_code, 32), substring(a.country_code FROM '^[A-Z]{2}$'), "
    "  coalesce(sx_bool(f.tax_exempt), false), substring(f.currency FROM '^[A-Z]{3}$'), "
    "  left(f.note, 10000), coalesce(f.raw, '{}'::jsonb), $1, coalesce(sx_time(f.created_at), "
    "now()) "
    "FROM " SQL_BATCH " " SQL_CUSTOMER_FIELDS;

static const char sql_customer_update[] =
    "UPDATE companies c SET "
    "  name = " SQL_CUSTOMER_NAME("x", "c.name") ", "
    "  contact_first_name = CASE WHEN x.r ? 'first_name' THEN left(x.first_name, 200) ELSE "
    "c.contact_first_name END, "
    "  contact_last_name = CASE WHEN x.r ? 'last_name' THEN left(x.last_name, 200) ELSE "
    "c.contact_last_name END, "
    "  email = CASE WHEN x.r ? 'email' THEN left(x.email, 320) ELSE c.email END, "
    "  phone = CASE WHEN x.r ? 'phone' THEN left(x.phone, 64) ELSE c.phone END, "
    "  address_line1 = CASE WHEN x.r ? 'addresses' THEN left(x.line1, 500) ELSE c.address_line1 "
    "END, "
    "  address_line2 = CASE WHEN x.r ? 'addresses' THEN left(x.line2, 500) ELSE c.address_line2 "
    "END, "
    "  city = CASE WHEN x.r ? 'addresses' THEN left(x.city, 200) ELSE c.city END, "
    "  region = CASE WHEN x.r ? 'addresses' THEN left(x.region, 200) ELSE c.region END, "
    "  postal_code = CASE WHEN x.r ? 'addresses' THEN left(x.postal_code, 32) ELSE c.postal_code "
    "END, "
    "  country_code = CASE WHEN x.r ? 'addresses' THEN substring(x.country_code FROM "
    "'^[A-Z]{2}$') ELSE c.country_code END, "
    "  tax_exempt = coalesce(sx_bool(x.tax_exempt), c.tax_exempt), "
    "  currency = CASE WHEN x.r ? 'currency' THEN substring(x.currency FROM '^[A-Z]{3}$') ELSE "
    "c.currency END, "
    "  notes = CASE WHEN x.r ? 'note' THEN left(x.note, 10000) ELSE c.notes END, "
    "  external_data = CASE WHEN x.r ? 'raw' THEN x.raw ELSE c.external_data END, "
    "  origin_integration_id = $1 "
    "FROM (SELECT b.i, b.r, f.*, a.* FROM " SQL_BATCH " " SQL_CUSTOMER_FIELDS ") x "
    "WHERE c.id = x.i AND c.organization_id + 0 = $2";

static const char sql_customer_delete[] =
    "UPDATE companies c SET external_data = c.external_data || "
    "  jsonb_build_object('deleted_on_platform', true, 'deleted_integration_id', $1::bigint), "
    "  origin_integration_id = $1 "
    "FROM " SQL_BATCH " "
    "WHERE c.id = b.i AND c.organization_id + 0 = $2";

#define SQL_PRODUCT_FIELDS \
    "CROSS JOIN LATERAL jsonb_to_record(b.r) AS f(title text, description text, vendor text, " \
    "  status text, currency text, raw jsonb, created_at jsonb, variants jsonb) "

static const char sql_product_insert[] =
    "INSERT INTO products (id, organization_id, name, description, vendor, price_minor, currency, "
    "  status, external_data, origin_integration_id, created_at) "
    "SELECT b.i, $2, left(coalesce(nullif(left(f.title, 1000), ''), 'Product ' || b.e), 1000), "
    "  left(f.description, 100000), left(f.vendor, 500), "
    "  coalesce(sx_int(f.variants->0->'price_minor'), 0), "
    "  coalesce(substring(f.currency FROM '^[A-Z]{3}$'), '" HUB_SYNC_NO_CURRENCY "'), "
    "  coalesce(substring(f.status FROM '^(?:active|draft|archived)$'), 'active'), "
    "  coalesce(f.raw, '{}'::jsonb), $1, coalesce(sx_time(f.created_at), now()) "
    "FROM " SQL_BATCH " " SQL_PRODUCT_FIELDS;

static const char sql_product_update[] =
    "UPDATE products p SET "
    "  name = left(coalesce(nullif(left(x.title, 1000), ''), p.name), 1000), "
    "  description = CASE WHEN x.r ? 'description' THEN left(x.description, 100000) ELSE "
    "p.description END, "
    "  vendor = CASE WHEN x.r ? 'vendor' THEN left(x.vendor, 500) ELSE p.vendor END, "
    "  price_minor = coalesce(sx_int(x.variants->0->'price_minor'), p.price_minor), "
    "  currency = coalesce(substring(x.currency FROM '^[A-Z]{3}$'), p.currency), "
    "  status = coalesce(substring(x.status FROM '^(?:active|draft|archived)$'), p.status), "
    "  external_data = CASE WHEN x.r ? 'raw' THEN x.raw ELSE p.external_data END, "
    "  origin_integration_id = $1 "
    "FROM (SELECT b.i, b.r, f.* FROM " SQL_BATCH " " SQL_PRODUCT_FIELDS ") x "
    "WHERE p.id = x.i AND p.organization_id + 0 = $2";

static const char sql_product_delete[] =
    "UPDATE products p SET status = 'archived', origin_integration_id = $1 "
    "WHERE (p.id = ANY (ARRAY(SELECT b.i FROM " SQL_BATCH ")) "
    "    OR p.parent_id = ANY (ARRAY(SELECT b.i FROM " SQL_BATCH "))) "
    "  AND p.organization_id + 0 = $2";

/* Variants: batch elements {"i": id, "e": variant id, "p": parent id, "r": variant,
 * "t": product title, "c": currency, "s": status}. */
static const char sql_variant_upsert[] =
    "INSERT INTO products (id, organization_id, parent_id, name, sku, barcode, price_minor, "
    "  currency, stock, taxable, status, position, external_data, origin_integration_id) "
    "SELECT b.i, $2, b.p, "
    "  left(CASE WHEN coalesce(left(v.title, 500), '') IN ('', 'Default Title') "
    "            THEN coalesce(nullif(b.t, ''), 'Variant ' || b.e) "
    "            ELSE coalesce(nullif(b.t, ''), 'Product') || ' - ' || left(v.title, 500) END, "
    "1000), "
    "  left(v.sku, 200), left(v.barcode, 200), coalesce(sx_int(v.price_minor), 0), "
    "  coalesce(b.c, '" HUB_SYNC_NO_CURRENCY "'), sx_int(v.stock), "
    "  coalesce(sx_bool(v.taxable), true), "
    "  coalesce(b.s, 'active'), coalesce(sx_int(v.position), 0)::integer, "
    "  jsonb_build_object('variant_external_id', b.e), $1 "
    "FROM jsonb_to_recordset($3::jsonb) AS b(i bigint, p bigint, e text, t text, c text, "
    "  s text, r jsonb) "
    "CROSS JOIN LATERAL jsonb_to_record(b.r) AS v(title text, sku text, barcode text, "
    "  price_minor jsonb, stock jsonb, taxable jsonb, position jsonb) "
    "ON CONFLICT (id) DO UPDATE SET parent_id = EXCLUDED.parent_id, name = EXCLUDED.name, "
    "  sku = EXCLUDED.sku, barcode = EXCLUDED.barcode, price_minor = EXCLUDED.price_minor, "
    "  currency = EXCLUDED.currency, stock = EXCLUDED.stock, taxable = EXCLUDED.taxable, "
    "  status = EXCLUDED.status, position = EXCLUDED.position, "
    "  origin_integration_id = EXCLUDED.origin_integration_id";

/* Variants that disappeared from an updated product are archived, not deleted. */
static const char sql_variant_archive_missing[] =
    "UPDATE products p SET status = 'archived', origin_integration_id = $1 "
    "WHERE p.parent_id = ANY (ARRAY(SELECT (e)::bigint FROM "
    "  jsonb_array_elements_text($3::jsonb) e)) AND p.organization_id + 0 = $2 "
    "  AND p.status <> 'archived' AND NOT (p.id = ANY (ARRAY(SELECT (e)::bigint FROM "
    "  jsonb_array_elements_text($4::jsonb) e)))";

#define SQL_ORDER_X \
    "(SELECT b.i, f.* FROM " SQL_BATCH " " \
    "  CROSS JOIN LATERAL jsonb_to_record(b.r) AS f(number text, status text, " \
    "    financial_status text, currency text, taxes_included jsonb, subtotal_minor jsonb, " \
    "    discount_minor jsonb, shipping_minor jsonb, tax_minor jsonb, total_minor jsonb, " \
    "    refunded_minor jsonb, billing_address jsonb, shipping_address jsonb, note text, " \
    "    created_at jsonb, cancelled_at jsonb, raw jsonb, customer jsonb)) x "

#define SQL_ORDER_COLUMNS \
    "company_id, number, status, currency, taxes_included, subtotal_minor, discount_minor, " \
    "shipping_minor, tax_minor, total_minor, refunded_minor, billing_address, shipping_address, " \
    "notes, issued_at, cancelled_at, external_data, origin_integration_id"

#define SQL_ORDER_EXPRS \
    "(SELECT m.internal_id FROM integration_mappings m WHERE m.integration_id = $1 " \
    "   AND m.entity = 'customer' AND m.external_id = x.customer->>'external_id'), " \
    " left(x.number, 100), " \
    " CASE WHEN x.status = 'cancelled' THEN 'cancelled' WHEN x.status = 'draft' THEN 'draft' " \
    "      WHEN x.financial_status IN ('pending', 'authorized', 'partially_paid', 'paid', " \
    "        'partially_refunded', 'refunded', 'voided') THEN x.financial_status " \
    "      ELSE 'issued' END, " \
    " coalesce(substring(x.currency FROM '^[A-Z]{3}$'), '" HUB_SYNC_NO_CURRENCY "'), " \
    " coalesce(sx_bool(x.taxes_included), false), coalesce(sx_int(x.subtotal_minor), 0), " \
    " coalesce(sx_int(x.discount_minor), 0), coalesce(sx_int(x.shipping_minor), 0), " \
    " coalesce(sx_int(x.tax_minor), 0), coalesce(sx_int(x.total_minor), 0), " \
    " greatest(coalesce(sx_int(x.refunded_minor), 0), 0), " \
    " CASE WHEN jsonb_typeof(x.billing_address) = 'object' THEN x.billing_address END, " \
    " CASE WHEN jsonb_typeof(x.shipping_address) = 'object' THEN x.shipping_address END, " \
    " left(x.note, 10000), sx_time(x.created_at), sx_time(x.cancelled_at), " \
    " coalesce(x.raw, '{}'::jsonb), $1 "

static const char sql_order_insert[] =
    "INSERT INTO invoices (id, organization_id, " SQL_ORDER_COLUMNS ") "
    "SELECT x.i, $2, " SQL_ORDER_EXPRS " FROM " SQL_ORDER_X;

static const char sql_order_update[] =
    "UPDATE invoices v SET (" SQL_ORDER_COLUMNS ") = ROW(" SQL_ORDER_EXPRS ") "
    "FROM " SQL_ORDER_X " WHERE v.id = x.i AND v.organization_id + 0 = $2";

static const char sql_order_lines_delete[] =
    "DELETE FROM invoice_lines WHERE invoice_id = ANY (ARRAY(SELECT b.i FROM " SQL_BATCH "))";

static const char sql_order_lines_insert[] =
    "INSERT INTO invoice_lines (invoice_id, product_id, kind, description, sku, quantity, "
    "  unit_price_minor, discount_minor, tax_minor, total_minor, tax_rate_ppm, position, "
    "  external_data) "
    "SELECT b.i, "
    "  (SELECT m.internal_id FROM integration_mappings m WHERE m.integration_id = $1 "
    "     AND m.entity = 'variant' AND m.external_id = l.variant_external_id), "
    "  'line', left(coalesce(l.title, ''), 2000), left(l.sku, 200), "
    "  coalesce(sx_int(l.quantity), 1), coalesce(sx_int(l.unit_price_minor), 0), "
    "  coalesce(sx_int(l.discount_minor), 0), coalesce(sx_int(l.tax_minor), 0), "
    "  coalesce(sx_int(l.total_minor), coalesce(sx_int(l.quantity), 1) * "
    "           coalesce(sx_int(l.unit_price_minor), 0) - coalesce(sx_int(l.discount_minor), 0)), "
    "  (SELECT CASE WHEN sx_int(t->'rate_ppm') BETWEEN 0 AND 1000000 THEN sx_int(t->'rate_ppm') "
    "END "
    "     FROM jsonb_array_elements(CASE WHEN jsonb_typeof(l.taxes) = 'array' "
    "                                    THEN l.taxes ELSE '[]' END) t LIMIT 1)::integer, "
    "  l.n::integer, jsonb_strip_nulls(jsonb_build_object('external_id', l.external_id, "
    "    'product_external_id', l.product_external_id, "
    "    'variant_external_id', l.variant_external_id)) "
    "FROM " SQL_BATCH " "
    "CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(CASE WHEN jsonb_typeof(b.r->'lines') = "
    "  'array' THEN b.r->'lines' ELSE '[]' END) AS (external_id text, product_external_id text, "
    "  variant_external_id text, sku text, title text, quantity jsonb, unit_price_minor jsonb, "
    "  discount_minor jsonb, tax_minor jsonb, total_minor jsonb, taxes jsonb)) "
    "  WITH ORDINALITY AS l(external_id, product_external_id, variant_external_id, sku, title, "
    "  quantity, unit_price_minor, discount_minor, tax_minor, total_minor, taxes, n) "
    "UNION ALL "
    "SELECT b.i, NULL, 'shipping', left(coalesce(s.title, 'Shipping'), 2000), NULL, 1, "
    "  coalesce(sx_int(s.amount_minor), 0), 0, coalesce(sx_int(s.tax_minor), 0), "
    "  coalesce(sx_int(s.amount_minor), 0), NULL, (10000 + s.n)::integer, '{}'::jsonb "
    "FROM " SQL_BATCH " "
    "CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(CASE WHEN jsonb_typeof(b.r->'shipping') = "
    "  'array' THEN b.r->'shipping' ELSE '[]' END) AS (title text, amount_minor jsonb, "
    "  tax_minor jsonb)) WITH ORDINALITY AS s(title, amount_minor, tax_minor, n)";

static const char sql_order_delete[] =
    "UPDATE invoices v SET status = 'voided', origin_integration_id = $1 "
    "FROM " SQL_BATCH " "
    "WHERE v.id = b.i AND v.organization_id + 0 = $2";

static const char sql_variant_mapping_upsert[] =
    "INSERT INTO integration_mappings (integration_id, entity, internal_id, external_id, "
    "  external_updated_at, internal_updated_at, content_hash, last_synced_at, last_direction) "
    "SELECT $1, 'variant', b.i, b.e, to_timestamp(b.u / 1000.0), now(), NULL, now(), 'import' "
    "FROM jsonb_to_recordset($3::jsonb) AS b(i bigint, e text, u bigint) "
    "WHERE $2::bigint IS NOT NULL "
    "ON CONFLICT (integration_id, entity, external_id) DO UPDATE SET "
    "  internal_id = EXCLUDED.internal_id, external_updated_at = EXCLUDED.external_updated_at, "
    "  internal_updated_at = now(), last_synced_at = now(), last_direction = 'import', "
    "  echo_hash = NULL";

/* deleted_at: set by a delete (webhook, flagged record, sweep), cleared by any other import. */
static const char sql_mapping_upsert[] =
    "INSERT INTO integration_mappings (integration_id, entity, internal_id, external_id, "
    "  external_updated_at, internal_updated_at, content_hash, last_synced_at, last_direction, "
    "  deleted_at) "
    "SELECT $1, '@E@', b.i, b.e, to_timestamp(b.u / 1000.0), now(), b.h, now(), 'import', "
    "  CASE WHEN b.a = 'd' THEN now() END "
    "FROM " SQL_BATCH " "
    "ON CONFLICT (integration_id, entity, external_id) DO UPDATE SET "
    "  internal_id = EXCLUDED.internal_id, external_updated_at = EXCLUDED.external_updated_at, "
    "  internal_updated_at = now(), content_hash = EXCLUDED.content_hash, "
    "  last_synced_at = now(), last_direction = 'import', deleted_at = EXCLUDED.deleted_at, "
    "  echo_hash = NULL";

struct entity_sql {
    const char *name;
    const char *table;
    const char *insert;
    const char *update;
    const char *del;
};

static const struct entity_sql entity_sqls[] = {
    { "customer", "companies", sql_customer_insert, sql_customer_update, sql_customer_delete },
    { "product", "products", sql_product_insert, sql_product_update, sql_product_delete },
    { "order", "invoices", sql_order_insert, sql_order_update, sql_order_delete },
};

/* ---- helpers -------------------------------------------------------------------------------- */

struct classified {
    int     action;
    int64_t internal_id;
    int     conflict;         /* 1 platform wins, 2 Simplix wins */
};

static int
query3(struct hub_db *db, const char *sql, const char *p1, const char *p2, const char *p3,
       PGresult **out, struct hub_error *err)
{
    const char *params[3] = { p1, p2, p3 };

    return hub_db_query_prepared(db, sql, 3, params, out, err);
}

/* Append {"i":id,"a":action,"e":ext,"u":ms,"h":hash,"r":record} to a JSON array under
 * construction. The action is n(ew), u(pdate) or d(elete). */
static int
batch_add(struct hub_buf *b, int64_t id, char action, const struct hub_sync_rec *r)
{
    int rc = hub_buf_puts(b, b->len > 1 ? "," : "");

    rc |= hub_buf_printf(b, "{\"i\":%" PRId64 ",\"a\":\"%c\",\"u\":%" PRId64 ",\"h\":\"%s\","
                         "\"e\":", id, action, r->upd_ms, r->hash);
    rc |= hub_buf_json_str(b, r->ext, strlen(r->ext));
    rc |= hub_buf_puts(b, ",\"r\":");
    rc |= hub_buf_append(b, r->json, r->json_len);
    rc |= hub_buf_puts(b, "}");
    return rc != 0 ? HUB_E_LIMIT : 0;
}

static void
detail_add(struct hub_buf *details, const char *ext, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
detail_add(struct hub_buf *details, const char *ext, const char *key, const char *fmt, ...)
{
    char    msg[1024];
    va_list ap;

    if (details == NULL || details->len > 256 * 1024)     /* keep the log row bounded */
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hub_buf_puts(details, details->len > 0 ? "," : "");
    hub_buf_puts(details, "{\"external_id\":");
    hub_buf_json_str(details, ext, strlen(ext));
    hub_buf_printf(details, ",\"%s\":", key);
    hub_buf_json_str(details, msg, strlen(msg));
    hub_buf_puts(details, "}");
}

/* Ids for `n` new rows of `table`, from its own sequence, in one round trip. */
static int
alloc_ids(struct hub_db *db, const char *table, size_t n, int64_t *out, struct hub_error *err)
{
    char      sql[200], count[24];
    const char *params[1] = { count };
    PGresult *res = NULL;
    size_t    i;
    int       rc;

    snprintf(count, sizeof(count), "%zu", n);
    snprintf(sql, sizeof(sql), "SELECT nextval(pg_get_serial_sequence('%s', 'id')) "
             "FROM generate_series(1, $1::int)", table);
    rc = hub_db_query(db, sql, 1, params, &res, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < n && i < (size_t)PQntuples(res); i++)
        out[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* Classify every record of the page against the mappings and the Simplix rows. */
static int
classify(struct hub_db *db, const char *ids, const char *entity, const char *table,
         const char *exts_json, struct hub_sync_page *page, struct classified *out,
         struct hub_error *err)
{
    char      sql[1024];
    PGresult *res = NULL;
    size_t    i;
    int       rc;

    /* One index probe per record, whatever the statistics say: the lookup is a LATERAL
     * subquery that LIMIT keeps from being flattened into a join. As a join, a plan made while
     * the tables were nearly empty (a new integration, statistics not yet gathered; prepared
     * statements keep it) hashed every mapping of the integration for every page. */
    snprintf(sql, sizeof(sql),
             "SELECT d.ord, m.internal_id, m.content_hash, m.eu, m.ls, m.tu, m.last_direction, "
             "  m.echo_hash "
             "FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY d(ext, ord) "
             "LEFT JOIN LATERAL (SELECT x.internal_id, x.content_hash, "
             "  (extract(epoch FROM x.external_updated_at) * 1000)::bigint AS eu, "
             "  (extract(epoch FROM x.last_synced_at) * 1000)::bigint AS ls, "
             "  (SELECT (extract(epoch FROM t.updated_at) * 1000)::bigint FROM %s t "
             "    WHERE t.id = x.internal_id) AS tu, x.last_direction, x.echo_hash "
             "  FROM integration_mappings x WHERE x.integration_id = $1 AND x.entity = $3 "
             "  AND x.external_id = d.ext LIMIT 1) m ON true", table);
    rc = query3(db, sql, ids, exts_json, entity, &res, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < (size_t)PQntuples(res); i++) {
        size_t               k = (size_t)strtoll(PQgetvalue(res, (int)i, 0), NULL, 10) - 1;
        struct hub_sync_rec *r;
        struct classified   *c;
        int64_t              old_upd, synced, int_upd;
        int                  same_push;

        if (k >= page->n)
            continue;
        r = &page->recs[k];
        c = &out[k];
        c->conflict = 0;
        if (PQgetisnull(res, (int)i, 1)) {
            c->action = r->deleted ? ACT_SKIP : ACT_NEW;
            c->internal_id = 0;
            continue;
        }
        c->internal_id = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
        old_upd = PQgetisnull(res, (int)i, 3) ? 0 : strtoll(PQgetvalue(res, (int)i, 3), NULL, 10);
        synced = strtoll(PQgetvalue(res, (int)i, 4), NULL, 10);
        int_upd = PQgetisnull(res, (int)i, 5) ? 0 : strtoll(PQgetvalue(res, (int)i, 5), NULL, 10);
        /* carries the time our last push left: our echo, or an edit in that same second */
        same_push = r->upd_ms == old_upd && !r->deleted &&
                    strcmp(PQgetvalue(res, (int)i, 6), "export") == 0;
        if (!PQgetisnull(res, (int)i, 2) && strcmp(PQgetvalue(res, (int)i, 2), r->hash) == 0) {
            c->action = ACT_SKIP;                     /* nothing changed */
        } else if (r->upd_ms < old_upd) {
            c->action = ACT_SKIP;                     /* an older copy arrived late */
        } else if (same_push && (PQgetisnull(res, (int)i, 7) ||
                                 strcmp(PQgetvalue(res, (int)i, 7), r->hash) == 0)) {
            /* Our own push coming back: the time it left, and the record as the push left
             * it (its hash, when the connector returned that record; else the time alone). */
            c->action = ACT_SKIP;
        } else if (int_upd > synced && (r->upd_ms > old_upd || same_push)) {
            /* Both sides changed since the last sync (on the platform possibly in our push's
             * own second: it keeps updated_at to the second): the later writer wins. */
            c->conflict = int_upd > r->upd_ms ? 2 : 1;
            c->action = c->conflict == 2 ? ACT_SKIP : (r->deleted ? ACT_DELETE : ACT_UPDATE);
        } else {
            c->action = r->deleted ? ACT_DELETE : ACT_UPDATE;
        }
    }
    PQclear(res);
    return 0;
}

/* ---- products: the variants of the applied products ---------------------------------------- */

/* A string member decoded into a new allocation, or NULL (absent, not a string, \u0000). */
static char *
member_dup(const struct hub_jscan_member *m, size_t n, const char *key)
{
    const struct hub_jscan_member *v = hub_jscan_find(m, n, key);
    char                          *out;

    if (v == NULL || v->type != HUB_JSCAN_STRING)
        return NULL;
    out = malloc(v->val_len);
    if (out != NULL && hub_jscan_string(v->val, v->val_len, out, v->val_len) < 0) {
        free(out);
        out = NULL;
    }
    return out;
}

#define VARIANTS_MAX 2000

/* What apply_variants reads of one product record, read once with the scanner. */
struct vrec {
    int          has;              /* a product to apply with a "variants" array */
    char        *title;
    char         cur[4];
    char         status[16];
    size_t       n;                /* variants with a string external_id */
    char       **ext;
    char       **sku;
    const char **text;             /* each variant's JSON text, inside the record */
    size_t      *len;
};

static void
vrec_free(struct vrec *v)
{
    size_t i;

    for (i = 0; i < v->n; i++) {
        free(v->ext[i]);
        free(v->sku[i]);
    }
    free(v->title);
    free(v->ext);
    free(v->sku);
    free(v->text);
    free(v->len);
    memset(v, 0, sizeof(*v));
}

/* 0 (v->has may be 0: no variants array), or HUB_E_NOMEM. m, el and vm are scratch arrays
 * of HUB_SYNC_MAX_MEMBERS, VARIANTS_MAX and HUB_SYNC_MAX_MEMBERS members. */
static int
vrec_read(const struct hub_sync_rec *rec, struct vrec *v, struct hub_jscan_member *m,
          struct hub_jscan_member *el, struct hub_jscan_member *vm, struct hub_error *err)
{
    const struct hub_jscan_member *vs;
    struct hub_error               serr;
    char                           buf[16];
    size_t                         n = 0, ne = 0, nvm, j;
    int                            rc;

    memset(v, 0, sizeof(*v));
    if (hub_jscan_object(rec->json, rec->json_len, HUB_JSON_MAX_DEPTH, m, HUB_SYNC_MAX_MEMBERS, &n,
                         &serr) < 0)
        return 0;                  /* cannot happen: hub_sync_page_add checked it */
    vs = hub_jscan_find(m, n, "variants");
    if (vs == NULL || vs->type != HUB_JSCAN_ARRAY)
        return 0;
    rc = hub_jscan_array(vs->val, vs->val_len, HUB_JSON_MAX_DEPTH, el, VARIANTS_MAX, &ne, &serr);
    if (rc == HUB_E_LIMIT)
        ne = VARIANTS_MAX;         /* the first VARIANTS_MAX only */
    else if (rc < 0)
        return 0;
    v->has = 1;
    v->title = member_dup(m, n, "title");
    /* As the SQL reads the product's own (^[A-Z]{3}$), so that parent and variants agree. */
    snprintf(v->cur, sizeof(v->cur), "%s", HUB_SYNC_NO_CURRENCY);
    if (hub_jscan_find_str(m, n, "currency", buf, sizeof(buf)) == 0 && strlen(buf) == 3 &&
        strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3)
        memcpy(v->cur, buf, 4);
    snprintf(v->status, sizeof(v->status), "active");
    if (hub_jscan_find_str(m, n, "status", buf, sizeof(buf)) == 0 &&
        (strcmp(buf, "draft") == 0 || strcmp(buf, "archived") == 0))
        snprintf(v->status, sizeof(v->status), "%s", buf);
    v->ext = calloc(ne + 1, sizeof(*v->ext));
    v->sku = calloc(ne + 1, sizeof(*v->sku));
    v->text = calloc(ne + 1, sizeof(*v->text));
    v->len = calloc(ne + 1, sizeof(*v->len));
    if (v->ext == NULL || v->sku == NULL || v->text == NULL || v->len == NULL) {
        vrec_free(v);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    for (j = 0; j < ne; j++) {
        char *ext;

        if (el[j].type != HUB_JSCAN_OBJECT ||
            hub_jscan_object(el[j].val, el[j].val_len, HUB_JSON_MAX_DEPTH, vm, HUB_SYNC_MAX_MEMBERS,
                             &nvm, &serr) < 0)
            continue;
        ext = member_dup(vm, nvm, "external_id");
        if (ext == NULL)
            continue;
        v->ext[v->n] = ext;
        v->sku[v->n] = member_dup(vm, nvm, "sku");
        v->text[v->n] = el[j].val;
        v->len[v->n] = el[j].val_len;
        v->n++;
    }
    return 0;
}

static int
apply_variants(struct hub_db *db, const char *ids, const char *org, struct hub_sync_page *page,
               const struct classified *cls, size_t from, size_t to, struct hub_error *err)
{
    struct hub_buf           exts, batch, parents, keep;
    struct vrec             *docs = NULL;
    struct hub_jscan_member *m = NULL, *el = NULL, *vm = NULL;
    size_t                   i, j, nv = 0, k;
    int64_t                 *vids = NULL, *newids = NULL;
    PGresult                *res = NULL;
    size_t                   nnew = 0;
    int                      rc = 0;

    hub_buf_init(&exts, HUB_SYNC_PAGE_MAX_BYTES);
    hub_buf_init(&batch, HUB_SYNC_PAGE_MAX_BYTES);
    hub_buf_init(&parents, 1 << 20);
    hub_buf_init(&keep, 4 << 20);
    docs = calloc(page->n, sizeof(*docs));
    m = malloc(HUB_SYNC_MAX_MEMBERS * sizeof(*m));
    vm = malloc(HUB_SYNC_MAX_MEMBERS * sizeof(*vm));
    el = malloc(VARIANTS_MAX * sizeof(*el));
    if (docs == NULL || m == NULL || vm == NULL || el == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
        goto out;
    }
    hub_buf_puts(&exts, "[");
    hub_buf_puts(&parents, "[");
    for (i = from; i < to; i++) {
        if (cls[i].action != ACT_NEW && cls[i].action != ACT_UPDATE)
            continue;
        rc = vrec_read(&page->recs[i], &docs[i], m, el, vm, err);
        if (rc < 0)
            goto out;
        hub_buf_printf(&parents, "%s\"%" PRId64 "\"", parents.len > 1 ? "," : "",
                       cls[i].internal_id);
        for (j = 0; j < docs[i].n; j++) {
            const char *skus = docs[i].sku[j] != NULL ? docs[i].sku[j] : "";

            hub_buf_puts(&exts, nv ? ",{\"ext\":" : "{\"ext\":");
            hub_buf_json_str(&exts, docs[i].ext[j], strlen(docs[i].ext[j]));
            hub_buf_puts(&exts, ",\"sku\":");
            hub_buf_json_str(&exts, skus, strlen(skus));
            /* Only a product Simplix already had can have children to match by SKU. */
            hub_buf_printf(&exts, ",\"pid\":%" PRId64 "}",
                           cls[i].action == ACT_UPDATE ? cls[i].internal_id : (int64_t)0);
            nv++;
        }
    }
    hub_buf_puts(&exts, "]");
    hub_buf_puts(&parents, "]");
    if (nv == 0)
        goto archive;

    vids = calloc(nv, sizeof(*vids));
    newids = calloc(nv, sizeof(*newids));
    if (vids == NULL || newids == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
        goto out;
    }
    /* A variant we do not know may be one Simplix created and exported: the child of the same
     * parent with the same SKU and no mapping of this integration yet is that variant. */
    rc = query3(db, "SELECT d.ord, coalesce(m.internal_id, CASE WHEN d.pid > 0 AND d.sku <> '' "
                "  THEN (SELECT c.id FROM products c WHERE c.parent_id = d.pid AND c.sku = d.sku "
                "  AND NOT EXISTS (SELECT 1 FROM integration_mappings x WHERE x.integration_id = "
                "$1 "
                "  AND x.entity = $3 AND x.internal_id = c.id) LIMIT 1) END) "
                "FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (ext text, sku text, "
                "  pid bigint)) WITH ORDINALITY d(ext, sku, pid, ord) "
                "LEFT JOIN LATERAL (SELECT x.internal_id FROM integration_mappings x "
                "  WHERE x.integration_id = $1 AND x.entity = $3 AND x.external_id = d.ext "
                "  LIMIT 1) m ON true",   /* a probe per variant, as in classify() */
                ids, exts.data, "variant", &res, err);
    if (rc < 0)
        goto out;
    for (i = 0; i < (size_t)PQntuples(res); i++) {
        k = (size_t)strtoll(PQgetvalue(res, (int)i, 0), NULL, 10) - 1;
        if (k < nv && !PQgetisnull(res, (int)i, 1))
            vids[k] = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
        else if (k < nv)
            nnew++;
    }
    PQclear(res);
    res = NULL;
    if (nnew > 0) {
        rc = alloc_ids(db, "products", nnew, newids, err);
        if (rc < 0)
            goto out;
    }

    /* Second pass, same order: build the variant batch with ids. */
    hub_buf_puts(&batch, "[");
    hub_buf_puts(&keep, "[");
    for (i = from, k = 0, nnew = 0; i < to; i++) {
        const char *title = docs[i].title != NULL ? docs[i].title : "";

        for (j = 0; j < docs[i].n; j++) {
            int64_t vid = vids[k] != 0 ? vids[k] : newids[nnew++];

            k++;
            hub_buf_printf(&batch, "%s{\"i\":%" PRId64 ",\"p\":%" PRId64 ",\"u\":%" PRId64
                           ",\"h\":\"\",\"c\":\"%s\",\"s\":\"%s\",\"e\":",
                           batch.len > 1 ? "," : "", vid, cls[i].internal_id,
                           page->recs[i].upd_ms, docs[i].cur, docs[i].status);
            hub_buf_json_str(&batch, docs[i].ext[j], strlen(docs[i].ext[j]));
            hub_buf_puts(&batch, ",\"t\":");
            hub_buf_json_str(&batch, title, strlen(title));
            hub_buf_puts(&batch, ",\"r\":");
            hub_buf_append(&batch, docs[i].text[j], docs[i].len[j]);
            hub_buf_puts(&batch, "}");
            hub_buf_printf(&keep, "%s\"%" PRId64 "\"", keep.len > 1 ? "," : "", vid);
        }
    }
    if (hub_buf_puts(&batch, "]") < 0 || hub_buf_puts(&keep, "]") < 0) {
        rc = hub_error_set(err, HUB_E_LIMIT, "variant batch too large");
        goto out;
    }
    rc = query3(db, sql_variant_upsert, ids, org, batch.data, NULL, err);
    if (rc == 0)
        rc = query3(db, sql_variant_mapping_upsert, ids, org, batch.data, NULL, err);
    if (rc < 0)
        goto out;
archive:
    if (parents.len > 2) {
        const char *params[4] = { ids, org, parents.data, keep.len ? keep.data : "[]" };

        rc = hub_db_query(db, sql_variant_archive_missing, 4, params, NULL, err);
    }
out:
    PQclear(res);
    if (docs != NULL) {
        for (i = 0; i < page->n; i++)
            vrec_free(&docs[i]);
    }
    free(docs);
    free(m);
    free(vm);
    free(el);
    free(vids);
    free(newids);
    hub_buf_free(&exts);
    hub_buf_free(&batch);
    hub_buf_free(&parents);
    hub_buf_free(&keep);
    return rc;
}

/* ---- the page ------------------------------------------------------------------------------- */

/* Append `frag` with every "@B@" replaced by the batch rows matching `cond` (an SQL condition
 * on the action column, NULL for all rows) and "@E@" by `entity`. */
static int
append_fragment(struct hub_buf *out, const char *frag, const char *cond, const char *entity)
{
    const char *p = frag, *q;
    int         rc = 0;

    while ((q = strchr(p, '@')) != NULL) {
        if (strncmp(q, "@B@", 3) == 0) {
            rc |= hub_buf_append(out, p, (size_t)(q - p));
            if (cond == NULL)
                rc |= hub_buf_puts(out, "sxb b");
            else
                rc |= hub_buf_printf(out, "(SELECT * FROM sxb WHERE sxb.a %s) b", cond);
            p = q + 3;
        } else if (strncmp(q, "@E@", 3) == 0) {
            rc |= hub_buf_append(out, p, (size_t)(q - p));
            rc |= hub_buf_puts(out, entity);
            p = q + 3;
        } else {
            rc |= hub_buf_append(out, p, (size_t)(q - p) + 1);
            p = q + 1;
        }
    }
    rc |= hub_buf_puts(out, p);
    return rc;
}

/*
 * Apply the classified records [from, to) of the page. The batch is sent once: one statement
 * whose data-modifying CTEs insert, update and archive the rows, rewrite invoice lines and
 * upsert the mappings, all reading the same parsed batch ("sxb"). Products then get their
 * variants in a second round.
 */
static int
apply_set(struct hub_db *db, const char *ids, const char *org, const struct entity_sql *es,
          struct hub_sync_page *page, struct classified *cls, size_t from, size_t to,
          struct hub_sync_counts *counts, struct hub_error *err)
{
    struct hub_buf batch, sql;
    size_t         i, nnew = 0, nupd = 0, ndel = 0, k = 0, n = 0;
    int64_t       *newids = NULL;
    int            rc = 0, order = strcmp(es->name, "order") == 0;

    for (i = from; i < to; i++) {
        nnew += cls[i].action == ACT_NEW;
        nupd += cls[i].action == ACT_UPDATE;
        ndel += cls[i].action == ACT_DELETE;
    }
    if (nnew > 0) {
        newids = calloc(nnew, sizeof(*newids));
        if (newids == NULL)
            return hub_error_set(err, HUB_E_NOMEM, "out of memory");
        rc = alloc_ids(db, es->table, nnew, newids, err);
        if (rc < 0) {
            free(newids);
            return rc;
        }
    }
    hub_buf_init(&batch, HUB_SYNC_PAGE_MAX_BYTES * 2);
    hub_buf_init(&sql, 1 << 20);
    hub_buf_puts(&batch, "[");
    for (i = from; i < to && rc == 0; i++) {
        char a;

        if (cls[i].action == ACT_NEW) {
            cls[i].internal_id = newids[k++];
            a = 'n';
        } else if (cls[i].action == ACT_UPDATE) {
            a = 'u';
        } else if (cls[i].action == ACT_DELETE) {
            a = 'd';
        } else {
            continue;
        }
        rc = batch_add(&batch, cls[i].internal_id, a, &page->recs[i]);
        n++;
    }
    if (rc == 0)
        rc = hub_buf_puts(&batch, "]");
    if (rc != 0) {
        rc = hub_error_set(err, HUB_E_LIMIT, "page batch too large");
        goto out;
    }
    if (n > 0) {
        rc = hub_buf_puts(&sql, "WITH sxb AS MATERIALIZED (SELECT * FROM jsonb_to_recordset("
                          "$3::jsonb) AS x(i bigint, a text, e text, u bigint, h text, r jsonb))");
        if (nnew > 0) {
            rc |= hub_buf_puts(&sql, ", s_ins AS (");
            rc |= append_fragment(&sql, es->insert, "= 'n'", es->name);
            rc |= hub_buf_puts(&sql, ")");
        }
        if (nupd > 0) {
            rc |= hub_buf_puts(&sql, ", s_upd AS (");
            rc |= append_fragment(&sql, es->update, "= 'u'", es->name);
            rc |= hub_buf_puts(&sql, ")");
        }
        if (ndel > 0) {
            rc |= hub_buf_puts(&sql, ", s_del AS (");
            rc |= append_fragment(&sql, es->del, "= 'd'", es->name);
            rc |= hub_buf_puts(&sql, ")");
        }
        if (order && nupd > 0) {
            rc |= hub_buf_puts(&sql, ", s_ldel AS (");
            rc |= append_fragment(&sql, sql_order_lines_delete, "= 'u'", es->name);
            rc |= hub_buf_puts(&sql, ")");
        }
        if (order && nnew + nupd > 0) {
            rc |= hub_buf_puts(&sql, ", s_lins AS (");
            rc |= append_fragment(&sql, sql_order_lines_insert, "IN ('n', 'u')", es->name);
            rc |= hub_buf_puts(&sql, ")");
        }
        rc |= hub_buf_puts(&sql, ", s_map AS (");
        rc |= append_fragment(&sql, sql_mapping_upsert, NULL, es->name);
        rc |= hub_buf_puts(&sql, ") SELECT 1");
        if (rc != 0) {
            rc = hub_error_set(err, HUB_E_LIMIT, "statement too large");
            goto out;
        }
        rc = query3(db, sql.data, ids, org, batch.data, NULL, err);
    }
    if (rc == 0 && strcmp(es->name, "product") == 0)
        rc = apply_variants(db, ids, org, page, cls, from, to, err);
    if (rc < 0)
        goto out;
    for (i = from; i < to; i++) {
        if (cls[i].action == ACT_NEW)
            counts->created++;
        else if (cls[i].action == ACT_UPDATE)
            counts->updated++;
        else if (cls[i].action == ACT_DELETE)
            counts->deleted++;
        else
            counts->skipped++;
    }
out:
    free(newids);
    hub_buf_free(&batch);
    hub_buf_free(&sql);
    return rc;
}

int
hub_sync_apply_page(struct hub_db *db, int64_t integration_id, int64_t organization_id,
                    const char *entity, struct hub_sync_page *page,
                    struct hub_sync_counts *counts, struct hub_buf *details,
                    struct hub_error *err)
{
    const struct entity_sql *es = NULL;
    struct classified       *cls = NULL;
    struct hub_buf           exts;
    char                     ids[24], org[24], set[96];
    size_t                   i, j;
    int                      rc;

    for (i = 0; i < sizeof(entity_sqls) / sizeof(entity_sqls[0]); i++) {
        if (strcmp(entity_sqls[i].name, entity) == 0)
            es = &entity_sqls[i];
    }
    if (es == NULL)
        return hub_error_set(err, HUB_E_UNSUPPORTED, "the engine does not import %s yet",
                             entity);
    if (page->n == 0)
        return 0;
    snprintf(ids, sizeof(ids), "%" PRId64, integration_id);
    snprintf(org, sizeof(org), "%" PRId64, organization_id);
    /* Whoever else applies one of these records (another import, a webhook batch, a sweep)
     * waits, and this page's classification below sees what it committed: never two creations
     * of one record. A caller that took the locks already (webhook batches) takes them again
     * for free. */
    {
        struct hub_sync_page *pg[1] = { page };
        const char           *en[1] = { entity };

        rc = hub_sync_lock_records(db, integration_id, en, pg, 1, err);
        if (rc < 0)
            return rc;
    }

    /* A record repeated within a page: the last copy wins, the others are skipped. */
    for (i = 0; i < page->n; i++) {
        for (j = i + 1; j < page->n && j < i + 1 + HUB_SYNC_PAGE_MAX_RECORDS; j++) {
            if (strcmp(page->recs[i].ext, page->recs[j].ext) == 0) {
                page->recs[i].deleted = -1;        /* marker: superseded */
                break;
            }
        }
    }

    /* Every change of this transaction is this integration's: no echo back to it. */
    snprintf(set, sizeof(set), "SELECT set_config('simplix.origin_integration', '%s', true)", ids);
    rc = hub_db_exec(db, set, err);
    if (rc < 0)
        return rc;

    cls = calloc(page->n, sizeof(*cls));
    hub_buf_init(&exts, HUB_SYNC_PAGE_MAX_BYTES);
    if (cls == NULL) {
        hub_buf_free(&exts);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    hub_buf_puts(&exts, "[");
    for (i = 0; i < page->n; i++) {
        hub_buf_puts(&exts, i ? "," : "");
        hub_buf_json_str(&exts, page->recs[i].ext, strlen(page->recs[i].ext));
    }
    if (hub_buf_puts(&exts, "]") < 0) {
        rc = hub_error_set(err, HUB_E_LIMIT, "page too large");
        goto out;
    }
    rc = classify(db, ids, es->name, es->table, exts.data, page, cls, err);
    if (rc < 0)
        goto out;
    for (i = 0; i < page->n; i++) {
        counts->processed++;
        if (page->recs[i].deleted == -1) {
            cls[i].action = ACT_SKIP;
            page->recs[i].deleted = 0;
        }
        if (cls[i].conflict != 0) {
            counts->conflicts++;
            detail_add(details, page->recs[i].ext, "conflict",
                       cls[i].conflict == 2 ? "both sides changed; Simplix is newer and wins "
                       "(the platform's copy is not applied)" :
                       "both sides changed; the platform is newer and wins");
        }
    }

    /* The whole page in one go; if a statement fails, record by record in savepoints. */
    rc = hub_db_exec(db, "SAVEPOINT sx_page", err);
    if (rc == 0)
        rc = apply_set(db, ids, org, es, page, cls, 0, page->n, counts, err);
    if (rc == 0) {
        rc = hub_db_exec(db, "RELEASE SAVEPOINT sx_page", err);
        goto out;
    }
    if (rc != HUB_E_DB && rc != HUB_E_CONFLICT)
        goto out;
    hub_log_warn("sync", "integration %s: a %s page failed as a whole (%s); applying record by "
                 "record", ids, entity, err->msg);
    rc = hub_db_exec(db, "ROLLBACK TO SAVEPOINT sx_page", err);
    if (rc < 0)
        goto out;
    for (i = 0; i < page->n; i++) {
        struct classified keep = cls[i];
        struct hub_error  rerr;

        if (cls[i].action == ACT_SKIP) {
            counts->skipped++;
            continue;
        }
        rc = hub_db_exec(db, "SAVEPOINT sx_rec", err);
        if (rc < 0)
            goto out;
        rc = apply_set(db, ids, org, es, page, cls, i, i + 1, counts, &rerr);
        if (rc == 0) {
            rc = hub_db_exec(db, "RELEASE SAVEPOINT sx_rec", err);
            if (rc < 0)
                goto out;
            continue;
        }
        counts->failed++;
        detail_add(details, page->recs[i].ext, "error", "%s", rerr.msg);
        cls[i] = keep;
        rc = hub_db_exec(db, "ROLLBACK TO SAVEPOINT sx_rec", err);
        if (rc < 0)
            goto out;
    }
    rc = hub_db_exec(db, "RELEASE SAVEPOINT sx_page", err);
out:
    free(cls);
    hub_buf_free(&exts);
    return rc;
}
