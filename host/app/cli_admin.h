/*
 * Administration commands of the simplix-hub CLI: `org`, `integrations`, `sync`.
 * hub_cli_admin(argc, argv) with argv[0] the command name; returns the process exit code, or
 * -1 when argv[0] is not one of these commands.
 */
#ifndef HUB_APP_CLI_ADMIN_H
#define HUB_APP_CLI_ADMIN_H

int hub_cli_admin(int argc, char **argv);

#endif
