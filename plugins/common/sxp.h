/*
 * Helpers shared by the first-party connectors, compiled into each connector (hidden; only
 * sx_connector_entry is exported): a bounded JSON writer over the host's call arena, form
 * encoding and an exact decimal-to-ppm parser. Third-party connectors may copy them; they use
 * nothing but the SDK.
 */
#ifndef SXP_H
#define SXP_H

#include <simplix/simplix.h>

#include <stddef.h>
#include <stdint.h>

#define SXP_BUF_MAX   (32u * 1024 * 1024)   /* one canonical record, raw included */
#define SXP_JB_DEPTH  16

/* ---- a bounded JSON writer over the call arena -------------------------------------------- */

struct sxp_buf {
    sx_ctx  *cx;
    char    *p;
    size_t   len;
    size_t   cap;
    int      rc;                       /* first failure (SX_E_LIMIT, SX_E_PROTOCOL), or SX_OK */
    unsigned depth;
    uint8_t  is_arr[SXP_JB_DEPTH];
    uint8_t  has[SXP_JB_DEPTH];        /* the container already holds an item */
};

void sxp_buf_init(struct sxp_buf *b, sx_ctx *cx);
void sxp_buf_raw(struct sxp_buf *b, const char *s, size_t len);   /* bytes as they are */
/* A string literal's bytes, its length counted by the compiler. */
#define SXP_RAW(b, lit) sxp_buf_raw((b), "" lit, sizeof(lit) - 1)
void sxp_jb_obj(struct sxp_buf *b);
void sxp_jb_obj_end(struct sxp_buf *b);
void sxp_jb_arr(struct sxp_buf *b);
void sxp_jb_arr_end(struct sxp_buf *b);
void sxp_jb_key(struct sxp_buf *b, const char *key);             /* key: a plain literal */
void sxp_jb_str(struct sxp_buf *b, sx_str s);                    /* escaped; bad UTF-8 fails */
void sxp_jb_i64(struct sxp_buf *b, int64_t v);
void sxp_jb_bool(struct sxp_buf *b, int v);
void sxp_jb_null(struct sxp_buf *b);
void sxp_jb_json(struct sxp_buf *b, sx_str json);                /* a JSON value verbatim */
/* The finished text (call arena), or the builder's failure code. */
int  sxp_buf_done(struct sxp_buf *b, sx_str *out);

/* ---- reading a platform record (host JSON views) into canonical members ------------------- */

/* A string member: 1 with *out set (maybe empty), else 0. */
int  sxp_get_str(const sx_host_api *h, const sx_json *o, const char *key, sx_str *out);
/* A non-empty string member: 1 with *out set, else 0. */
int  sxp_get_nonempty(const sx_host_api *h, const sx_json *o, const char *key, sx_str *out);
/* "key": "string" / "key": integer. */
void sxp_jb_kstr(struct sxp_buf *b, const char *key, sx_str s);
void sxp_jb_ki64(struct sxp_buf *b, const char *key, int64_t v);
/* Member `pkey` of `o` as canonical `ckey` with MODEL.md's absent/null rule: a non-empty
 * string is copied, null or "" is sent as null, absent (or another type) stays absent. */
void sxp_copy_str(struct sxp_buf *b, const sx_host_api *h, const sx_json *o, const char *pkey,
                  const char *ckey);
/* Member `pkey` as `ckey` only when it is a non-empty string (inside nested objects). */
void sxp_put_str(struct sxp_buf *b, const sx_host_api *h, const sx_json *o, const char *pkey,
                 const char *ckey);

/* A JSON number's text ("0.2", "0.08875", "5e-2", "0") as parts per million, exact or
 * rounded half up past the sixth decimal, without floating point. SX_OK or SX_E_INVALID. */
int sxp_rate_ppm(sx_str text, int64_t *out);

/* Append `s` form-encoded (URLSearchParams: *-._ and alphanumerics kept, space '+'). */
void sxp_form_encode(struct sxp_buf *b, sx_str s);

#endif /* SXP_H */
