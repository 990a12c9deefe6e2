/*
 * Internal to host/plugin: the pieces of the host-services table that live in separate files
 * (JSON in api_json.c, clock/time/crypto in api_util.c), and the call accessor.
 */
#ifndef HUB_PLUGIN_API_INTERNAL_H
#define HUB_PLUGIN_API_INTERNAL_H

#include "plugin/hostapi.h"

#define CALL_OF(cx)  ((struct hub_call *)(void *)(cx))   /* cx is the first member */

int            hub_api_fail(sx_ctx *cx, int code, const char *fmt, ...) SX_PRINTF(3, 4);
int            hub_api_config_get(sx_ctx *cx, const char *key, sx_str *out);
int            hub_api_secret_get(sx_ctx *cx, const char *key, sx_str *out);

int            hub_api_json_parse(sx_ctx *cx, sx_str text, const sx_json **out);
const sx_json *hub_api_json_get(const sx_json *obj, const char *key);
uint32_t       hub_api_json_type(const sx_json *v);
size_t         hub_api_json_length(const sx_json *arr);
const sx_json *hub_api_json_at(const sx_json *arr, size_t index);
int            hub_api_json_string(const sx_json *v, sx_str *out);
int            hub_api_json_int64(const sx_json *v, int64_t *out);
int            hub_api_json_bool(const sx_json *v, int *out);
int            hub_api_json_text(sx_ctx *cx, const sx_json *v, sx_str *out);

int64_t        hub_api_now_ms(sx_ctx *cx);
int            hub_api_time_parse(sx_str text, int64_t *out_ms);
int            hub_api_time_format(sx_ctx *cx, int64_t ms, sx_str *out);
int            hub_api_hmac_sha256(sx_str key, sx_str msg, uint8_t out[32]);
int            hub_api_consttime_eq(sx_str a, sx_str b);
int            hub_api_base64_encode(sx_ctx *cx, const uint8_t *data, size_t len, sx_str *out);
int            hub_api_hex_encode(sx_ctx *cx, const uint8_t *data, size_t len, sx_str *out);
int            hub_api_random_bytes(uint8_t *out, size_t len);

#endif
