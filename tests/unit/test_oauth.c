/*
 * The OAuth manager (host/oauth/oauth.h) against a real PostgreSQL, with a counting fake of a
 * Shopify-like OAuth connector registered in-process (the loader's struct hub_plugin, filled
 * by hand: no .so and no CMake needed). The fake behaves like a platform with ROTATING refresh
 * tokens: each refresh invalidates the previous refresh token, so two refreshes of one grant
 * would kill it, which is exactly what the locking must prevent.
 *
 * Proved here: start (state in the URL, only its SHA-256 stored, redirect_uri, 10 min);
 * callback refusals (no state, unknown, expired, used; bad hmac and stale timestamp from the
 * connector) with distinct sentences; a failed callback does not consume the state; storage
 * (integration_secrets, oauth_tokens, shopify_shops sealed with its AD, shop details, status
 * ACTIVE); two concurrent callbacks with one state: one wins; refresh races between 4 threads
 * and between 2 processes (fork, own connections): exactly one refresh reaches the platform and
 * everyone ends with the same new token; refresh by generation; dead grant -> ERROR with the
 * reconnect sentence, no further platform calls, reconnect clears it; the HTTP callback route
 * through the deferred pool; purge of old states.
 *
 * The real Shopify connector against the sandbox's OAuth is tested in
 * test_shopify_connector.c (authorize URL, callback, refresh, dead grant) and end to end in
 * tests/integration/test_shopify_e2e.sh; the WooCommerce key flow in test_woo_e2e.sh.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "db/migrate.h"
#include "http/defer.h"
#include "http/server.h"
#include "oauth/oauth.h"
#include "plugin/hostapi.h"

#define PUBLIC_URL  "https://hub.example/"
#define SHOP        "fake-shop.myshopify.com"
#define DEAD_SENTENCE "Shopify refused the refresh token: reconnect the shop in Simplix (OAuth)"

/* ---- the fake platform, shared between processes --------------------------------------------- */

struct platform {
    pthread_mutex_t lock;              /* PTHREAD_PROCESS_SHARED */
    int             exchanges;         /* code exchanges that reached the platform */
    int             refreshes;         /* refresh calls that reached the platform */
    int             gen;               /* last token pair issued */
    char            valid_rt[64];      /* the only refresh token the platform accepts now */
    int             exchange_delay_ms;
    int             refresh_delay_ms;
    uint32_t        last_n_params;
    char            last_redirect[256];
    atomic_int      ready;             /* fork test: children ready */
    atomic_int      go;                /* fork test: start together */
    int             child_rc[2];
    char            child_token[2][64];
};

static struct platform *plat;

static struct testdb             tdb;
static struct hub_db             conn;
static struct hub_runtime        rt;
static struct hub_plugins        plugins;
static struct hub_crypto_keyring keys;
static int64_t                   shop_id, template_id, org_id;

static int
kv_find(const sx_kv *params, uint32_t n, const char *key, sx_str *out)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (sx_str_eq_cstr(params[i].key, key)) {
            *out = params[i].value;
            return 1;
        }
    }
    return 0;
}

static sx_str
arena_str(sx_ctx *cx, const char *s)
{
    size_t len = strlen(s);
    char  *p = cx->host->alloc(cx, len + 1);

    memcpy(p, s, len + 1);
    return (sx_str){ p, len };
}

static int
fake_authorize_url(sx_ctx *cx, sx_str state, sx_str redirect_uri, sx_str *url)
{
    char   enc[512], buf[1024];
    size_t i, o = 0;

    for (i = 0; i < redirect_uri.len && o + 4 < sizeof(enc); i++) {
        unsigned char c = (unsigned char)redirect_uri.ptr[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            enc[o++] = (char)c;
        } else {
            snprintf(enc + o, 4, "%%%02X", c);
            o += 3;
        }
    }
    enc[o] = '\0';
    snprintf(buf, sizeof(buf), "https://" SHOP "/admin/oauth/authorize?client_id=fake-key&"
             "scope=read_products&redirect_uri=%s&state=%.*s", enc, (int)state.len, state.ptr);
    *url = arena_str(cx, buf);
    return SX_OK;
}

static void
issue_pair(sx_ctx *cx, sx_token *out)
{
    char at[64], rtk[64];
    int  g;

    pthread_mutex_lock(&plat->lock);
    g = ++plat->gen;
    snprintf(rtk, sizeof(rtk), "shprt_rotating_%d", g);
    snprintf(plat->valid_rt, sizeof(plat->valid_rt), "%s", rtk);
    pthread_mutex_unlock(&plat->lock);
    snprintf(at, sizeof(at), "shpat_access_%d", g);
    out->access_token = arena_str(cx, at);
    out->refresh_token = arena_str(cx, rtk);
    out->expires_in_s = 3600;
    out->refresh_expires_in_s = 7776000;
    out->scope = arena_str(cx, "read_products,write_customers");
}

static int
fake_exchange_code(sx_ctx *cx, const sx_kv *params, uint32_t n, sx_str redirect_uri,
                   sx_token *out)
{
    const sx_host_api *h = cx->host;
    sx_str             v;

    plat->last_n_params = n;
    snprintf(plat->last_redirect, sizeof(plat->last_redirect), "%.*s", (int)redirect_uri.len,
             redirect_uri.ptr);
    /* Shopify's order: hmac over the parameters, shop pattern, timestamp; then exchange. */
    if (!kv_find(params, n, "hmac", &v) || sx_str_eq_cstr(v, "bad"))
        return h->fail(cx, SX_E_SIGNATURE, "hmac does not match the parameters");
    if (kv_find(params, n, "timestamp", &v) && sx_str_eq_cstr(v, "old"))
        return h->fail(cx, SX_E_STALE, "timestamp is 86400 s old, tolerance 300 s");
    if (!kv_find(params, n, "code", &v) || !sx_str_eq_cstr(v, "good-code"))
        return h->fail(cx, SX_E_REJECTED, "invalid_request: the code was already used");
    if (plat->exchange_delay_ms > 0)
        usleep((useconds_t)plat->exchange_delay_ms * 1000);
    pthread_mutex_lock(&plat->lock);
    plat->exchanges++;
    pthread_mutex_unlock(&plat->lock);
    issue_pair(cx, out);
    out->account_json = arena_str(cx, "{\"shop\":{\"name\":\"Zo\xc3\xab's Shop\",\"email\":"
                                  "\"owner@fake-shop.example\",\"currency\":\"EUR\","
                                  "\"iana_timezone\":\"Europe/Paris\",\"plan_name\":\"basic\","
                                  "\"country_code\":\"FR\"}}");
    return SX_OK;
}

static int
fake_refresh(sx_ctx *cx, sx_token *out)
{
    const sx_host_api *h = cx->host;
    sx_str             rtk;
    int                ok;

    if (h->secret_get(cx, "refresh_token", &rtk) != SX_OK)
        return h->fail(cx, SX_E_AUTH, "no refresh token stored");
    pthread_mutex_lock(&plat->lock);
    plat->refreshes++;
    ok = sx_str_eq_cstr(rtk, plat->valid_rt);
    pthread_mutex_unlock(&plat->lock);
    /* A slow platform widens the window in which a second refresher could slip in. */
    if (plat->refresh_delay_ms > 0)
        usleep((useconds_t)plat->refresh_delay_ms * 1000);
    if (!ok)
        return h->fail(cx, SX_E_AUTH, "invalid_grant: the refresh token was revoked");
    issue_pair(cx, out);
    return SX_OK;
}

static int
fake_test_connection(sx_ctx *cx)
{
    (void)cx;
    return SX_OK;
}

static const sx_auth_ops fake_auth = {
    .hdr = SX_HEADER_INIT(sx_auth_ops),
    .apply = SX_APPLY_HEADER,
    .header_name = "X-Shopify-Access-Token",
    .token_key = "access_token",
    .authorize_url = fake_authorize_url,
    .exchange_code = fake_exchange_code,
    .refresh = fake_refresh,
};

/* The loader's own struct, filled as hub_plugin_load would after validation. */
static struct hub_plugin *
fake_plugin(void)
{
    struct hub_plugin *p = calloc(1, sizeof(*p));

    REQUIRE(p != NULL);
    snprintf(p->id, sizeof(p->id), "shopify");
    snprintf(p->file, sizeof(p->file), "fake shopify (test_oauth.c)");
    snprintf(p->path, sizeof(p->path), "(in-process)");
    p->abi_major = SX_ABI_MAJOR;
    p->abi_minor = SX_ABI_MINOR;
    p->desc.hdr = (sx_header)SX_HEADER_INIT(sx_connector);
    p->desc.id = "shopify";
    p->desc.display_name = "Shopify";
    p->desc.version = "0.0.0-test";
    p->desc.auth_kind = SX_AUTH_OAUTH2_CODE;
    p->desc.test_connection = fake_test_connection;
    p->auth = fake_auth;
    p->has_auth = 1;
    atomic_init(&p->refs, 1);
    return p;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static long long
scalar(const char *fmt, long long a)
{
    char sql[1024];

    snprintf(sql, sizeof(sql), fmt, a);
    return testdb_scalar(&tdb, sql);
}

static void
text_of(const char *sql, char *out, size_t cap)
{
    PGresult *res = PQexec(conn.conn, sql);

    out[0] = '\0';
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

/* The state carried by an authorize URL ("...&state=<64 hex>"). */
static void
state_of(const char *url, char out[65])
{
    const char *s = strstr(url, "state=");

    out[0] = '\0';
    if (s != NULL && strlen(s + 6) >= 64)
        snprintf(out, 65, "%.64s", s + 6);
}

static void
start(char state[65])
{
    struct hub_error err;
    char            *url = NULL;

    REQUIRE(hub_oauth_start(&conn, &rt, &plugins, shop_id, PUBLIC_URL, &url, &err) == 0);
    state_of(url, state);
    free(url);
}

static int
callback(struct hub_db *db, const char *query, int64_t *id, struct hub_error *err)
{
    struct hub_oauth_params p;
    int                     rc;

    rc = hub_oauth_params_parse(query, &p, err);
    if (rc == 0)
        rc = hub_oauth_callback(db, &rt, &plugins, &keys, &p, id, err);
    hub_oauth_params_free(&p);
    return rc;
}

static void
good_query(const char *state, char *out, size_t cap)
{
    snprintf(out, cap, "code=good-code&hmac=0123abcd&host=YWRtaW4&shop=Fake-Shop.myshopify.com&"
             "state=%s&timestamp=1700000000", state);
}

static void
secret_of(struct hub_db *db, const char *key, char *out, size_t cap)
{
    struct hub_error err;
    char            *v = NULL;
    size_t           len = 0;

    out[0] = '\0';
    if (hub_secret_load(db, &keys, shop_id, key, &v, &len, &err) == 0)
        snprintf(out, cap, "%.*s", (int)len, v);
    hub_crypto_free_secret(v, len);
}

static void
expire_token(void)
{
    REQUIRE(scalar("WITH u AS (UPDATE oauth_tokens SET expires_at = now() - interval '1 second' "
                   "WHERE integration_id = %lld RETURNING 1) SELECT count(*) FROM u",
                   shop_id) == 1);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void
test_params_parse(void)
{
    struct hub_oauth_params p;
    struct hub_error        err;
    char                    big[HUB_OAUTH_MAX_QUERY + 2];
    size_t                  i;

    CHECK_EQ(0, hub_oauth_params_parse("a=1&b=x%20y+z&&c=&d&e=%C3%AB", &p, &err));
    CHECK_EQ(5, p.n);
    CHECK_STR_EQ("x y z", hub_oauth_param(&p, "b"));
    CHECK_STR_EQ("", hub_oauth_param(&p, "c"));
    CHECK_STR_EQ("", hub_oauth_param(&p, "d"));
    CHECK_STR_EQ("\xc3\xab", hub_oauth_param(&p, "e"));
    CHECK(hub_oauth_param(&p, "z") == NULL);
    hub_oauth_params_free(&p);
    CHECK_EQ(HUB_E_INVALID, hub_oauth_params_parse("a=%zz", &p, &err));
    hub_oauth_params_free(&p);
    CHECK_EQ(HUB_E_INVALID, hub_oauth_params_parse("a=%0", &p, &err));
    hub_oauth_params_free(&p);
    CHECK_EQ(HUB_E_INVALID, hub_oauth_params_parse("a=x%00y", &p, &err));
    hub_oauth_params_free(&p);
    CHECK_EQ(HUB_E_INVALID, hub_oauth_params_parse("=v", &p, &err));
    hub_oauth_params_free(&p);
    for (i = 0; i + 4 <= HUB_OAUTH_MAX_QUERY; i += 4)
        memcpy(big + i, "a=1&", 4);
    big[i] = '\0';
    CHECK_EQ(HUB_E_LIMIT, hub_oauth_params_parse(big, &p, &err));     /* > 64 parameters */
    hub_oauth_params_free(&p);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ(HUB_E_LIMIT, hub_oauth_params_parse(big, &p, &err));     /* > 8 KiB */
    hub_oauth_params_free(&p);
}

static void
test_start(void)
{
    struct hub_error err;
    char            *url = NULL, state[65], hash[65], sql[512], got[256];

    REQUIRE(hub_oauth_start(&conn, &rt, &plugins, shop_id, PUBLIC_URL, &url, &err) == 0);
    CHECK_STR_HAS(url, "https://" SHOP "/admin/oauth/authorize?");
    CHECK_STR_HAS(url, "redirect_uri=https%3A%2F%2Fhub.example%2Foauth%2Fcallback&");
    state_of(url, state);
    CHECK_EQ(64, strlen(state));
    CHECK_EQ(64, strspn(state, "0123456789abcdef"));
    /* Only the hash is stored, with the integration, its organization and 10 minutes. */
    REQUIRE(hub_crypto_sha256_hex(state, 64, hash) == 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM oauth_states WHERE state = '%s'", state);
    CHECK_EQ(0, testdb_scalar(&tdb, sql));
    snprintf(sql, sizeof(sql), "SELECT redirect_uri FROM oauth_states WHERE state = '%s' AND "
             "integration_id = %lld AND organization_id = %lld AND used_at IS NULL AND "
             "expires_at - created_at = interval '10 minutes'", hash, (long long)shop_id,
             (long long)org_id);
    text_of(sql, got, sizeof(got));
    CHECK_STR_EQ("https://hub.example/oauth/callback", got);
    free(url);

    /* Two starts, two different states. */
    {
        char s2[65];

        start(s2);
        CHECK(strcmp(s2, state) != 0);
    }
    url = NULL;
    CHECK_EQ(HUB_E_UNSUPPORTED, hub_oauth_start(&conn, &rt, &plugins, template_id, PUBLIC_URL,
                                                &url, &err));
    CHECK_STR_HAS(err.msg, "does not connect with OAuth");
    CHECK_EQ(HUB_E_NOT_FOUND, hub_oauth_start(&conn, &rt, &plugins, 999999, PUBLIC_URL, &url,
                                              &err));
    CHECK_EQ(HUB_E_INVALID, hub_oauth_start(&conn, &rt, &plugins, shop_id, "ftp://x", &url,
                                            &err));
    CHECK_EQ(HUB_E_INVALID, hub_oauth_start(&conn, &rt, &plugins, shop_id,
                                            "https://hub.example/?x=1", &url, &err));
    CHECK(url == NULL);
}

static void
test_callback_refusals(void)
{
    struct hub_error err;
    char             state[65], q[512], msg_expired[HUB_ERROR_MAX], sql[1024];
    int64_t          id = -1;
    int              before = plat->exchanges;

    CHECK_EQ(HUB_E_INVALID, callback(&conn, "code=good-code&hmac=x", &id, &err));
    CHECK_STR_HAS(err.msg, "no state parameter");
    CHECK_EQ(0, id);

    good_query("deadbeef", q, sizeof(q));
    CHECK_EQ(HUB_E_NOT_FOUND, callback(&conn, q, &id, &err));
    CHECK_STR_HAS(err.msg, "unknown authorization state");

    /* Expired: issued 20 minutes ago. */
    start(state);
    REQUIRE(hub_crypto_sha256_hex(state, 64, q) == 0);
    snprintf(sql, sizeof(sql), "UPDATE oauth_states SET created_at = now() - interval '20 min', "
             "expires_at = now() - interval '10 min' WHERE state = '%s'", q);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    good_query(state, q, sizeof(q));
    CHECK_EQ(HUB_E_STALE, callback(&conn, q, &id, &err));
    CHECK_STR_HAS(err.msg, "authorization link expired");
    snprintf(msg_expired, sizeof(msg_expired), "%s", err.msg);

    /* The connector's checks: bad hmac, old timestamp. Neither consumes the state. */
    start(state);
    snprintf(q, sizeof(q), "code=good-code&hmac=bad&shop=" SHOP "&state=%s&timestamp=1", state);
    CHECK_EQ(HUB_E_SIGNATURE, callback(&conn, q, &id, &err));
    CHECK_STR_HAS(err.msg, "signature is wrong");
    CHECK_STR_HAS(err.msg, "hmac does not match");
    CHECK_EQ(shop_id, id);
    CHECK_EQ(400, hub_oauth_http_status(HUB_E_SIGNATURE));
    snprintf(q, sizeof(q), "code=good-code&hmac=ok&shop=" SHOP "&state=%s&timestamp=old", state);
    CHECK_EQ(HUB_E_STALE, callback(&conn, q, &id, &err));
    CHECK_STR_HAS(err.msg, "timestamp is too old");
    CHECK(strcmp(err.msg, msg_expired) != 0);
    snprintf(q, sizeof(q), "code=used-code&hmac=ok&shop=" SHOP "&state=%s", state);
    CHECK_EQ(HUB_E_REJECTED, callback(&conn, q, &id, &err));
    CHECK_STR_HAS(err.msg, "Shopify refused the authorization: invalid_request");
    CHECK_EQ(before, plat->exchanges);
    CHECK_EQ(0, scalar("SELECT count(*) FROM oauth_states WHERE used_at IS NOT NULL AND "
                       "integration_id = %lld", shop_id));

    /* The same state then succeeds once, and only once. */
    good_query(state, q, sizeof(q));
    CHECK_EQ(0, callback(&conn, q, &id, &err));
    CHECK_EQ(shop_id, id);
    CHECK_EQ(before + 1, plat->exchanges);
    CHECK_EQ(HUB_E_CONFLICT, callback(&conn, q, &id, &err));
    CHECK_STR_HAS(err.msg, "already used");
    CHECK_EQ(before + 1, plat->exchanges);
}

static void
test_callback_stores(void)
{
    struct hub_error err;
    char             state[65], q[512], tok[64], sql[512], got[256];
    int64_t          id = 0;
    PGresult        *res;

    REQUIRE(testdb_exec(&tdb, "UPDATE integrations SET status = 'ERROR', last_error_message = "
                        "'old', last_error_at = now() WHERE platform = 'shopify'") == 0);
    start(state);
    good_query(state, q, sizeof(q));
    REQUIRE(callback(&conn, q, &id, &err) == 0);
    /* The connector saw every parameter and the stored redirect_uri. */
    CHECK_EQ(6, plat->last_n_params);
    CHECK_STR_EQ("https://hub.example/oauth/callback", plat->last_redirect);

    text_of("SELECT status || ' ' || auth_type || ' ' || coalesce(last_error_message, '-') || "
            "' ' || (last_error_at IS NULL) FROM integrations WHERE platform = 'shopify'",
            got, sizeof(got));
    CHECK_STR_EQ("ACTIVE oauth2_code - true", got);

    snprintf(sql, sizeof(sql), "shpat_access_%d", plat->gen);
    secret_of(&conn, "access_token", tok, sizeof(tok));
    CHECK_STR_EQ(sql, tok);
    secret_of(&conn, "refresh_token", tok, sizeof(tok));
    CHECK_STR_EQ(plat->valid_rt, tok);

    CHECK_EQ(1, scalar("SELECT count(*) FROM oauth_tokens WHERE integration_id = %lld AND "
                       "has_refresh AND dead_at IS NULL AND scopes = 'read_products,"
                       "write_customers' AND expires_at BETWEEN now() + interval '59 min' AND "
                       "now() + interval '61 min'", shop_id));

    /* shopify_shops: lower-cased signed shop, details, sealed tokens that open with the AD. */
    snprintf(sql, sizeof(sql), "SELECT shop_domain, scopes, shop_name, email, currency, timezone, "
             "plan, country_code, access_token, refresh_token, token_expires_at > now() + "
             "interval '59 min', refresh_token_expires_at > now() + interval '89 days' "
             "FROM shopify_shops WHERE integration_id = %lld", (long long)shop_id);
    res = PQexecParams(conn.conn, sql, 0, NULL, NULL, NULL, NULL, 1);
    REQUIRE(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1);
    CHECK_STR_EQ(SHOP, PQgetvalue(res, 0, 0));
    CHECK_STR_EQ("read_products,write_customers", PQgetvalue(res, 0, 1));
    CHECK_STR_EQ("Zo\xc3\xab's Shop", PQgetvalue(res, 0, 2));
    CHECK_STR_EQ("owner@fake-shop.example", PQgetvalue(res, 0, 3));
    CHECK_STR_EQ("EUR", PQgetvalue(res, 0, 4));
    CHECK_STR_EQ("Europe/Paris", PQgetvalue(res, 0, 5));
    CHECK_STR_EQ("basic", PQgetvalue(res, 0, 6));
    CHECK_STR_EQ("FR", PQgetvalue(res, 0, 7));
    CHECK_EQ(1, PQgetvalue(res, 0, 10)[0]);           /* binary bool */
    CHECK_EQ(1, PQgetvalue(res, 0, 11)[0]);
    {
        uint8_t *plain = NULL;
        size_t   plen = 0;
        char     ad[64];

        snprintf(ad, sizeof(ad), HUB_OAUTH_SHOPIFY_AD_ACCESS "%lld", (long long)shop_id);
        CHECK_EQ(0, hub_crypto_open_ad(&keys, ad, strlen(ad),
                                       (const uint8_t *)PQgetvalue(res, 0, 8),
                                       (size_t)PQgetlength(res, 0, 8), &plain, &plen, &err));
        snprintf(sql, sizeof(sql), "shpat_access_%d", plat->gen);
        CHECK_MEM_EQ(sql, strlen(sql), plain, plen);
        hub_crypto_free_secret(plain, plen);
        /* Bound to its column: the access-token AD does not open the refresh token. */
        CHECK_EQ(HUB_E_CRYPTO, hub_crypto_open_ad(&keys, ad, strlen(ad),
                                                  (const uint8_t *)PQgetvalue(res, 0, 9),
                                                  (size_t)PQgetlength(res, 0, 9), &plain,
                                                  &plen, &err));
        snprintf(ad, sizeof(ad), HUB_OAUTH_SHOPIFY_AD_REFRESH "%lld", (long long)shop_id);
        CHECK_EQ(0, hub_crypto_open_ad(&keys, ad, strlen(ad),
                                       (const uint8_t *)PQgetvalue(res, 0, 9),
                                       (size_t)PQgetlength(res, 0, 9), &plain, &plen, &err));
        CHECK_MEM_EQ(plat->valid_rt, strlen(plat->valid_rt), plain, plen);
        hub_crypto_free_secret(plain, plen);
    }
    PQclear(res);
    /* No plaintext token anywhere in the row. */
    CHECK_EQ(0, scalar("SELECT count(*) FROM shopify_shops WHERE integration_id = %lld AND "
                       "(position('shpat_'::bytea in access_token) > 0 OR "
                       "position('shprt_'::bytea in refresh_token) > 0)", shop_id));
}

struct cb_thread {
    pthread_barrier_t *barrier;
    const char        *query;
    int                rc;
    char               msg[HUB_ERROR_MAX];
};

static void *
cb_thread_main(void *p)
{
    struct cb_thread *t = p;
    struct hub_db     db;
    struct hub_error  err;
    int64_t           id;

    if (hub_db_connect(&db, tdb.conninfo, &err) < 0) {
        t->rc = -999;
        pthread_barrier_wait(t->barrier);
        return NULL;
    }
    pthread_barrier_wait(t->barrier);
    t->rc = callback(&db, t->query, &id, &err);
    snprintf(t->msg, sizeof(t->msg), "%s", err.msg);
    hub_db_close(&db);
    return NULL;
}

static void
test_concurrent_callbacks(void)
{
    pthread_barrier_t barrier;
    struct cb_thread  t[2];
    pthread_t         th[2];
    char              state[65], q[512];
    int               i, before = plat->exchanges, wins = 0, used = 0;

    start(state);
    good_query(state, q, sizeof(q));
    plat->exchange_delay_ms = 300;
    pthread_barrier_init(&barrier, NULL, 2);
    for (i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].barrier = &barrier;
        t[i].query = q;
        pthread_create(&th[i], NULL, cb_thread_main, &t[i]);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        if (t[i].rc == 0)
            wins++;
        else if (t[i].rc == HUB_E_CONFLICT && strstr(t[i].msg, "already used") != NULL)
            used++;
        else
            fprintf(stderr, "callback %d: %d %s\n", i, t[i].rc, t[i].msg);
    }
    pthread_barrier_destroy(&barrier);
    plat->exchange_delay_ms = 0;
    CHECK_EQ(1, wins);
    CHECK_EQ(1, used);
    CHECK_EQ(before + 1, plat->exchanges);
}

static struct hub_instance *
open_shop(struct hub_db *db)
{
    struct hub_instance *inst = NULL;
    struct hub_error     err;

    if (hub_instance_open(&rt, &plugins, "shopify", shop_id, "{}", SHOP, db, &inst, &err) < 0)
        fprintf(stderr, "open: %s\n", err.msg);
    return inst;
}

static void
test_refresh_not_due(void)
{
    struct hub_instance *inst = open_shop(&conn);
    struct hub_error     err;
    int                  before = plat->refreshes;

    REQUIRE(inst != NULL);
    CHECK_EQ(0, hub_oauth_ensure_fresh(&conn, &rt, inst, -1, &err));
    CHECK_EQ(before, plat->refreshes);
    /* Within the margin (an hour left, margin of two): refreshed. */
    CHECK_EQ(0, hub_oauth_ensure_fresh(&conn, &rt, inst, 7200, &err));
    CHECK_EQ(before + 1, plat->refreshes);
    CHECK_EQ(1, scalar("SELECT refresh_count FROM oauth_tokens WHERE integration_id = %lld",
                       shop_id));
    /* An integration without OAuth tokens has nothing to refresh. */
    hub_instance_close(inst);
}

#define RACE_THREADS 4

struct race_thread {
    pthread_barrier_t *barrier;
    int                rc;
    char               token[64];
    char               msg[HUB_ERROR_MAX];
};

static void *
race_main(void *p)
{
    struct race_thread  *t = p;
    struct hub_db        db;
    struct hub_error     err;
    struct hub_instance *inst;

    t->rc = -999;
    if (hub_db_connect(&db, tdb.conninfo, &err) < 0) {
        pthread_barrier_wait(t->barrier);
        return NULL;
    }
    inst = open_shop(&db);
    pthread_barrier_wait(t->barrier);
    if (inst != NULL) {
        t->rc = hub_oauth_ensure_fresh(&db, &rt, inst, -1, &err);
        snprintf(t->msg, sizeof(t->msg), "%s", t->rc < 0 ? err.msg : "");
        secret_of(&db, "access_token", t->token, sizeof(t->token));
        hub_instance_close(inst);
    }
    hub_db_close(&db);
    return NULL;
}

static void
test_refresh_race_threads(void)
{
    pthread_barrier_t  barrier;
    struct race_thread t[RACE_THREADS];
    pthread_t          th[RACE_THREADS];
    char               want[64];
    int                i, before = plat->refreshes;

    expire_token();
    plat->refresh_delay_ms = 300;
    pthread_barrier_init(&barrier, NULL, RACE_THREADS);
    for (i = 0; i < RACE_THREADS; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].barrier = &barrier;
        pthread_create(&th[i], NULL, race_main, &t[i]);
    }
    for (i = 0; i < RACE_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    plat->refresh_delay_ms = 0;
    CHECK_EQ(before + 1, plat->refreshes);
    snprintf(want, sizeof(want), "shpat_access_%d", plat->gen);
    for (i = 0; i < RACE_THREADS; i++) {
        CHECK_EQ(0, t[i].rc);
        if (t[i].rc != 0)
            fprintf(stderr, "thread %d: %s\n", i, t[i].msg);
        CHECK_STR_EQ(want, t[i].token);
    }
    CHECK_EQ(1, scalar("SELECT count(*) FROM integrations WHERE id = %lld AND status = 'ACTIVE'",
                       shop_id));
}

/* A child process: its own connection and instance; waits for `go`, refreshes, reports. */
static void
race_child(int slot)
{
    struct hub_db        db;
    struct hub_error     err;
    struct hub_instance *inst;

    plat->child_rc[slot] = -999;
    if (hub_db_connect(&db, tdb.conninfo, &err) < 0)
        _exit(2);
    inst = open_shop(&db);
    if (inst == NULL)
        _exit(3);
    atomic_fetch_add(&plat->ready, 1);
    while (atomic_load(&plat->go) == 0)
        usleep(1000);
    plat->child_rc[slot] = hub_oauth_ensure_fresh(&db, &rt, inst, -1, &err);
    secret_of(&db, "access_token", plat->child_token[slot], sizeof(plat->child_token[slot]));
    hub_instance_close(inst);
    hub_db_close(&db);
    _exit(0);
}

static void
test_refresh_race_processes(void)
{
    pid_t pid[2];
    char  want[64], got[64];
    int   i, status, before = plat->refreshes;

    expire_token();
    plat->refresh_delay_ms = 300;
    atomic_store(&plat->ready, 0);
    atomic_store(&plat->go, 0);
    fflush(NULL);
    for (i = 0; i < 2; i++) {
        pid[i] = fork();
        REQUIRE(pid[i] >= 0);
        if (pid[i] == 0)
            race_child(i);
    }
    for (i = 0; i < 2000 && atomic_load(&plat->ready) < 2; i++)
        usleep(5000);
    CHECK_EQ(2, atomic_load(&plat->ready));
    atomic_store(&plat->go, 1);
    for (i = 0; i < 2; i++) {
        CHECK_EQ(pid[i], waitpid(pid[i], &status, 0));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    plat->refresh_delay_ms = 0;
    CHECK_EQ(before + 1, plat->refreshes);
    snprintf(want, sizeof(want), "shpat_access_%d", plat->gen);
    for (i = 0; i < 2; i++) {
        CHECK_EQ(0, plat->child_rc[i]);
        CHECK_STR_EQ(want, plat->child_token[i]);
    }
    secret_of(&conn, "access_token", got, sizeof(got));
    CHECK_STR_EQ(want, got);
}

static void
test_refresh_by_generation(void)
{
    struct hub_instance        *inst = open_shop(&conn);
    struct hub_oauth_token_info info, after;
    struct hub_error            err;
    int                         before = plat->refreshes;

    REQUIRE(inst != NULL);
    REQUIRE(hub_oauth_token_info(&conn, shop_id, &info, &err) == 0);
    CHECK(info.present);
    CHECK(info.expires_at_ms > 0);
    /* A 401 with the current generation: refresh. */
    CHECK_EQ(0, hub_oauth_refresh_if_generation(&conn, &rt, inst, info.generation, &err));
    CHECK_EQ(before + 1, plat->refreshes);
    REQUIRE(hub_oauth_token_info(&conn, shop_id, &after, &err) == 0);
    CHECK_EQ(info.generation + 1, after.generation);
    /* A late 401 from a request made with the old token: someone already refreshed. */
    CHECK_EQ(0, hub_oauth_refresh_if_generation(&conn, &rt, inst, info.generation, &err));
    CHECK_EQ(before + 1, plat->refreshes);
    hub_instance_close(inst);
}

static void
test_dead_grant(void)
{
    struct hub_instance *inst = open_shop(&conn);
    struct hub_error     err;
    char                 got[512], state[65], q[512];
    int64_t              id;
    int                  before = plat->refreshes;

    REQUIRE(inst != NULL);
    /* The merchant uninstalled the app: the platform forgets the grant. */
    pthread_mutex_lock(&plat->lock);
    snprintf(plat->valid_rt, sizeof(plat->valid_rt), "revoked");
    pthread_mutex_unlock(&plat->lock);
    expire_token();
    CHECK_EQ(HUB_E_AUTH, hub_oauth_ensure_fresh(&conn, &rt, inst, -1, &err));
    CHECK_STR_EQ(DEAD_SENTENCE, err.msg);
    CHECK_EQ(before + 1, plat->refreshes);
    text_of("SELECT status || '|' || last_error_message || '|' || (last_error_at > now() - "
            "interval '1 min') FROM integrations WHERE platform = 'shopify'", got, sizeof(got));
    CHECK_STR_EQ("ERROR|" DEAD_SENTENCE "|true", got);
    CHECK_EQ(1, scalar("SELECT count(*) FROM oauth_tokens WHERE integration_id = %lld AND "
                       "dead_at IS NOT NULL", shop_id));
    /* Not asked again. */
    CHECK_EQ(HUB_E_AUTH, hub_oauth_ensure_fresh(&conn, &rt, inst, -1, &err));
    CHECK_STR_EQ(DEAD_SENTENCE, err.msg);
    CHECK_EQ(before + 1, plat->refreshes);

    /* The administrator reconnects: ACTIVE again, error cleared, refresh works. */
    start(state);
    good_query(state, q, sizeof(q));
    CHECK_EQ(0, callback(&conn, q, &id, &err));
    text_of("SELECT status || '|' || coalesce(last_error_message, '-') FROM integrations "
            "WHERE platform = 'shopify'", got, sizeof(got));
    CHECK_STR_EQ("ACTIVE|-", got);
    expire_token();
    CHECK_EQ(0, hub_oauth_ensure_fresh(&conn, &rt, inst, -1, &err));
    CHECK_EQ(before + 2, plat->refreshes);
    hub_instance_close(inst);
}

static void
test_shop_taken(void)
{
    struct hub_error err;
    char             state[65], q[512], sql[512];
    int64_t          other, id;
    char            *url = NULL;

    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name) "
             "VALUES (%lld, 'shopify', 'Second shop')", (long long)org_id);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    other = testdb_scalar(&tdb, "SELECT max(id) FROM integrations");
    REQUIRE(hub_oauth_start(&conn, &rt, &plugins, other, PUBLIC_URL, &url, &err) == 0);
    state_of(url, state);
    free(url);
    good_query(state, q, sizeof(q));
    CHECK_EQ(HUB_E_REJECTED, callback(&conn, q, &id, &err));
    CHECK_STR_HAS(err.msg, "already connected to another integration");
    CHECK_EQ(0, scalar("SELECT count(*) FROM integration_secrets WHERE integration_id = %lld",
                       other));
    snprintf(sql, sizeof(sql), "DELETE FROM integrations WHERE id = %lld", (long long)other);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
}

static void
test_purge(void)
{
    struct hub_error err;
    int64_t          n = -1;
    char             sql[512];

    snprintf(sql, sizeof(sql), "INSERT INTO oauth_states (state, integration_id, organization_id, "
             "redirect_uri, created_at, expires_at) SELECT md5(g::text) || md5(g::text), %lld, "
             "%lld, 'x', now() - interval '3 days', now() - interval '2 days' "
             "FROM generate_series(1, 5) g", (long long)shop_id, (long long)org_id);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    long long live = testdb_scalar(&tdb, "SELECT count(*) FROM oauth_states WHERE expires_at > "
                                   "now() - interval '1 day'");
    CHECK_EQ(0, hub_oauth_purge_states(&conn, -1, &n, &err));
    CHECK_EQ(5, n);
    CHECK_EQ(live, testdb_scalar(&tdb, "SELECT count(*) FROM oauth_states"));
}

/* ---- the callback route over HTTP ---------------------------------------------------------- */

static struct event_base *base;
static int                http_port;

static void *
loop_main(void *arg)
{
    (void)arg;
    event_base_dispatch(base);
    return NULL;
}

static int
http_get(const char *target, int *status, char *body, size_t cap, char *headers, size_t hcap)
{
    struct sockaddr_in sa;
    struct timeval     tv = { 20, 0 };
    char               req[1024], resp[16384], *sep;
    size_t             got = 0;
    ssize_t            n;
    int                fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)http_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             target);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    while (got < sizeof(resp) - 1 && (n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    resp[got] = '\0';
    *status = 0;
    sscanf(resp, "HTTP/1.%*d %d", status);
    sep = strstr(resp, "\r\n\r\n");
    snprintf(headers, hcap, "%.*s", sep != NULL ? (int)(sep - resp) : 0, resp);
    snprintf(body, cap, "%s", sep != NULL ? sep + 4 : "");
    return 0;
}

static void
test_callback_route(void)
{
    struct hub_http_limits      lim = { 0, 0, 0 };
    struct hub_http_defer_opts  o = { .conninfo = tdb.conninfo, .threads = 2 };
    struct hub_http_defer_pool *pool = NULL;
    struct hub_http_server     *server;
    struct hub_oauth_ctx        ctx;
    struct hub_error            err;
    pthread_t                   loop;
    char                        state[65], q[512], target[700], body[8192], hdrs[4096];
    char                        tok[64];
    int                         status;

    base = event_base_new();
    REQUIRE(base != NULL);
    server = hub_http_server_new(base, &lim, &err);
    REQUIRE(server != NULL);
    REQUIRE(hub_http_server_listen(server, "127.0.0.1", 0, &http_port, &err) == 0);
    REQUIRE(hub_http_defer_pool_new(base, &o, &pool, &err) == 0);
    ctx.rt = &rt;
    ctx.plugins = &plugins;
    ctx.keys = &keys;
    ctx.defer = pool;
    REQUIRE(hub_oauth_register_routes(server, &ctx) == 0);
    REQUIRE(pthread_create(&loop, NULL, loop_main, NULL) == 0);

    start(state);
    good_query(state, q, sizeof(q));
    snprintf(target, sizeof(target), "/oauth/callback?%s", q);
    REQUIRE(http_get(target, &status, body, sizeof(body), hdrs, sizeof(hdrs)) == 0);
    CHECK_EQ(200, status);
    CHECK_STR_HAS(body, "<h1>Connected " SHOP "</h1>");
    CHECK_STR_HAS(hdrs, "Content-Type: text/html; charset=utf-8");
    CHECK_STR_HAS(hdrs, "Referrer-Policy: no-referrer");
    secret_of(&conn, "access_token", tok, sizeof(tok));
    CHECK(tok[0] != '\0' && strstr(body, tok) == NULL);
    CHECK(strstr(body, "good-code") == NULL);
    CHECK(strstr(body, state) == NULL);

    /* Replayed: 400 with the sentence. Unknown: another sentence. */
    REQUIRE(http_get(target, &status, body, sizeof(body), hdrs, sizeof(hdrs)) == 0);
    CHECK_EQ(400, status);
    CHECK_STR_HAS(body, "already used");
    REQUIRE(http_get("/oauth/callback?state=nope&code=x&shop=<script>", &status, body,
                     sizeof(body), hdrs, sizeof(hdrs)) == 0);
    CHECK_EQ(400, status);
    CHECK_STR_HAS(body, "unknown authorization state");
    CHECK(strstr(body, "<script>") == NULL);
    REQUIRE(http_get("/oauth/callback?state=%zz", &status, body, sizeof(body), hdrs,
                     sizeof(hdrs)) == 0);
    CHECK_EQ(400, status);
    CHECK_STR_HAS(body, "malformed");

    event_base_loopexit(base, NULL);
    pthread_join(loop, NULL);
    hub_http_defer_pool_free(pool);
    hub_http_server_free(server);
    event_base_free(base);
}

int
main(void)
{
    struct hub_error    err;
    pthread_mutexattr_t ma;
    uint8_t             key[HUB_CRYPTO_KEY_LEN];
    size_t              loaded = 0, refused = 0;
    int                 applied = 0;
    char                sql[512];

    plat = mmap(NULL, sizeof(*plat), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(plat != MAP_FAILED);
    memset(plat, 0, sizeof(*plat));
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&plat->lock, &ma);
    pthread_mutexattr_destroy(&ma);

    testdb_create(&tdb, "oauth");
    REQUIRE(evthread_use_pthreads() == 0);
    REQUIRE(hub_db_connect(&conn, tdb.conninfo, &err) == 0);
    REQUIRE(hub_migrate(&conn, hub_migrations_dir(), &applied, &err) == 0);
    REQUIRE(testdb_exec(&tdb, "INSERT INTO organizations (name) VALUES ('Org A')") == 0);
    org_id = testdb_scalar(&tdb, "SELECT max(id) FROM organizations");
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name) "
             "VALUES (%lld, 'shopify', 'Fake shop')", (long long)org_id);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    shop_id = testdb_scalar(&tdb, "SELECT max(id) FROM integrations");
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name) "
             "VALUES (%lld, 'template', 'Acme')", (long long)org_id);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    template_id = testdb_scalar(&tdb, "SELECT max(id) FROM integrations");

    memset(key, 9, sizeof(key));
    REQUIRE(hub_crypto_keyring_add(&keys, "k1", key, 1, &err) == 0);
    memset(&rt, 0, sizeof(rt));
    rt.keys = &keys;
    hub_plugins_init(&plugins);
    REQUIRE(hub_plugins_load_dir(&plugins, SX_PLUGIN_DIR, &loaded, &refused, &err) == 0);
    /* The fake takes the id "shopify" (a built shopify.so, if any, is retired for it). */
    hub_plugins_replace(&plugins, fake_plugin());

    RUN_TEST(test_params_parse);
    RUN_TEST(test_start);
    RUN_TEST(test_callback_refusals);
    RUN_TEST(test_callback_stores);
    RUN_TEST(test_concurrent_callbacks);
    RUN_TEST(test_refresh_not_due);
    RUN_TEST(test_refresh_race_threads);
    RUN_TEST(test_refresh_race_processes);
    RUN_TEST(test_refresh_by_generation);
    RUN_TEST(test_dead_grant);
    RUN_TEST(test_shop_taken);
    RUN_TEST(test_purge);
    RUN_TEST(test_callback_route);

    hub_plugins_destroy(&plugins);
    hub_crypto_keyring_wipe(&keys);
    hub_log_redact_clear();
    hub_db_close(&conn);
    testdb_drop(&tdb);
    pthread_mutex_destroy(&plat->lock);
    munmap(plat, sizeof(*plat));
    return check_report();
}
