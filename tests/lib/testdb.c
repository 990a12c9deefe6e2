#include "testdb.h"
#include "check.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rebuild `url` as key=value conninfo with dbname replaced. */
static int
conninfo_with_db(const char *url, const char *dbname, char *out, size_t cap)
{
    PQconninfoOption *opts, *o;
    char             *err = NULL;
    size_t            len = 0;
    int               n;

    opts = PQconninfoParse(url, &err);
    if (opts == NULL) {
        fprintf(stderr, "TEST_DATABASE_URL does not parse: %s\n", err ? err : "?");
        PQfreemem(err);
        return -1;
    }
    out[0] = '\0';
    for (o = opts; o->keyword != NULL; o++) {
        const char *val = o->val;

        if (strcmp(o->keyword, "dbname") == 0)
            val = dbname;
        if (val == NULL || val[0] == '\0')
            continue;
        n = snprintf(out + len, cap - len, "%s%s='%s'", len ? " " : "", o->keyword, val);
        if (n < 0 || (size_t)n >= cap - len) {
            PQconninfoFree(opts);
            return -1;
        }
        len += (size_t)n;
    }
    PQconninfoFree(opts);
    return 0;
}

static int
admin_exec(const char *admin, const char *sql)
{
    PGconn   *c = PQconnectdb(admin);
    PGresult *r;
    int       rc = 0;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "testdb: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(c));
        rc = -1;
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

void
testdb_create(struct testdb *db, const char *test_name)
{
    const char *url = getenv("TEST_DATABASE_URL");
    char        sql[256];
    size_t      i;

    memset(db, 0, sizeof(*db));
    if (url == NULL || url[0] == '\0')
        check_skip("TEST_DATABASE_URL is not set (make test sets it)");
    snprintf(db->name, sizeof(db->name), "sxt_%.30s_%ld", test_name, (long)getpid());
    for (i = 0; db->name[i] != '\0'; i++) {
        char c = db->name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            db->name[i] = '_';
    }
    if (conninfo_with_db(url, "postgres", db->admin, sizeof(db->admin)) < 0 ||
        conninfo_with_db(url, db->name, db->conninfo, sizeof(db->conninfo)) < 0) {
        fprintf(stderr, "testdb: bad TEST_DATABASE_URL\n");
        exit(1);
    }
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db->name);
    admin_exec(db->admin, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db->name);
    if (admin_exec(db->admin, sql) < 0)
        exit(1);
}

void
testdb_drop(struct testdb *db)
{
    char sql[256];

    if (db->name[0] == '\0' || getenv("SX_KEEP_TESTDB") != NULL)
        return;
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db->name);
    admin_exec(db->admin, sql);
    db->name[0] = '\0';
}

int
testdb_exec(const struct testdb *db, const char *sql)
{
    return admin_exec(db->conninfo, sql);
}

long long
testdb_scalar(const struct testdb *db, const char *sql)
{
    PGconn   *c = PQconnectdb(db->conninfo);
    PGresult *r;
    long long v = -1;

    if (PQstatus(c) == CONNECTION_OK) {
        r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    } else {
        fprintf(stderr, "testdb: cannot connect: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return v;
}
