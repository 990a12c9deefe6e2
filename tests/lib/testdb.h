/*
 * A private database per test program: created from TEST_DATABASE_URL (set by `make test`,
 * pointing at the cluster's maintenance database), named after the test and the pid, dropped
 * by testdb_drop(). Without TEST_DATABASE_URL the test is skipped (or fails under
 * SX_REQUIRE_ALL=1, as `make test` sets).
 */
#ifndef SX_TEST_TESTDB_H
#define SX_TEST_TESTDB_H

#include <stddef.h>

struct testdb {
    char name[64];
    char conninfo[1024];    /* key=value conninfo of the private database */
    char admin[1024];       /* conninfo of the maintenance database */
};

/* Create the database; on failure prints why and exits 1 (or skips, see above). */
void testdb_create(struct testdb *db, const char *test_name);
/* Drop it (terminating leftover connections). Safe to call twice. */
void testdb_drop(struct testdb *db);
/* Run SQL on the private database; returns 0 or -1 with the error printed. */
int  testdb_exec(const struct testdb *db, const char *sql);
/* First column of the first row of a query as a long long (-1 on error / no row). */
long long testdb_scalar(const struct testdb *db, const char *sql);

#endif
