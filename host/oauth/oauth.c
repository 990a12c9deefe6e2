/* The OAuth manager: states, callback, tokens at rest, refresh (oauth.h). */
#include "oauth/oauth.h"
#include "core/buf.h"
#include "core/log.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT_JSON_MAX  (64 * 1024)
#define SCOPES_MAX        4000
#define PUBLIC_URL_MAX    1024

/* Tokens copied out of a call's arena (which dies with the call). Secrets: wiped on free. */
struct tokens {
    char   *access;
    size_t  access_len;
    char   *refresh;            /* NULL when the platform gave none */
    size_t  refresh_len;
    int64_t expires_in_s;
    int64_t refresh_expires_in_s;
    char   *scope;              /* NULL when none */
    char   *account_json;       /* NULL when none */
};

struct integ {
    int64_t organization_id;
    char    platform[72];
    char    name[256];
    char   *config;             /* malloc'd JSON text */
};

/* ---- small helpers ------------------------------------------------------------------------- */

static void
tokens_free(struct tokens *t)
{
    hub_crypto_free_secret(t->access, t->access_len);
    hub_crypto_free_secret(t->refresh, t->refresh_len);
    free(t->scope);
    free(t->account_json);
    memset(t, 0, sizeof(*t));
}

static char *
dup_str(sx_str s)
{
    char *p = malloc(s.len + 1);

    if (p == NULL)
        return NULL;
    if (s.len > 0)
        memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

static int
has_nul(sx_str s)
{
    return s.len > 0 && (s.ptr == NULL || memchr(s.ptr, '\0', s.len) != NULL);
}

/* Validate and copy what exchange_code()/refresh() returned. */
static int
tokens_copy(const sx_token *in, const char *who, struct tokens *out, struct hub_error *err)
{
    memset(out, 0, sizeof(*out));
    if (in->access_token.len == 0 || in->access_token.len > HUB_OAUTH_MAX_TOKEN ||
        has_nul(in->access_token))
        return hub_error_set(err, HUB_E_PROTOCOL, "%s returned no usable access token "
                             "(%zu bytes)", who, in->access_token.len);
    if (in->refresh_token.len > HUB_OAUTH_MAX_TOKEN || has_nul(in->refresh_token))
        return hub_error_set(err, HUB_E_PROTOCOL, "%s returned an unusable refresh token", who);
    if (in->scope.len > SCOPES_MAX || has_nul(in->scope))
        return hub_error_set(err, HUB_E_PROTOCOL, "%s returned an unusable scope", who);
    if (in->account_json.len > ACCOUNT_JSON_MAX || has_nul(in->account_json))
        return hub_error_set(err, HUB_E_PROTOCOL, "%s returned unusable account details", who);
    if (in->expires_in_s < 0 || in->expires_in_s > INT64_C(10) * 365 * 86400 ||
        in->refresh_expires_in_s < 0 || in->refresh_expires_in_s > INT64_C(10) * 365 * 86400)
        return hub_error_set(err, HUB_E_PROTOCOL, "%s returned an impossible expiry", who);
    out->access = dup_str(in->access_token);
    out->access_len = in->access_token.len;
    if (in->refresh_token.len > 0) {
        out->refresh = dup_str(in->refresh_token);
        out->refresh_len = in->refresh_token.len;
    }
    if (in->scope.len > 0)
        out->scope = dup_str(in->scope);
    if (in->account_json.len > 0)
        out->account_json = dup_str(in->account_json);
    out->expires_in_s = in->expires_in_s;
    out->refresh_expires_in_s = in->refresh_expires_in_s;
    if (out->access == NULL || (in->refresh_token.len > 0 && out->refresh == NULL) ||
        (in->scope.len > 0 && out->scope == NULL) ||
        (in->account_json.len > 0 && out->account_json == NULL)) {
        tokens_free(out);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    /* From now on no log line may show them. */
    hub_log_redact_add(out->access, out->access_len);
    if (out->refresh != NULL)
        hub_log_redact_add(out->refresh, out->refresh_len);
    return 0;
}

static int
is_true(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static int
load_integration(struct hub_db *db, int64_t id, struct integ *out, struct hub_error *err)
{
    char        ids[24];
    const char *params[1] = { ids };
    PGresult   *res;
    int         rc;

    memset(out, 0, sizeof(*out));
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    rc = hub_db_query(db, "SELECT organization_id, platform, config::text, name FROM integrations "
                      "WHERE id = $1 AND deleted_at IS NULL", 1, params, &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return hub_error_set(err, HUB_E_NOT_FOUND, "integration %lld does not exist or was "
                             "deleted", (long long)id);
    }
    out->organization_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(out->platform, sizeof(out->platform), "%s", PQgetvalue(res, 0, 1));
    snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(res, 0, 3));
    out->config = strdup(PQgetvalue(res, 0, 2));
    PQclear(res);
    if (out->config == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    return 0;
}

static const char *
display_name(const struct hub_plugin *p)
{
    return p->desc.display_name != NULL && p->desc.display_name[0] != '\0' ?
           p->desc.display_name : p->id;
}

/*
 * A connector connects through a browser flow when it has authorize_url and exchange_code:
 * OAuth 2 code flow, or an API-key connector whose platform hands keys over the same way
 * (WooCommerce's /wc-auth: the store POSTs the keys to the callback, then redirects).
 */
static int
connect_flow(const struct hub_plugin *p)
{
    return (p->desc.auth_kind == SX_AUTH_OAUTH2_CODE || p->desc.auth_kind == SX_AUTH_API_KEY) &&
           p->has_auth && p->auth.authorize_url != NULL && p->auth.exchange_code != NULL;
}

/* Open the integration's connector and make sure it has a browser connect flow. */
static int
open_oauth_instance(struct hub_runtime *rt, struct hub_plugins *plugins, const struct integ *ig,
                    int64_t id, const char *account, struct hub_db *db,
                    struct hub_instance **out, struct hub_error *err)
{
    struct hub_instance *inst;
    struct hub_plugin   *p;
    int                  rc, oauth;

    /* Look before opening: a connector that does not speak OAuth needs no instance. */
    p = hub_plugins_acquire(plugins, ig->platform);
    if (p == NULL)
        return hub_error_set(err, HUB_E_NOT_FOUND, "connector \"%s\" is not loaded in this hub",
                             ig->platform);
    oauth = connect_flow(p);
    if (!oauth)
        hub_error_set(err, HUB_E_UNSUPPORTED, "connector %s (%s) does not connect with OAuth",
                      p->id, display_name(p));
    hub_plugins_release(plugins, p);
    if (!oauth)
        return HUB_E_UNSUPPORTED;
    rc = hub_instance_open(rt, plugins, ig->platform, id, ig->config, account, db, &inst, err);
    if (rc < 0)
        return rc;
    /* A hot swap between the two looks could bring a version without OAuth. */
    if (!connect_flow(inst->plugin)) {
        rc = hub_error_set(err, HUB_E_UNSUPPORTED, "connector %s (%s) does not connect with "
                           "OAuth", inst->plugin->id, display_name(inst->plugin));
        hub_instance_close(inst);
        return rc;
    }
    *out = inst;
    return 0;
}

/* "\x<hex>": a bytea in text format, so hub_db_query's text parameters can carry it. */
static char *
bytea_text(const uint8_t *b, size_t n)
{
    char *s = malloc(2 * n + 3);

    if (s == NULL)
        return NULL;
    s[0] = '\\';
    s[1] = 'x';
    if (hub_crypto_hex_encode(b, n, s + 2, 2 * n + 1) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* Seal `len` bytes for shopify_shops.<column> of integration `id`, as bytea text. */
static int
seal_column(const struct hub_crypto_keyring *keys, const char *ad_prefix, int64_t id,
            const char *value, size_t len, char **out, struct hub_error *err)
{
    char     ad[128];
    uint8_t *blob = NULL;
    size_t   blen = 0;
    int      rc;

    *out = NULL;
    snprintf(ad, sizeof(ad), "%s%lld", ad_prefix, (long long)id);
    rc = hub_crypto_seal_ad(keys, ad, strlen(ad), value, len, &blob, &blen, err);
    if (rc < 0)
        return rc;
    *out = bytea_text(blob, blen);
    free(blob);
    if (*out == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    return 0;
}

/* ---- query parameters ---------------------------------------------------------------------- */

/* Decode [s, s+len) into out (NUL-terminated); returns bytes written or -1. */
static long
form_decode(const char *s, size_t len, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        int c = (unsigned char)s[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;

            if (i + 2 >= len)
                return -1;
            hi = hub_hex_digit((unsigned char)s[i + 1]);
            lo = hub_hex_digit((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == '\0')
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

int
hub_oauth_params_parse(const char *query, struct hub_oauth_params *out, struct hub_error *err)
{
    size_t      len, o = 0;
    const char *p, *end;

    memset(out, 0, sizeof(*out));
    if (query == NULL || query[0] == '\0')
        return 0;
    len = strnlen(query, HUB_OAUTH_MAX_QUERY + 1);
    if (len > HUB_OAUTH_MAX_QUERY)
        return hub_error_set(err, HUB_E_LIMIT, "the callback's query is longer than %d bytes",
                             HUB_OAUTH_MAX_QUERY);
    /* Each "k=v" segment decodes to at most its own length plus two NULs. */
    out->store = malloc(2 * len + 2);
    if (out->store == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    p = query;
    end = query + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *seg_end = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(seg_end - p));
        const char *kend = eq != NULL ? eq : seg_end;
        long        klen, vlen;

        if (seg_end == p) {                     /* "a=1&&b=2": empty segment */
            p = seg_end + 1;
            continue;
        }
        if (out->n >= HUB_OAUTH_MAX_PARAMS)
            return hub_error_set(err, HUB_E_LIMIT, "the callback has more than %d parameters",
                                 HUB_OAUTH_MAX_PARAMS);
        klen = form_decode(p, (size_t)(kend - p), out->store + o);
        if (klen <= 0)
            return hub_error_set(err, HUB_E_INVALID, "the callback's query is malformed "
                                 "(parameter %zu)", out->n + 1);
        out->kv[out->n].key.ptr = out->store + o;
        out->kv[out->n].key.len = (size_t)klen;
        o += (size_t)klen + 1;
        vlen = eq != NULL ? form_decode(eq + 1, (size_t)(seg_end - eq - 1), out->store + o) :
               form_decode("", 0, out->store + o);
        if (vlen < 0)
            return hub_error_set(err, HUB_E_INVALID, "the callback's query is malformed "
                                 "(parameter %zu)", out->n + 1);
        out->kv[out->n].value.ptr = out->store + o;
        out->kv[out->n].value.len = (size_t)vlen;
        o += (size_t)vlen + 1;
        out->n++;
        p = seg_end + 1;
    }
    return 0;
}

void
hub_oauth_params_free(struct hub_oauth_params *p)
{
    free(p->store);
    memset(p, 0, sizeof(*p));
}

const char *
hub_oauth_param(const struct hub_oauth_params *p, const char *key)
{
    size_t i, klen = strlen(key);

    for (i = 0; i < p->n; i++) {
        if (p->kv[i].key.len == klen && memcmp(p->kv[i].key.ptr, key, klen) == 0)
            return p->kv[i].value.ptr;
    }
    return NULL;
}

/* ---- start --------------------------------------------------------------------------------- */

static int
public_url_ok(const char *u, size_t len)
{
    size_t i;

    if (len < 8 || len > PUBLIC_URL_MAX)
        return 0;
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)u[i];

        if (c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' ||
            c == '?' || c == '#')
            return 0;
    }
    return 1;
}

int
hub_oauth_start(struct hub_db *db, struct hub_runtime *rt, struct hub_plugins *plugins,
                int64_t integration_id, const char *public_url, char **authorize_url,
                struct hub_error *err)
{
    struct hub_instance *inst = NULL;
    struct hub_call      call;
    struct integ         ig;
    uint8_t              raw[32];
    char                 nonce[65], hash[65], redirect[PUBLIC_URL_MAX + 32], ids[24], orgs[24];
    char                 ttl[16], *url = NULL;
    const char          *params[6];
    sx_str               out = SX_STR_NULL;
    size_t               plen;
    int                  rc;

    *authorize_url = NULL;
    plen = public_url != NULL ? strnlen(public_url, PUBLIC_URL_MAX + 1) : 0;
    while (plen > 0 && public_url[plen - 1] == '/')
        plen--;
    if (public_url == NULL || !public_url_ok(public_url, plen))
        return hub_error_set(err, HUB_E_INVALID, "the hub's public URL must be an http(s) URL "
                             "without query, up to %d bytes", PUBLIC_URL_MAX);
    snprintf(redirect, sizeof(redirect), "%.*s%s", (int)plen, public_url,
             HUB_OAUTH_CALLBACK_PATH);

    rc = load_integration(db, integration_id, &ig, err);
    if (rc < 0)
        return rc;
    rc = open_oauth_instance(rt, plugins, &ig, integration_id, NULL, db, &inst, err);
    if (rc < 0)
        goto free_ig;

    rc = hub_crypto_random(raw, sizeof(raw));
    if (rc == 0)
        rc = hub_crypto_hex_encode(raw, sizeof(raw), nonce, sizeof(nonce));
    if (rc == 0)
        rc = hub_crypto_sha256_hex(nonce, 64, hash);
    hub_crypto_wipe(raw, sizeof(raw));
    if (rc < 0) {
        rc = hub_error_set(err, HUB_E_CRYPTO, "cannot draw a random OAuth state");
        goto close_inst;
    }

    hub_call_begin(&call, inst, db);
    rc = inst->plugin->auth.authorize_url(&call.cx, (sx_str){ nonce, 64 },
                                          (sx_str){ redirect, strlen(redirect) }, &out);
    rc = hub_call_result(&call, rc, "authorize_url()");
    if (rc < 0) {
        hub_error_set(err, rc, "%s: cannot build the authorize URL: %s",
                      display_name(inst->plugin), call.err.msg);
    } else if (out.len < 8 || out.len > HUB_OAUTH_MAX_URL || has_nul(out) ||
               (strncmp(out.ptr, "https://", 8) != 0 && strncmp(out.ptr, "http://", 7) != 0)) {
        rc = hub_error_set(err, HUB_E_PLUGIN, "%s: authorize_url() returned no usable URL",
                           display_name(inst->plugin));
    } else {
        url = dup_str(out);
        if (url == NULL)
            rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    hub_call_end(&call);
    if (rc < 0)
        goto close_inst;

    snprintf(ids, sizeof(ids), "%lld", (long long)integration_id);
    snprintf(orgs, sizeof(orgs), "%lld", (long long)ig.organization_id);
    snprintf(ttl, sizeof(ttl), "%d", HUB_OAUTH_STATE_TTL_S);
    params[0] = hash;
    params[1] = ids;
    params[2] = orgs;
    params[3] = redirect;
    params[4] = ttl;
    rc = hub_db_query(db, "INSERT INTO oauth_states (state, integration_id, organization_id, "
                      "redirect_uri, expires_at) VALUES ($1, $2, $3, $4, "
                      "now() + $5::int * interval '1 second')", 5, params, NULL, err);
    if (rc < 0) {
        hub_error_prefix(err, "storing the OAuth state");
        free(url);
        goto close_inst;
    }
    hub_log_info("oauth", "integration %lld (%s): authorization started, link valid %d s",
                 (long long)integration_id, inst->plugin->id, HUB_OAUTH_STATE_TTL_S);
    *authorize_url = url;

close_inst:
    hub_crypto_wipe(nonce, sizeof(nonce));
    hub_instance_close(inst);
free_ig:
    free(ig.config);
    return rc;
}

/* ---- storing tokens ------------------------------------------------------------------------ */

/* A string field of the shop details, or NULL when absent, not a string, or too long. */
static const char *
acct_str(json_object *o, const char *key, size_t max)
{
    json_object *v;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    if ((size_t)json_object_get_string_len(v) == 0 ||
        (size_t)json_object_get_string_len(v) > max)
        return NULL;
    return json_object_get_string(v);
}

static const char *
upper_code(const char *s, size_t n)
{
    size_t i;

    if (s == NULL || strlen(s) != n)
        return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] < 'A' || s[i] > 'Z')
            return NULL;
    }
    return s;
}

/* Lowercase a shop domain into `out`; 0, or -1 when it is not a plain host name. */
static int
shop_domain_norm(const char *in, char *out, size_t cap)
{
    size_t i, n = in != NULL ? strlen(in) : 0;

    if (n == 0 || n > 255 || n >= cap)
        return -1;
    for (i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)in[i]);

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == ':'))
            return -1;
        out[i] = c;
    }
    out[n] = '\0';
    return 0;
}

static int
store_shopify(struct hub_db *db, const struct hub_crypto_keyring *keys, int64_t id,
              const struct tokens *t, int exchange, const char *shop_param, struct hub_error *err)
{
    json_object *root = NULL, *shop = NULL, *inner;
    char        *sealed_at = NULL, *sealed_rt = NULL, ids[24], exp[24], rexp[24], domain[256];
    const char  *params[13], *d;
    int          rc;

    if (t->account_json != NULL) {
        root = json_tokener_parse(t->account_json);
        shop = root;
        if (root != NULL && json_object_object_get_ex(root, "shop", &inner) &&
            json_object_is_type(inner, json_type_object))
            shop = inner;
        if (shop != NULL && !json_object_is_type(shop, json_type_object))
            shop = NULL;
    }
    rc = seal_column(keys, HUB_OAUTH_SHOPIFY_AD_ACCESS, id, t->access, t->access_len,
                     &sealed_at, err);
    if (rc == 0 && t->refresh != NULL)
        rc = seal_column(keys, HUB_OAUTH_SHOPIFY_AD_REFRESH, id, t->refresh, t->refresh_len,
                         &sealed_rt, err);
    if (rc < 0)
        goto out;
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    snprintf(exp, sizeof(exp), "%lld", (long long)t->expires_in_s);
    snprintf(rexp, sizeof(rexp), "%lld", (long long)t->refresh_expires_in_s);

    if (!exchange) {
        params[0] = ids;
        params[1] = sealed_at;
        params[2] = sealed_rt;
        params[3] = exp;
        params[4] = rexp;
        params[5] = t->scope;
        rc = hub_db_query(db, "UPDATE shopify_shops SET access_token = $2::bytea, "
                          "refresh_token = COALESCE($3::bytea, refresh_token), "
                          "token_expires_at = CASE WHEN $4::bigint > 0 THEN "
                          "now() + $4::bigint * interval '1 second' END, "
                          "refresh_token_expires_at = CASE WHEN $3::bytea IS NULL THEN "
                          "refresh_token_expires_at WHEN $5::bigint > 0 THEN "
                          "now() + $5::bigint * interval '1 second' END, "
                          "scopes = COALESCE($6, scopes) WHERE integration_id = $1",
                          6, params, NULL, err);
        goto out;
    }

    /* The callback's `shop` is covered by its hmac (the connector checked it); the shop
     * details are only a fallback. */
    d = shop_param;
    if (d == NULL)
        d = acct_str(shop, "myshopify_domain", 255);
    if (shop_domain_norm(d, domain, sizeof(domain)) < 0) {
        rc = hub_error_set(err, HUB_E_REJECTED, "the callback names no valid shop domain");
        goto out;
    }
    params[0] = ids;
    params[1] = domain;
    params[2] = sealed_at;
    params[3] = sealed_rt;
    params[4] = exp;
    params[5] = rexp;
    params[6] = t->scope;
    params[7] = acct_str(shop, "name", 255);
    params[8] = acct_str(shop, "email", 320);
    params[9] = upper_code(acct_str(shop, "currency", 3), 3);
    params[10] = acct_str(shop, "iana_timezone", 64);
    if (params[10] == NULL)
        params[10] = acct_str(shop, "timezone", 64);
    params[11] = acct_str(shop, "plan_name", 64);
    if (params[11] == NULL)
        params[11] = acct_str(shop, "plan", 64);
    params[12] = upper_code(acct_str(shop, "country_code", 2), 2);
    rc = hub_db_query(db, "INSERT INTO shopify_shops (integration_id, shop_domain, access_token, "
                      "refresh_token, token_expires_at, refresh_token_expires_at, scopes, "
                      "shop_name, email, currency, timezone, plan, country_code, installed_at) "
                      "VALUES ($1, $2, $3::bytea, $4::bytea, "
                      "CASE WHEN $5::bigint > 0 THEN now() + $5::bigint * interval '1 second' END, "
                      "CASE WHEN $6::bigint > 0 THEN now() + $6::bigint * interval '1 second' END, "
                      "$7, $8, $9, $10, $11, $12, $13, now()) "
                      "ON CONFLICT (integration_id) DO UPDATE SET "
                      "shop_domain = EXCLUDED.shop_domain, access_token = EXCLUDED.access_token, "
                      "refresh_token = EXCLUDED.refresh_token, "
                      "token_expires_at = EXCLUDED.token_expires_at, "
                      "refresh_token_expires_at = EXCLUDED.refresh_token_expires_at, "
                      "scopes = EXCLUDED.scopes, "
                      "shop_name = COALESCE(EXCLUDED.shop_name, shopify_shops.shop_name), "
                      "email = COALESCE(EXCLUDED.email, shopify_shops.email), "
                      "currency = COALESCE(EXCLUDED.currency, shopify_shops.currency), "
                      "timezone = COALESCE(EXCLUDED.timezone, shopify_shops.timezone), "
                      "plan = COALESCE(EXCLUDED.plan, shopify_shops.plan), "
                      "country_code = COALESCE(EXCLUDED.country_code, shopify_shops.country_code), "
                      "uninstalled_at = NULL", 13, params, NULL, err);
    if (rc == HUB_E_CONFLICT && strstr(err->msg, "23505") != NULL)
        rc = hub_error_set(err, HUB_E_REJECTED, "the shop %s is already connected to another "
                           "integration: disconnect it there first", domain);
out:
    json_object_put(root);
    free(sealed_at);
    free(sealed_rt);
    return rc;
}

/*
 * In the caller's transaction: the new pair into integration_secrets, the expiry into
 * oauth_tokens, and the shop row for Shopify. `exchange` = a new connection (else a refresh).
 */
static int
store_tokens(struct hub_db *db, const struct hub_crypto_keyring *keys, int64_t id,
             const char *platform, const struct tokens *t, int exchange, const char *shop_param,
             struct hub_error *err)
{
    char        ids[24], exp[24], rexp[24];
    const char *params[5];
    int         rc;

    rc = hub_secret_store(db, keys, id, "access_token", t->access, t->access_len, err);
    if (rc == 0 && t->refresh != NULL)
        rc = hub_secret_store(db, keys, id, "refresh_token", t->refresh, t->refresh_len, err);
    if (rc < 0)
        return rc;
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    snprintf(exp, sizeof(exp), "%lld", (long long)t->expires_in_s);
    snprintf(rexp, sizeof(rexp), "%lld", (long long)t->refresh_expires_in_s);
    params[0] = ids;
    params[1] = exp;
    params[2] = rexp;
    params[3] = t->refresh != NULL ? "true" : "false";
    params[4] = t->scope;
    /* now() is the transaction's start, before the platform answered: the stored expiry errs
     * on the early side. */
    if (exchange) {
        if (t->refresh == NULL) {
            /* A new connection without a refresh token: a previous one is dead weight. */
            rc = hub_db_query(db, "DELETE FROM integration_secrets WHERE integration_id = $1 "
                              "AND key = 'refresh_token'", 1, params, NULL, err);
            if (rc < 0)
                return rc;
        }
        rc = hub_db_query(db, "INSERT INTO oauth_tokens (integration_id, expires_at, "
                          "refresh_expires_at, has_refresh, scopes) VALUES ($1, "
                          "CASE WHEN $2::bigint > 0 THEN now() + $2::bigint * interval '1 second' "
                          "END, CASE WHEN $3::bigint > 0 THEN now() + $3::bigint * "
                          "interval '1 second' END, $4::boolean, $5) "
                          "ON CONFLICT (integration_id) DO UPDATE SET "
                          "expires_at = EXCLUDED.expires_at, "
                          "refresh_expires_at = EXCLUDED.refresh_expires_at, "
                          "has_refresh = EXCLUDED.has_refresh, scopes = EXCLUDED.scopes, "
                          "generation = oauth_tokens.generation + 1, obtained_at = now(), "
                          "dead_at = NULL, updated_at = now()", 5, params, NULL, err);
    } else {
        rc = hub_db_query(db, "UPDATE oauth_tokens SET "
                          "expires_at = CASE WHEN $2::bigint > 0 THEN "
                          "now() + $2::bigint * interval '1 second' END, "
                          "refresh_expires_at = CASE WHEN NOT $4::boolean THEN refresh_expires_at "
                          "WHEN $3::bigint > 0 THEN now() + $3::bigint * interval '1 second' END, "
                          "has_refresh = has_refresh OR $4::boolean, "
                          "scopes = COALESCE($5, scopes), generation = generation + 1, "
                          "refreshed_at = now(), refresh_count = refresh_count + 1, "
                          "updated_at = now() WHERE integration_id = $1", 5, params, NULL, err);
    }
    if (rc < 0)
        return rc;
    if (strcmp(platform, "shopify") == 0)
        rc = store_shopify(db, keys, id, t, exchange, shop_param, err);
    else if (strcmp(platform, "woocommerce") == 0)
        rc = hub_oauth_woo_store_save(db, keys, id, t->scope, err);
    return rc;
}

/* ---- woocommerce_stores -------------------------------------------------------------------- */

int
hub_oauth_woo_store_save(struct hub_db *db, const struct hub_crypto_keyring *keys, int64_t id,
                         const char *permissions, struct hub_error *err)
{
    char       *ck = NULL, *cs = NULL, *sealed_ck = NULL, *sealed_cs = NULL, ids[24];
    size_t      ck_len = 0, cs_len = 0;
    const char *params[4];
    int         rc;

    rc = hub_secret_load(db, keys, id, "consumer_key", &ck, &ck_len, err);
    if (rc == 0)
        rc = hub_secret_load(db, keys, id, "consumer_secret", &cs, &cs_len, err);
    if (rc == HUB_E_NOT_FOUND) {
        rc = 0;                        /* not connected yet: nothing to describe */
        goto out;
    }
    if (rc == 0)
        rc = seal_column(keys, HUB_OAUTH_WOO_AD_KEY, id, ck, ck_len, &sealed_ck, err);
    if (rc == 0)
        rc = seal_column(keys, HUB_OAUTH_WOO_AD_SECRET, id, cs, cs_len, &sealed_cs, err);
    if (rc < 0)
        goto out;
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    params[0] = ids;
    params[1] = sealed_ck;
    params[2] = sealed_cs;
    params[3] = permissions != NULL && (strcmp(permissions, "read") == 0 ||
                                        strcmp(permissions, "write") == 0 ||
                                        strcmp(permissions, "read_write") == 0) ?
                permissions : NULL;
    /* What the connector read from system_status is in its state "store" (JSON). */
    rc = hub_db_query(db,
                      "WITH st AS (SELECT CASE WHEN octet_length(value) <= 65536 THEN "
                      "  convert_from(value, 'UTF8')::jsonb END AS j FROM connector_state "
                      "  WHERE integration_id = $1 AND key = 'store'), "
                      "ig AS (SELECT config->>'store_url' AS url FROM integrations WHERE id = $1) "
                      "INSERT INTO woocommerce_stores (integration_id, store_url, consumer_key, "
                      "  consumer_secret, key_permissions, wc_version, wp_version, currency, "
                      "  timezone, store_name) "
                      "SELECT $1, ig.url, $2::bytea, $3::bytea, $4, "
                      "  left(st.j->>'wc_version', 40), left(st.j->>'wp_version', 40), "
                      "  CASE WHEN st.j->>'currency' ~ '^[A-Z]{3}$' THEN st.j->>'currency' END, "
                      "  left(st.j->>'timezone', 64), left(st.j->>'home_url', 200) "
                      "FROM ig LEFT JOIN st ON true WHERE ig.url ~ '^https?://' "
                      "ON CONFLICT (integration_id) DO UPDATE SET "
                      "  store_url = EXCLUDED.store_url, consumer_key = EXCLUDED.consumer_key, "
                      "  consumer_secret = EXCLUDED.consumer_secret, "
                      "  key_permissions = COALESCE(EXCLUDED.key_permissions, "
                      "    woocommerce_stores.key_permissions), "
                      "  wc_version = COALESCE(EXCLUDED.wc_version, woocommerce_stores.wc_version), "
                      "  wp_version = COALESCE(EXCLUDED.wp_version, woocommerce_stores.wp_version), "
                      "  currency = COALESCE(EXCLUDED.currency, woocommerce_stores.currency), "
                      "  timezone = COALESCE(EXCLUDED.timezone, woocommerce_stores.timezone), "
                      "  store_name = COALESCE(EXCLUDED.store_name, woocommerce_stores.store_name)",
                      4, params, NULL, err);
    if (rc < 0)
        hub_error_prefix(err, "woocommerce_stores");
out:
    if (ck != NULL)
        hub_crypto_free_secret(ck, ck_len);
    if (cs != NULL)
        hub_crypto_free_secret(cs, cs_len);
    free(sealed_ck);
    free(sealed_cs);
    return rc;
}

/* ---- callback ------------------------------------------------------------------------------ */

/* Why UPDATE ... RETURNING found nothing: unknown, used or expired, each with its sentence. */
static int
state_refusal(struct hub_db *db, const char *hash, struct hub_error *err)
{
    const char *params[1] = { hash };
    PGresult   *res;
    int         rc;

    rc = hub_db_query(db, "SELECT used_at IS NOT NULL, expires_at <= now() FROM oauth_states "
                      "WHERE state = $1", 1, params, &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0)
        rc = hub_error_set(err, HUB_E_NOT_FOUND, "unknown authorization state: this link was "
                           "not issued by this hub, or is too old; start the connection again "
                           "from Simplix");
    else if (is_true(res, 0, 0))
        rc = hub_error_set(err, HUB_E_CONFLICT, "this authorization link was already used; "
                           "start the connection again from Simplix");
    else
        rc = hub_error_set(err, HUB_E_STALE, "this authorization link expired (links are valid "
                           "%d minutes); start the connection again from Simplix",
                           HUB_OAUTH_STATE_TTL_S / 60);
    PQclear(res);
    return rc;
}

static int
exchange_refusal(int rc, const char *who, const char *why, struct hub_error *err)
{
    switch (rc) {
    case SX_E_SIGNATURE:
        return hub_error_set(err, HUB_E_SIGNATURE, "the callback's signature is wrong, so it "
                             "did not come from %s (%s); start the connection again from "
                             "Simplix", who, why);
    case SX_E_STALE:
        return hub_error_set(err, HUB_E_STALE, "the callback's timestamp is too old (%s); start "
                             "the connection again from Simplix", why);
    case SX_E_INVALID:
    case SX_E_REJECTED:
    case SX_E_AUTH:
    case SX_E_NOT_FOUND:
        return hub_error_set(err, HUB_E_REJECTED, "%s refused the authorization: %s", who, why);
    default:
        return hub_error_set(err, rc, "%s: exchanging the authorization code failed: %s", who,
                             why);
    }
}

int
hub_oauth_callback(struct hub_db *db, struct hub_runtime *rt, struct hub_plugins *plugins,
                   const struct hub_crypto_keyring *keys, const struct hub_oauth_params *params,
                   int64_t *integration_id, struct hub_error *err)
{
    struct hub_instance *inst = NULL;
    struct hub_call      call;
    struct integ         ig;
    struct tokens        tok;
    sx_token             out;
    const char          *state = hub_oauth_param(params, "state"), *shop, *qp[1];
    char                 hash[65], redirect[2100], ids[24];
    PGresult            *res;
    int64_t              id, org;
    int                  rc;

    *integration_id = 0;
    memset(&ig, 0, sizeof(ig));
    memset(&tok, 0, sizeof(tok));
    if (state == NULL || state[0] == '\0')
        return hub_error_set(err, HUB_E_INVALID, "the callback carries no state parameter; "
                             "start the connection again from Simplix");
    if (hub_crypto_sha256_hex(state, strlen(state), hash) < 0)
        return hub_error_set(err, HUB_E_CRYPTO, "cannot hash the state");

    rc = hub_db_begin(db, err);
    if (rc < 0)
        return rc;
    /* Single use: a concurrent callback with the same state waits on this row until we
     * commit (then finds used_at set) or roll back (then may use it). */
    qp[0] = hash;
    rc = hub_db_query(db, "UPDATE oauth_states SET used_at = now() WHERE state = $1 AND "
                      "used_at IS NULL AND expires_at > now() "
                      "RETURNING state, integration_id, organization_id, redirect_uri",
                      1, qp, &res, err);
    if (rc < 0)
        goto rollback;
    if (PQntuples(res) == 0) {
        PQclear(res);
        rc = state_refusal(db, hash, err);
        goto rollback;
    }
    /* The lookup was by hash; compare it once more without leaking timing. */
    if (!hub_crypto_consttime_eq(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), hash,
                                 64)) {
        PQclear(res);
        rc = hub_error_set(err, HUB_E_INTERNAL, "state lookup mismatch");
        goto rollback;
    }
    id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    org = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    snprintf(redirect, sizeof(redirect), "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    *integration_id = id;

    rc = load_integration(db, id, &ig, err);
    if (rc == HUB_E_NOT_FOUND || (rc == 0 && ig.organization_id != org)) {
        rc = hub_error_set(err, HUB_E_REJECTED, "the integration this link was issued for no "
                           "longer exists");
        goto rollback;
    }
    if (rc < 0)
        goto rollback;
    shop = hub_oauth_param(params, "shop");
    rc = open_oauth_instance(rt, plugins, &ig, id, shop, db, &inst, err);
    if (rc < 0)
        goto rollback;

    memset(&out, 0, sizeof(out));
    out.hdr.abi_version = SX_ABI_VERSION;
    out.hdr.struct_size = sizeof(out);
    hub_call_begin(&call, inst, db);
    rc = inst->plugin->auth.exchange_code(&call.cx, params->kv, (uint32_t)params->n,
                                          (sx_str){ redirect, strlen(redirect) }, &out);
    rc = hub_call_result(&call, rc, "exchange_code()");
    if (rc < 0)
        exchange_refusal(rc, display_name(inst->plugin), call.err.msg, err);
    else
        rc = tokens_copy(&out, "exchange_code()", &tok, err);
    hub_call_end(&call);
    if (rc < 0)
        goto rollback;

    rc = store_tokens(db, keys, id, ig.platform, &tok, 1, shop, err);
    if (rc < 0)
        goto rollback;
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    qp[0] = ids;
    rc = hub_db_query(db, inst->plugin->desc.auth_kind == SX_AUTH_API_KEY ?
                      "UPDATE integrations SET status = 'ACTIVE', auth_type = 'api_key', "
                      "last_error_message = NULL, last_error_at = NULL WHERE id = $1" :
                      "UPDATE integrations SET status = 'ACTIVE', auth_type = 'oauth2_code', "
                      "last_error_message = NULL, last_error_at = NULL WHERE id = $1",
                      1, qp, NULL, err);
    if (rc < 0)
        goto rollback;
    rc = hub_db_commit(db, err);
    if (rc < 0)
        goto rollback;
    hub_log_info("oauth", "integration %lld (%s): connected, token %s", (long long)id,
                 inst->plugin->id, tok.expires_in_s > 0 ? "expiring" : "not expiring");
    goto done;

rollback:
    hub_db_rollback(db);
done:
    tokens_free(&tok);
    hub_instance_close(inst);
    free(ig.config);
    return rc;
}

int
hub_oauth_http_status(int rc)
{
    switch (rc) {
    case 0:
        return 200;
    case HUB_E_INVALID:
    case HUB_E_NOT_FOUND:
    case HUB_E_CONFLICT:
    case HUB_E_STALE:
    case HUB_E_SIGNATURE:
    case HUB_E_REJECTED:
    case HUB_E_LIMIT:
    case HUB_E_UNSUPPORTED:
        return 400;
    case HUB_E_TRANSIENT:
    case HUB_E_RATE_LIMITED:
    case HUB_E_PROTOCOL:
    case HUB_E_AUTH:
        return 502;
    default:
        return 500;
    }
}

/* ---- refresh ------------------------------------------------------------------------------- */

int
hub_oauth_token_info(struct hub_db *db, int64_t integration_id, struct hub_oauth_token_info *out,
                     struct hub_error *err)
{
    char        ids[24];
    const char *params[1] = { ids };
    PGresult   *res;
    int         rc;

    memset(out, 0, sizeof(*out));
    snprintf(ids, sizeof(ids), "%lld", (long long)integration_id);
    rc = hub_db_query(db, "SELECT generation, COALESCE((extract(epoch FROM expires_at) * 1000)"
                      "::bigint, 0), dead_at IS NOT NULL, refresh_count FROM oauth_tokens "
                      "WHERE integration_id = $1", 1, params, &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 1) {
        out->present = 1;
        out->generation = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->expires_at_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        out->dead = is_true(res, 0, 2);
        out->refresh_count = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    }
    PQclear(res);
    return 0;
}

static int
dead_grant_error(const struct hub_instance *inst, const char *platform, struct hub_error *err)
{
    return hub_error_set(err, HUB_E_AUTH, "%s refused the refresh token: reconnect the %s in "
                         "Simplix (OAuth)", display_name(inst->plugin),
                         strcmp(platform, "shopify") == 0 ? "shop" : "integration");
}

/* Due? `seen_gen` >= 0: "still generation seen_gen"; else "expires within margin_s". */
static const char DUE_SQL[] =
    "SELECT CASE WHEN $3::bigint >= 0 THEN t.generation = $3::bigint ELSE "
    "t.expires_at IS NOT NULL AND t.expires_at <= clock_timestamp() + $2::int * "
    "interval '1 second' END, t.dead_at IS NOT NULL, i.platform "
    "FROM oauth_tokens t JOIN integrations i ON i.id = t.integration_id "
    "WHERE t.integration_id = $1";

static int
refresh(struct hub_db *db, struct hub_runtime *rt, struct hub_instance *inst, int margin_s,
        int64_t seen_gen, struct hub_error *err)
{
    const sx_auth_ops *auth = &inst->plugin->auth;
    struct hub_call    call;
    struct tokens      tok;
    sx_token           out;
    char               ids[24], margin[16], gen[24], platform[72], msg[HUB_ERROR_MAX];
    const char        *params[3] = { ids, margin, gen };
    PGresult          *res;
    int                rc, due, dead, plugin_failed;

    memset(&tok, 0, sizeof(tok));
    if (margin_s < 0)
        margin_s = HUB_OAUTH_REFRESH_MARGIN_S;
    snprintf(ids, sizeof(ids), "%lld", (long long)inst->integration_id);
    snprintf(margin, sizeof(margin), "%d", margin_s);
    snprintf(gen, sizeof(gen), "%lld", (long long)seen_gen);

    /* 1. The common case costs one SELECT and no lock. */
    rc = hub_db_query(db, DUE_SQL, 3, params, &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;                       /* no OAuth tokens: nothing to refresh */
    }
    due = is_true(res, 0, 0);
    dead = is_true(res, 0, 1);
    snprintf(platform, sizeof(platform), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    if (dead)
        return dead_grant_error(inst, platform, err);
    if (!due)
        return 0;
    if (!inst->plugin->has_auth || auth->refresh == NULL)
        return hub_error_set(err, HUB_E_UNSUPPORTED, "%s: the token expires but the connector "
                             "cannot refresh it: reconnect the integration",
                             display_name(inst->plugin));

    /* 2. One refresher per integration in the cluster. */
    rc = hub_db_begin(db, err);
    if (rc < 0)
        return rc;
    rc = hub_db_query(db, "SELECT pg_advisory_xact_lock(hashtext('oauth_refresh'), "
                      "($1::bigint % 2147483648)::int)", 1, params, NULL, err);
    if (rc < 0)
        goto rollback;
    /* 3. Someone may have done it while we waited. */
    rc = hub_db_query(db, DUE_SQL, 3, params, &res, err);
    if (rc < 0)
        goto rollback;
    if (PQntuples(res) == 0) {
        PQclear(res);
        rc = 0;
        goto rollback;
    }
    due = is_true(res, 0, 0);
    dead = is_true(res, 0, 1);
    PQclear(res);
    if (dead) {
        rc = dead_grant_error(inst, platform, err);
        goto rollback;
    }
    if (!due) {
        hub_log_info("oauth", "integration %lld: token already refreshed by another worker",
                     (long long)inst->integration_id);
        rc = 0;
        goto rollback;                  /* nothing written: releasing the lock is enough */
    }

    /* 4. The connector reads the current refresh token through this connection. */
    memset(&out, 0, sizeof(out));
    out.hdr.abi_version = SX_ABI_VERSION;
    out.hdr.struct_size = sizeof(out);
    hub_call_begin(&call, inst, db);
    rc = auth->refresh(&call.cx, &out);
    rc = hub_call_result(&call, rc, "refresh()");
    plugin_failed = rc < 0;
    snprintf(msg, sizeof(msg), "%s", call.err.msg);
    if (rc == 0)
        rc = tokens_copy(&out, "refresh()", &tok, err);
    hub_call_end(&call);

    if (rc == SX_E_AUTH && plugin_failed) {
        /* A dead grant: no retry will help; an administrator must reconnect. */
        struct hub_error dg;
        const char      *p2[2];

        dead_grant_error(inst, platform, &dg);
        hub_log_error("oauth", "integration %lld: refresh refused (%s); integration set to ERROR",
                      (long long)inst->integration_id, msg);
        p2[0] = ids;
        p2[1] = dg.msg;
        rc = hub_db_query(db, "UPDATE integrations SET status = 'ERROR', last_error_message = $2, "
                          "last_error_at = now(), error_count = error_count + 1 WHERE id = $1",
                          2, p2, NULL, err);
        if (rc == 0)
            rc = hub_db_query(db, "UPDATE oauth_tokens SET dead_at = now(), updated_at = now() "
                              "WHERE integration_id = $1", 1, p2, NULL, err);
        if (rc == 0)
            rc = hub_db_commit(db, err);
        if (rc < 0)
            goto rollback;
        return hub_error_set(err, HUB_E_AUTH, "%s", dg.msg);
    }
    if (rc < 0) {
        if (plugin_failed)
            hub_error_set(err, rc, "%s: refreshing the token failed: %s",
                          display_name(inst->plugin), msg);
        goto rollback;
    }

    /* 5. The new pair, atomically with its expiry. */
    rc = store_tokens(db, rt->keys, inst->integration_id, platform, &tok, 0, NULL, err);
    if (rc < 0)
        goto rollback;
    rc = hub_db_commit(db, err);
    if (rc < 0)
        goto rollback;
    hub_log_info("oauth", "integration %lld (%s): token refreshed%s",
                 (long long)inst->integration_id, inst->plugin->id,
                 tok.refresh != NULL ? " (refresh token rotated)" : "");
    tokens_free(&tok);
    return 0;

rollback:
    hub_db_rollback(db);
    tokens_free(&tok);
    return rc;
}

int
hub_oauth_ensure_fresh(struct hub_db *db, struct hub_runtime *rt, struct hub_instance *inst,
                       int margin_s, struct hub_error *err)
{
    return refresh(db, rt, inst, margin_s, -1, err);
}

int
hub_oauth_refresh_if_generation(struct hub_db *db, struct hub_runtime *rt,
                                struct hub_instance *inst, int64_t seen_generation,
                                struct hub_error *err)
{
    if (seen_generation < 0)
        return hub_error_set(err, HUB_E_INVALID, "generation must be >= 0");
    return refresh(db, rt, inst, 0, seen_generation, err);
}

/* ---- purge --------------------------------------------------------------------------------- */

int
hub_oauth_purge_states(struct hub_db *db, int keep_s, int64_t *n_deleted, struct hub_error *err)
{
    char        keep[16];
    const char *params[1] = { keep };
    PGresult   *res;
    int         rc;

    if (n_deleted != NULL)
        *n_deleted = 0;
    snprintf(keep, sizeof(keep), "%d", keep_s < 0 ? HUB_OAUTH_PURGE_KEEP_S : keep_s);
    rc = hub_db_query(db, "DELETE FROM oauth_states WHERE expires_at < now() - $1::int * "
                      "interval '1 second'", 1, params, &res, err);
    if (rc < 0)
        return rc;
    if (n_deleted != NULL)
        *n_deleted = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

/* ---- the callback route -------------------------------------------------------------------- */

static void
html_escape(struct hub_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<':  hub_buf_puts(b, "&lt;"); break;
        case '>':  hub_buf_puts(b, "&gt;"); break;
        case '&':  hub_buf_puts(b, "&amp;"); break;
        case '"':  hub_buf_puts(b, "&quot;"); break;
        case '\'': hub_buf_puts(b, "&#39;"); break;
        default:   hub_buf_append(b, s, 1); break;
        }
    }
}

static void
page(struct hub_http_job *job, int status, const char *title, const char *text)
{
    struct hub_buf b;

    hub_buf_init(&b, 16384);
    hub_buf_puts(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                 "<title>Simplix</title></head>\n<body><h1>");
    html_escape(&b, title);
    hub_buf_puts(&b, "</h1>\n<p>");
    html_escape(&b, text);
    hub_buf_puts(&b, "</p>\n</body></html>\n");
    /* The URL that brought the browser here carries the code: keep it out of referrers. */
    hub_http_job_add_header(job, "Referrer-Policy", "no-referrer");
    hub_http_job_add_header(job, "Content-Security-Policy", "default-src 'none'");
    hub_http_job_reply(job, status, "text/html; charset=utf-8", b.data != NULL ? b.data : "",
                       b.len);
    hub_buf_free(&b);
}

/*
 * The browser back from WooCommerce's /wc-auth: return_url?success=1&user_id=<state>. The
 * keys came before by POST (job_keys) and used the state; say how that went.
 */
static void
woo_return(struct hub_http_job *job, const struct hub_oauth_params *params)
{
    struct hub_error err;
    struct hub_db   *db = hub_http_job_db(job);
    const char      *user_id = hub_oauth_param(params, "user_id");
    const char      *success = hub_oauth_param(params, "success");
    const char      *p[1];
    char             hash[65], title[400];
    PGresult        *res = NULL;

    if (success != NULL && strcmp(success, "1") != 0) {
        page(job, 403, "Connection refused", "The store's administrator did not approve the "
             "access. Start the connection again from Simplix to retry.");
        return;
    }
    if (hub_crypto_sha256_hex(user_id, strlen(user_id), hash) < 0) {
        page(job, 500, "Connection failed", "The hub could not check this link.");
        return;
    }
    p[0] = hash;
    if (hub_db_query(db, "SELECT s.used_at IS NOT NULL, i.name, i.status FROM oauth_states s "
                     "JOIN integrations i ON i.id = s.integration_id WHERE s.state = $1",
                     1, p, &res, &err) < 0 || PQntuples(res) != 1) {
        PQclear(res);
        page(job, 404, "Connection failed", "This link was not issued by this hub, or is too "
             "old; start the connection again from Simplix.");
        return;
    }
    if (!is_true(res, 0, 0) || strcmp(PQgetvalue(res, 0, 2), "ACTIVE") != 0) {
        PQclear(res);
        page(job, 409, "Connection not completed", "The store has not handed the keys to the "
             "hub (or the hub refused them; the integration's last error says why). Start "
             "the connection again from Simplix.");
        return;
    }
    snprintf(title, sizeof(title), "Connected %s", PQgetvalue(res, 0, 1));
    PQclear(res);
    page(job, 200, title, "You can close this window and return to Simplix.");
}

static void
job_callback(struct hub_http_job *job, void *arg)
{
    struct hub_oauth_ctx   *ctx = arg;
    struct hub_oauth_params params;
    struct hub_error        err;
    struct hub_db          *db = hub_http_job_db(job);
    int64_t                 id = 0;
    int                     rc, status;

    hub_error_clear(&err);
    rc = hub_oauth_params_parse(hub_http_job_query(job), &params, &err);
    if (rc == 0 && hub_oauth_param(&params, "state") == NULL &&
        hub_oauth_param(&params, "user_id") != NULL) {
        woo_return(job, &params);
        hub_oauth_params_free(&params);
        return;
    }
    if (rc == 0)
        rc = hub_oauth_callback(db, ctx->rt, ctx->plugins, ctx->keys, &params, &id, &err);
    hub_oauth_params_free(&params);
    if (rc == 0) {
        char        ids[24], title[400];
        const char *p[1] = { ids };
        PGresult   *res = NULL;

        snprintf(ids, sizeof(ids), "%lld", (long long)id);
        snprintf(title, sizeof(title), "Connected");
        if (hub_db_query(db, "SELECT COALESCE(s.shop_domain, i.name) FROM integrations i "
                         "LEFT JOIN shopify_shops s ON s.integration_id = i.id WHERE i.id = $1",
                         1, p, &res, &err) == 0 && PQntuples(res) == 1)
            snprintf(title, sizeof(title), "Connected %s", PQgetvalue(res, 0, 0));
        PQclear(res);
        page(job, 200, title, "You can close this window and return to Simplix.");
        return;
    }
    status = hub_oauth_http_status(rc);
    if (status >= 500) {
        hub_log_error("oauth", "callback for integration %lld failed: %s", (long long)id,
                      err.msg);
        page(job, status, "Connection failed", status == 502 ?
             "The platform could not complete the connection. Try again in a moment; if it "
             "keeps failing, the administrator will find the details in the hub's log." :
             "The hub could not complete the connection. The administrator will find the "
             "details in the hub's log.");
    } else {
        char safe[HUB_ERROR_MAX];

        /* Connector messages are free text: pass them through the secret redactor. */
        hub_log_redact(err.msg, strlen(err.msg), safe, sizeof(safe));
        hub_log_warn("oauth", "callback for integration %lld refused: %s", (long long)id, safe);
        page(job, status, "Connection failed", safe);
    }
}

/*
 * Keys delivered by POST (WooCommerce's /wc-auth callback_url): a JSON object whose members
 * become the exchange parameters, its user_id being the state. WooCommerce keeps the key
 * only when the answer is exactly 200, so every refusal is a 4xx with a JSON error.
 */
static int
keys_params(const unsigned char *body, size_t len, struct hub_oauth_params *out,
            struct hub_error *err)
{
    json_tokener *tok;
    json_object  *root;
    struct hub_buf store;
    size_t        offs[HUB_OAUTH_MAX_PARAMS][2], i;
    int           rc = 0, bad = 0;

    memset(out, 0, sizeof(*out));
    if (len == 0 || len > HUB_OAUTH_MAX_KEYS_BODY)
        return hub_error_set(err, HUB_E_INVALID, "the key delivery must be a JSON object of at "
                             "most %d bytes", HUB_OAUTH_MAX_KEYS_BODY);
    tok = json_tokener_new_ex(8);
    if (tok == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    root = json_tokener_parse_ex(tok, (const char *)body, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_is_type(root, json_type_object)) {
        json_tokener_free(tok);
        json_object_put(root);
        return hub_error_set(err, HUB_E_INVALID, "the key delivery is not a JSON object");
    }
    json_tokener_free(tok);
    hub_buf_init(&store, HUB_OAUTH_MAX_KEYS_BODY * 2);
    json_object_object_foreach(root, k, v) {
        const char *val;

        if (out->n + 1 >= HUB_OAUTH_MAX_PARAMS) {
            rc = hub_error_set(err, HUB_E_LIMIT, "the key delivery has too many members");
            break;
        }
        if (json_object_is_type(v, json_type_string))
            val = json_object_get_string(v);
        else if (json_object_is_type(v, json_type_int))
            val = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        else
            continue;                           /* only scalars cross into parameters */
        if (strcmp(k, "state") == 0)
            continue;                           /* the state is user_id, nothing else */
        offs[out->n][0] = store.len;
        bad |= hub_buf_append(&store, k, strlen(k) + 1) < 0;
        offs[out->n][1] = store.len;
        bad |= hub_buf_append(&store, val, strlen(val) + 1) < 0;
        out->n++;
        if (strcmp(k, "user_id") == 0) {
            offs[out->n][0] = store.len;
            bad |= hub_buf_append(&store, "state", 6) < 0;
            offs[out->n][1] = store.len;
            bad |= hub_buf_append(&store, val, strlen(val) + 1) < 0;
            out->n++;
        }
    }
    json_object_put(root);
    if (rc == 0 && bad)
        rc = hub_error_set(err, HUB_E_NOMEM, "out of memory");
    if (rc < 0) {
        hub_buf_free(&store);
        out->n = 0;
        return rc;
    }
    out->store = store.data;                    /* owned now */
    for (i = 0; i < out->n; i++) {
        out->kv[i].key = sx_cstr(out->store + offs[i][0]);
        out->kv[i].value = sx_cstr(out->store + offs[i][1]);
    }
    return 0;
}

static void
job_keys(struct hub_http_job *job, void *arg)
{
    struct hub_oauth_ctx   *ctx = arg;
    struct hub_oauth_params params;
    struct hub_error        err;
    const unsigned char    *body;
    const char             *ct = hub_http_job_header(job, "Content-Type");
    size_t                  len = 0;
    int64_t                 id = 0;
    int                     rc, status;

    hub_error_clear(&err);
    body = hub_http_job_body(job, &len);
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
        hub_http_job_reply_error(job, 415, "unsupported_media_type",
                                 "the key delivery must be application/json");
        return;
    }
    rc = keys_params(body, len, &params, &err);
    if (rc == 0 && hub_oauth_param(&params, "state") == NULL)
        rc = hub_error_set(&err, HUB_E_INVALID, "the key delivery carries no "
                           "user_id (the hub's state)");
    if (rc == 0)
        rc = hub_oauth_callback(hub_http_job_db(job), ctx->rt, ctx->plugins, ctx->keys,
                                &params, &id, &err);
    hub_oauth_params_free(&params);
    if (rc == 0) {
        {
            static const char ok[] = "{\"status\":\"connected\"}\n";

            hub_http_job_reply(job, 200, "application/json", ok, sizeof(ok) - 1);
        }
        return;
    }
    status = hub_oauth_http_status(rc);
    if (status >= 500) {
        hub_log_error("oauth", "key delivery for integration %lld failed: %s", (long long)id,
                      err.msg);
        hub_http_job_reply_error(job, status, "unavailable", "the hub could not store the keys; "
                                 "start the connection again");
    } else {
        char safe[HUB_ERROR_MAX];

        hub_log_redact(err.msg, strlen(err.msg), safe, sizeof(safe));
        hub_log_warn("oauth", "key delivery for integration %lld refused: %s", (long long)id,
                     safe);
        hub_http_job_reply_error(job, status, "refused", "%s", safe);
    }
}

static int
h_callback(struct hub_http_ctx *hctx, void *arg)
{
    struct hub_oauth_ctx *ctx = arg;

    return hub_http_defer(ctx->defer, hctx, job_callback, ctx);
}

static int
h_keys(struct hub_http_ctx *hctx, void *arg)
{
    struct hub_oauth_ctx *ctx = arg;

    return hub_http_defer(ctx->defer, hctx, job_keys, ctx);
}

int
hub_oauth_register_routes(struct hub_http_server *s, struct hub_oauth_ctx *ctx)
{
    int rc = hub_http_route(s, HUB_M_GET, HUB_OAUTH_CALLBACK_PATH, h_callback, ctx);

    if (rc == 0)
        rc = hub_http_route(s, HUB_M_POST, HUB_OAUTH_CALLBACK_PATH, h_keys, ctx);
    return rc;
}
