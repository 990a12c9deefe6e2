/*
 * API tokens: creation (shared by the CLI and the tests) and `simplix-hub token ...`.
 * A token is "sxk_" + base64url of 32 random bytes; only its SHA-256 is stored, with the
 * first characters as `prefix` so listings can tell tokens apart.
 */
#include "api/api.h"
#include "core/config.h"
#include "core/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX_LEN 12

int
hub_api_token_create(struct hub_db *db, int64_t org_id, const char *role, const char *name,
                     char out_token[HUB_API_TOKEN_SIZE], int64_t *out_id, struct hub_error *err)
{
    uint8_t     raw[32], hash[32];
    char        hex[2 + 64 + 1], orgs[24], prefix[PREFIX_LEN + 1];
    const char *p[5];
    PGresult   *res = NULL;
    size_t      len = 0;
    int         rc;

    if (role == NULL || (org_id > 0 && strcmp(role, "admin") != 0 &&
                         strcmp(role, "readonly") != 0) ||
        (org_id <= 0 && strcmp(role, "operator") != 0))
        return hub_error_set(err, HUB_E_INVALID, "role must be admin or readonly with an "
                             "organization, operator without one");
    if (name == NULL || name[0] == '\0' || strlen(name) > 200)
        return hub_error_set(err, HUB_E_INVALID, "a token name is 1 to 200 characters");
    rc = hub_crypto_random(raw, sizeof(raw));
    if (rc < 0)
        return hub_error_set(err, HUB_E_CRYPTO, "no random bytes");
    memcpy(out_token, HUB_API_TOKEN_PREFIX, 4);
    rc = hub_crypto_b64_encode(raw, sizeof(raw), HUB_B64_URL | HUB_B64_NOPAD, out_token + 4,
                               HUB_API_TOKEN_SIZE - 4, &len);
    hub_crypto_wipe(raw, sizeof(raw));
    if (rc < 0 || len != 43)
        return hub_error_set(err, HUB_E_CRYPTO, "token encoding failed");
    if (hub_crypto_sha256(out_token, HUB_API_TOKEN_LEN, hash) < 0)
        return hub_error_set(err, HUB_E_CRYPTO, "sha256 failed");
    hex[0] = '\\';
    hex[1] = 'x';
    hub_crypto_hex_encode(hash, sizeof(hash), hex + 2, sizeof(hex) - 2);
    snprintf(orgs, sizeof(orgs), "%" PRId64, org_id);
    snprintf(prefix, sizeof(prefix), "%.*s", PREFIX_LEN, out_token);
    p[0] = org_id > 0 ? orgs : NULL;
    p[1] = name;
    p[2] = role;
    p[3] = hex;
    p[4] = prefix;
    rc = hub_db_query(db, "INSERT INTO api_tokens (organization_id, name, role, token_hash, "
                      "prefix) VALUES ($1::bigint, $2, $3, $4::bytea, $5) RETURNING id", 5, p,
                      &res, err);
    if (rc == 0 && out_id != NULL)
        *out_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (rc < 0)
        hub_crypto_wipe(out_token, HUB_API_TOKEN_SIZE);
    return rc;
}

static const char usage[] =
    "Usage: simplix-hub token create --org ID --role admin|readonly [--name NAME]\n"
    "       simplix-hub token create --operator [--name NAME]\n"
    "       simplix-hub token list [--org ID]\n"
    "       simplix-hub token revoke ID\n"
    "\n"
    "create prints the token once (sxk_...); only its SHA-256 is stored. Use it as\n"
    "'Authorization: Bearer sxk_...' against /api/v1 (docs/API.md).\n";

static int
connect_db(struct hub_db *db, struct hub_error *err)
{
    struct hub_config cfg;
    int               rc;

    hub_config_defaults(&cfg);
    rc = hub_config_load_env(&cfg, err);
    if (rc < 0)
        return rc;
    if (cfg.database_url[0] == '\0')
        return hub_error_set(err, HUB_E_CONFIG, "no database: set DATABASE_URL");
    return hub_db_connect(db, cfg.database_url, err);
}

static int
parse_id(const char *s, int64_t *out)
{
    char     *end;
    long long v;

    if (s == NULL)
        return -1;
    v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v <= 0)
        return -1;
    *out = v;
    return 0;
}

static int
token_create(struct hub_db *db, int argc, char **argv, struct hub_error *err)
{
    const char *role = NULL, *name = NULL;
    char        token[HUB_API_TOKEN_SIZE], defname[64];
    int64_t     org = 0, id = 0;
    int         i, operator = 0, rc;

    for (i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--operator") == 0) {
            operator = 1;
            continue;
        }
        if (v == NULL)
            return 2;
        if (strcmp(argv[i], "--org") == 0 && parse_id(v, &org) == 0)
            ;
        else if (strcmp(argv[i], "--role") == 0)
            role = v;
        else if (strcmp(argv[i], "--name") == 0)
            name = v;
        else
            return 2;
        i++;
    }
    if (operator ? (org != 0 || (role != NULL && strcmp(role, "operator") != 0)) :
                   (org == 0 || role == NULL))
        return 2;
    if (operator)
        role = "operator";
    if (name == NULL) {
        snprintf(defname, sizeof(defname), "%s token", role);
        name = defname;
    }
    rc = hub_api_token_create(db, org, role, name, token, &id, err);
    if (rc < 0)
        return rc;
    printf("%s\n", token);
    if (operator)
        fprintf(stderr, "token %" PRId64 " (operator): shown once, store it now\n", id);
    else
        fprintf(stderr, "token %" PRId64 " (%s of organization %" PRId64 "): shown once, store "
                "it now\n", id, role, org);
    hub_crypto_wipe(token, sizeof(token));
    return 0;
}

int
hub_cli_tokens(int argc, char **argv)
{
    struct hub_db    db;
    struct hub_error err;
    PGresult        *res = NULL;
    const char      *p[1];
    int64_t          id;
    int              i, rc = 0;

    hub_log_set_json(0);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (connect_db(&db, &err) < 0) {
        fprintf(stderr, "simplix-hub: %s\n", err.msg);
        return 1;
    }
    if (strcmp(argv[1], "create") == 0) {
        rc = token_create(&db, argc, argv, &err);
    } else if (strcmp(argv[1], "list") == 0 &&
               (argc == 2 || (argc == 4 && strcmp(argv[2], "--org") == 0 &&
                              parse_id(argv[3], &id) == 0))) {
        p[0] = argc == 4 ? argv[3] : NULL;
        rc = hub_db_query(&db, "SELECT id, coalesce(organization_id::text, '-'), role, prefix, "
                          "to_char(created_at, 'YYYY-MM-DD HH24:MI'), coalesce(to_char("
                          "last_used_at, 'YYYY-MM-DD HH24:MI'), '-'), CASE WHEN revoked_at IS "
                          "NULL THEN '' ELSE 'revoked' END, name FROM api_tokens WHERE "
                          "$1::bigint IS NULL OR organization_id = $1::bigint ORDER BY id", 1,
                          p, &res, &err);
        if (rc == 0)
            printf("%-6s %-6s %-9s %-13s %-16s %-16s %-8s %s\n", "ID", "ORG", "ROLE", "PREFIX",
                   "CREATED", "LAST USED", "", "NAME");
        for (i = 0; rc == 0 && i < PQntuples(res); i++)
            printf("%-6s %-6s %-9s %-13s %-16s %-16s %-8s %s\n", PQgetvalue(res, i, 0),
                   PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                   PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
                   PQgetvalue(res, i, 7));
    } else if (strcmp(argv[1], "revoke") == 0 && argc == 3 && parse_id(argv[2], &id) == 0) {
        p[0] = argv[2];
        rc = hub_db_query(&db, "UPDATE api_tokens SET revoked_at = now() WHERE id = $1::bigint "
                          "AND revoked_at IS NULL", 1, p, &res, &err);
        if (rc == 0 && strcmp(PQcmdTuples(res), "1") != 0)
            rc = hub_error_set(&err, HUB_E_NOT_FOUND, "no live token %s", argv[2]);
    } else {
        rc = 2;
    }
    PQclear(res);
    hub_db_close(&db);
    if (rc == 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (rc < 0) {
        fprintf(stderr, "simplix-hub: %s\n", err.msg);
        return 1;
    }
    return 0;
}
