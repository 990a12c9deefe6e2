#include "db/db.h"

#include <stdio.h>
#include <string.h>

int
hub_db_connect(struct hub_db *db, const char *conninfo, struct hub_error *err)
{
    const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
    const char *vals[] = { conninfo, "simplix-hub", "10", NULL };

    memset(db, 0, sizeof(*db));
    if (strlen(conninfo) >= sizeof(db->conninfo))
        return hub_error_set(err, HUB_E_CONFIG, "database URL longer than %zu bytes",
                             sizeof(db->conninfo) - 1);
    snprintf(db->conninfo, sizeof(db->conninfo), "%s", conninfo);
    /* expand_dbname=1: `conninfo` may be a URL or key=value string. */
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (db->conn == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "database: out of memory");
    if (PQstatus(db->conn) != CONNECTION_OK) {
        hub_error_set(err, HUB_E_DB, "cannot connect to the database: %s",
                      PQerrorMessage(db->conn));
        PQfinish(db->conn);
        db->conn = NULL;
        return HUB_E_DB;
    }
    /* Times are UTC everywhere (DESIGN.md 4), also when printed by the server. */
    if (hub_db_exec(db, "SET TIME ZONE 'UTC'", err) < 0) {
        PQfinish(db->conn);
        db->conn = NULL;
        return HUB_E_DB;
    }
    return 0;
}

void
hub_db_close(struct hub_db *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->conn = NULL;
    db->in_tx = 0;
}

int
hub_db_ensure(struct hub_db *db, struct hub_error *err)
{
    char conninfo[sizeof(db->conninfo)];

    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    memcpy(conninfo, db->conninfo, sizeof(conninfo));
    hub_db_close(db);
    return hub_db_connect(db, conninfo, err);
}

const char *
hub_db_sqlstate(const PGresult *res)
{
    const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return s != NULL ? s : "";
}

static int
result_error(struct hub_db *db, PGresult *res, struct hub_error *err)
{
    const char *state = hub_db_sqlstate(res);
    const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db->conn);
    int         code = HUB_E_DB;
    size_t      len = strlen(msg);

    if (strcmp(state, "23505") == 0 || strcmp(state, "40001") == 0 ||
        strcmp(state, "40P01") == 0)
        code = HUB_E_CONFLICT;
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    hub_error_set(err, code, "%s%s%.*s", state, state[0] ? ": " : "", (int)len, msg);
    return code;
}

int
hub_db_query(struct hub_db *db, const char *sql, int nparams, const char *const *params,
             PGresult **out, struct hub_error *err)
{
    PGresult      *res;
    ExecStatusType st;

    if (out != NULL)
        *out = NULL;
    if (db->conn == NULL)
        return hub_error_set(err, HUB_E_DB, "database connection is closed");
    if (nparams == 0)
        res = PQexec(db->conn, sql);
    else
        res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = result_error(db, res, err);

        PQclear(res);
        return rc;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return 0;
}

int
hub_db_exec(struct hub_db *db, const char *sql, struct hub_error *err)
{
    return hub_db_query(db, sql, 0, NULL, NULL, err);
}

int
hub_db_begin(struct hub_db *db, struct hub_error *err)
{
    int rc = hub_db_exec(db, "BEGIN", err);

    if (rc == 0)
        db->in_tx = 1;
    return rc;
}

int
hub_db_commit(struct hub_db *db, struct hub_error *err)
{
    int rc = hub_db_exec(db, "COMMIT", err);

    db->in_tx = 0;
    return rc;
}

void
hub_db_rollback(struct hub_db *db)
{
    if (db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(db->conn, "ROLLBACK");

        PQclear(r);
    }
    db->in_tx = 0;
}
