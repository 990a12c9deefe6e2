/*
 * The WooCommerce connector's request signing (plugins/woocommerce/woo_auth.c), without a
 * network: Basic over HTTPS, the keys in the query (query_auth), and OAuth 1.0a one-legged
 * over plain HTTP (platforms.md 2.1): the signature base string against vectors built by hand
 * from WooCommerce's algorithm (decode, rawurlencode, strcmp order, pairs encoded again), the
 * signature recomputed from the parameters the request carries, fresh nonces per call, and
 * the authorize URL of the /wc-auth key flow. The end-to-end proof that the sandbox (checked
 * against the official client) accepts these signatures is test_woo_e2e.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plugin/hostapi.h"

#include "../../plugins/common/sxp.c"
#include "../../plugins/woocommerce/woo_map.c"
#include "../../plugins/woocommerce/woo.c"
#include "../../plugins/woocommerce/woo_auth.c"
#include "../../plugins/woocommerce/woo_webhook.c"

#define CK "ck_1b7e7c1f3a5d9e2b4c6a8f0d2e4b6c8a0f1e3d5c"
#define CS "cs_9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"

static struct hub_call call;
static sx_host_api     fake;
static struct woo_inst inst;

static int
fake_secret(sx_ctx *cx, const char *key, sx_str *out)
{
    (void)cx;
    if (strcmp(key, "consumer_key") == 0) {
        *out = SX_STR(CK);
        return SX_OK;
    }
    if (strcmp(key, "consumer_secret") == 0) {
        *out = SX_STR(CS);
        return SX_OK;
    }
    return SX_E_NOT_FOUND;
}

static int64_t
fake_now(sx_ctx *cx)
{
    (void)cx;
    return 1700000000123LL;
}

static void
begin(const char *origin, int query_auth)
{
    hub_call_begin(&call, NULL, NULL);
    fake = *call.cx.host;
    fake.secret_get = fake_secret;
    fake.config_get = fake_secret;
    fake.now_ms = fake_now;
    call.cx.host = &fake;
    memset(&inst, 0, sizeof(inst));
    snprintf(inst.origin, sizeof(inst.origin), "%s", origin);
    snprintf(inst.api, sizeof(inst.api), "%s/wp-json/wc/v3", origin);
    inst.https = strncmp(origin, "https://", 8) == 0;
    inst.query_auth = query_auth && inst.https;
    call.cx.state = &inst;
}

static void
end(void)
{
    hub_call_end(&call);
}

/* The value of `key` in an encoded query, decoded (call arena), or NULL. */
static const char *
qparam(sx_str q, const char *key)
{
    const char *p = q.ptr, *e = q.ptr + q.len;
    size_t      kl = strlen(key);
    sx_str      v;

    while (p < e) {
        const char *amp = memchr(p, '&', (size_t)(e - p));

        if (amp == NULL)
            amp = e;
        if ((size_t)(amp - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
            if (url_decode(&call.cx, p + kl + 1, (size_t)(amp - p - kl - 1), &v) != SX_OK)
                return NULL;
            return v.ptr;
        }
        p = amp + 1;
    }
    return NULL;
}

static void
test_base_string(void)
{
    sx_kv  oauth[4];
    sx_str out;

    begin("http://127.0.0.1:8080", 0);
    oauth[0] = (sx_kv){ SX_STR("oauth_consumer_key"), SX_STR("ck_x") };
    oauth[1] = (sx_kv){ SX_STR("oauth_nonce"), SX_STR("n1") };
    oauth[2] = (sx_kv){ SX_STR("oauth_signature_method"), SX_STR("HMAC-SHA256") };
    oauth[3] = (sx_kv){ SX_STR("oauth_timestamp"), SX_STR("1700000000") };
    /* The query arrives form-encoded; WooCommerce decodes, then rawurlencodes twice. */
    CHECK(woo_oauth_base_string(&call.cx, "GET",
                                SX_STR("http://127.0.0.1:8080/wp-json/wc/v3/orders"),
                                SX_STR("per_page=100&modified_after=2024-01-01T00%3A00%3A00"),
                                oauth, 4, &out) == SX_OK);
    CHECK_STR_EQ("GET&http%3A%2F%2F127.0.0.1%3A8080%2Fwp-json%2Fwc%2Fv3%2Forders&"
                 "modified_after%3D2024-01-01T00%253A00%253A00%26oauth_consumer_key%3Dck_x%26"
                 "oauth_nonce%3Dn1%26oauth_signature_method%3DHMAC-SHA256%26"
                 "oauth_timestamp%3D1700000000%26per_page%3D100", out.ptr);
    /* '+' is a space (PHP), '~' stays, same keys ordered by value, an empty value. */
    CHECK(woo_oauth_base_string(&call.cx, "POST", SX_STR("http://s/wp-json/wc/v3/x"),
                                SX_STR("b=2&a=z+y&a=c~d&e="), oauth, 0, &out) == SX_OK);
    CHECK_STR_EQ("POST&http%3A%2F%2Fs%2Fwp-json%2Fwc%2Fv3%2Fx&"
                 "a%3Dc~d%26a%3Dz%2520y%26b%3D2%26e%3D", out.ptr);
    end();
}

static void
test_oauth_request(void)
{
    sx_http_req  in = SX_HTTP_REQ_INIT, out;
    sx_kv        oauth[4];
    sx_str       base, sig, key = SX_STR(CS "&");
    uint8_t      mac[32];
    const char  *nonce1;
    char         n1[64];

    begin("http://127.0.0.1:8080", 0);
    in.url = SX_STR("http://127.0.0.1:8080/wp-json/wc/v3/customers");
    in.query = SX_STR("per_page=100&page=2");
    out = in;
    CHECK(woo_sign(&call.cx, &in, &out) == SX_OK);
    CHECK_STR_EQ(qparam(out.query, "per_page"), "100");
    CHECK_STR_EQ(qparam(out.query, "oauth_consumer_key"), CK);
    CHECK_STR_EQ(qparam(out.query, "oauth_signature_method"), "HMAC-SHA256");
    CHECK_STR_EQ(qparam(out.query, "oauth_timestamp"), "1700000000");
    CHECK(qparam(out.query, "oauth_version") == NULL);         /* 2.1: leave it out */
    CHECK(out.n_headers == 0);                                 /* nothing in Authorization */
    nonce1 = qparam(out.query, "oauth_nonce");
    REQUIRE(nonce1 != NULL);
    CHECK_EQ(strlen(nonce1), 32);
    snprintf(n1, sizeof(n1), "%s", nonce1);
    /* Recompute: base64(HMAC-SHA256(cs&, base string of everything but the signature)). */
    oauth[0] = (sx_kv){ SX_STR("oauth_consumer_key"), SX_STR(CK) };
    oauth[1] = (sx_kv){ SX_STR("oauth_nonce"), sx_cstr(n1) };
    oauth[2] = (sx_kv){ SX_STR("oauth_signature_method"), SX_STR("HMAC-SHA256") };
    oauth[3] = (sx_kv){ SX_STR("oauth_timestamp"), SX_STR("1700000000") };
    REQUIRE(woo_oauth_base_string(&call.cx, "GET", in.url, in.query, oauth, 4, &base) == SX_OK);
    REQUIRE(fake.hmac_sha256(key, base, mac) == SX_OK);
    REQUIRE(fake.base64_encode(&call.cx, mac, sizeof(mac), &sig) == SX_OK);
    CHECK_STR_EQ(qparam(out.query, "oauth_signature"), sig.ptr);
    /* A second signing (a retry) has a new nonce. */
    out = in;
    CHECK(woo_sign(&call.cx, &in, &out) == SX_OK);
    CHECK(strcmp(qparam(out.query, "oauth_nonce"), n1) != 0);
    /* A URL that carries its own query (webhooks/N?force=true) is split and signed whole. */
    in.url = SX_STR("http://127.0.0.1:8080/wp-json/wc/v3/webhooks/7?force=true");
    in.query = SX_STR_NULL;
    in.method = SX_HTTP_DELETE;
    out = in;
    CHECK(woo_sign(&call.cx, &in, &out) == SX_OK);
    CHECK(out.url.len == strlen("http://127.0.0.1:8080/wp-json/wc/v3/webhooks/7"));
    CHECK_STR_EQ(qparam(out.query, "force"), "true");
    CHECK(qparam(out.query, "oauth_signature") != NULL);
    end();
}

static void
test_https(void)
{
    sx_http_req           in = SX_HTTP_REQ_INIT, out;
    sx_http_header        extra = { SX_STR("Accept"), SX_STR("application/json") };
    char                  want[256];
    size_t                i;
    int                   found = 0;

    begin("https://store.example", 0);
    in.url = SX_STR("https://store.example/wp-json/wc/v3/products");
    in.query = SX_STR("per_page=5");
    in.headers = &extra;
    in.n_headers = 1;
    out = in;
    CHECK(woo_sign(&call.cx, &in, &out) == SX_OK);
    CHECK_EQ(out.n_headers, 2);
    /* base64("ck_...:cs_...") */
    snprintf(want, sizeof(want), "Basic %s",
             "Y2tfMWI3ZTdjMWYzYTVkOWUyYjRjNmE4ZjBkMmU0YjZjOGEwZjFlM2Q1Yzpjc185ZjhlN2Q2YzViNGEz"
             "OTI4MTcwNmY1ZTRkM2MyYjFhMDk4NzY1NDMy");
    for (i = 0; i < out.n_headers; i++) {
        if (sx_str_eq_cstr(out.headers[i].name, "Authorization")) {
            CHECK(sx_str_eq_cstr(out.headers[i].value, want));
            found = 1;
        }
    }
    CHECK(found);
    CHECK(sx_str_eq_cstr(out.query, "per_page=5"));            /* keys not in the URL */
    end();

    begin("https://store.example", 1);                         /* query_auth */
    in.n_headers = 0;
    in.headers = NULL;
    out = in;
    CHECK(woo_sign(&call.cx, &in, &out) == SX_OK);
    CHECK_EQ(out.n_headers, 0);
    CHECK_STR_EQ(qparam(out.query, "consumer_key"), CK);
    CHECK_STR_EQ(qparam(out.query, "consumer_secret"), CS);
    CHECK_STR_EQ(qparam(out.query, "per_page"), "5");
    end();
}

static void
test_authorize_url(void)
{
    sx_str url;

    begin("https://store.example", 0);
    CHECK(woo_authorize_url(&call.cx, SX_STR("ab12"), SX_STR("https://hub.example/oauth/callback"),
                            &url) == SX_OK);
    CHECK_STR_EQ("https://store.example/wc-auth/v1/authorize?app_name=Simplix&scope=read_write&"
                 "user_id=ab12&return_url=https%3A%2F%2Fhub.example%2Foauth%2Fcallback&"
                 "callback_url=https%3A%2F%2Fhub.example%2Foauth%2Fcallback", url.ptr);
    end();
}

static void
test_key_checks(void)
{
    CHECK(key_valid(SX_STR(CK), "ck_"));
    CHECK(!key_valid(SX_STR(CK), "cs_"));
    CHECK(!key_valid(SX_STR("ck_"), "ck_"));
    CHECK(!key_valid(SX_STR("ck_abc&x=1"), "ck_"));
}

int
main(void)
{
    RUN_TEST(test_base_string);
    RUN_TEST(test_oauth_request);
    RUN_TEST(test_https);
    RUN_TEST(test_authorize_url);
    RUN_TEST(test_key_checks);
    return check_report();
}
