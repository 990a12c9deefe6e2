/*
 * The OpenAPI 3.1 document of the admin API, served at GET /api/v1/openapi.json. Keep it in
 * step with the route table in api.c: tests/unit/test_api.c checks that every registered
 * route and method appears here.
 */
#include "api/api.h"

#define ERR_REF "{\"$ref\":\"#/components/responses/Error\"}"
#define ID_P    "{\"$ref\":\"#/components/parameters/id\"}"
#define PAGE_P  "{\"$ref\":\"#/components/parameters/limit\"},{\"$ref\":\"#/components/parameters/cursor\"}"
#define IDEM_P  "{\"$ref\":\"#/components/parameters/idempotency\"}"
#define STD_ERR "\"400\":" ERR_REF ",\"401\":" ERR_REF ",\"403\":" ERR_REF ",\"404\":" ERR_REF
#define OBJ(desc) "{\"description\":\"" desc "\",\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\"}}}}"
#define LIST(ref) "{\"description\":\"A page\",\"content\":{\"application/json\":{\"schema\":" \
    "{\"type\":\"object\",\"required\":[\"data\",\"next_cursor\"],\"properties\":{\"data\":" \
    "{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/" ref "\"}},\"next_cursor\":" \
    "{\"type\":[\"string\",\"null\"]}}}}}}"
#define BODY(ref) "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":" \
    "{\"schema\":{\"$ref\":\"#/components/schemas/" ref "\"}}}}"
#define INTEG_RESP(code, desc) "\"" code "\":{\"description\":\"" desc "\",\"content\":" \
    "{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Integration\"}}}}"

static const char doc[] =
"{\"openapi\":\"3.1.0\","
"\"info\":{\"title\":\"Simplix Hub admin API\",\"version\":\"1.0.0\",\"description\":"
"\"Integrations of one organization: connectors, integrations, sync runs, mappings, health and "
"the Simplix records the hub wrote. Bearer tokens are scoped to one organization; resources of "
"another organization answer 404. See docs/API.md.\"},"
"\"servers\":[{\"url\":\"/\"}],"
"\"security\":[{\"bearer\":[]}],"
"\"paths\":{"
"\"/api/v1/openapi.json\":{\"get\":{\"operationId\":\"getOpenApi\",\"security\":[],"
"\"summary\":\"This document\",\"responses\":{\"200\":" OBJ("OpenAPI 3.1 document") "}}},"
"\"/api/v1/connectors\":{\"get\":{\"operationId\":\"listConnectors\",\"summary\":"
"\"Connectors loaded by the hub (id, name, version, auth kind, capabilities, entities, config "
"fields)\",\"responses\":{\"200\":" LIST("Connector") ",\"401\":" ERR_REF "}}},"
"\"/api/v1/integrations\":{"
"\"get\":{\"operationId\":\"listIntegrations\",\"parameters\":[" PAGE_P "],"
"\"responses\":{\"200\":" LIST("Integration") "," STD_ERR "}},"
"\"post\":{\"operationId\":\"createIntegration\",\"parameters\":[" IDEM_P "],"
BODY("IntegrationCreate") ",\"responses\":{" INTEG_RESP("201", "Created; Location names it")
",\"422\":" ERR_REF "," STD_ERR "}}},"
"\"/api/v1/integrations/{id}\":{\"parameters\":[" ID_P "],"
"\"get\":{\"operationId\":\"getIntegration\",\"responses\":{" INTEG_RESP("200", "The integration")
"," STD_ERR "}},"
"\"patch\":{\"operationId\":\"updateIntegration\"," BODY("IntegrationUpdate")
",\"responses\":{" INTEG_RESP("200", "Updated") ",\"422\":" ERR_REF "," STD_ERR "}},"
"\"delete\":{\"operationId\":\"deleteIntegration\",\"responses\":{\"204\":{\"description\":"
"\"Deleted (soft)\"}," STD_ERR "}}},"
"\"/api/v1/integrations/{id}/pause\":{\"parameters\":[" ID_P "],\"post\":{\"operationId\":"
"\"pauseIntegration\",\"parameters\":[" IDEM_P "],\"responses\":{" INTEG_RESP("200", "Paused")
"," STD_ERR "}}},"
"\"/api/v1/integrations/{id}/resume\":{\"parameters\":[" ID_P "],\"post\":{\"operationId\":"
"\"resumeIntegration\",\"parameters\":[" IDEM_P "],\"responses\":{" INTEG_RESP("200", "Active")
",\"409\":" ERR_REF "," STD_ERR "}}},"
"\"/api/v1/integrations/{id}/test\":{\"parameters\":[" ID_P "],\"post\":{\"operationId\":"
"\"testIntegration\",\"parameters\":[" IDEM_P "],\"responses\":{\"200\":{\"description\":"
"\"The connector's test_connection\",\"content\":{\"application/json\":{\"schema\":{\"$ref\":"
"\"#/components/schemas/TestResult\"}}}}," STD_ERR ",\"503\":" ERR_REF "}}},"
"\"/api/v1/integrations/{id}/oauth/start\":{\"parameters\":[" ID_P "],\"post\":{\"operationId\":"
"\"startOAuth\",\"parameters\":[" IDEM_P "],\"responses\":{\"200\":{\"description\":"
"\"Open authorize_url in the browser (valid 10 minutes, single use)\",\"content\":"
"{\"application/json\":{\"schema\":{\"type\":\"object\",\"required\":[\"authorize_url\"],"
"\"properties\":{\"authorize_url\":{\"type\":\"string\"}}}}}},\"409\":" ERR_REF ",\"502\":"
ERR_REF "," STD_ERR "}}},"
"\"/api/v1/integrations/{id}/syncs\":{\"parameters\":[" ID_P "],"
"\"get\":{\"operationId\":\"listSyncs\",\"parameters\":[" PAGE_P ",{\"name\":\"job_id\","
"\"in\":\"query\",\"schema\":{\"type\":\"integer\"}},{\"name\":\"entity\",\"in\":\"query\","
"\"schema\":{\"type\":\"string\"}}],\"responses\":{\"200\":" LIST("SyncRun") "," STD_ERR "}},"
"\"post\":{\"operationId\":\"startSync\",\"parameters\":[" IDEM_P "]," BODY("SyncStart")
",\"responses\":{\"202\":{\"description\":\"Enqueued; Location lists its runs\",\"content\":"
"{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/SyncJob\"}}}},\"422\":"
ERR_REF "," STD_ERR "}}},"
"\"/api/v1/integrations/{id}/syncs/{log_id}\":{\"parameters\":[" ID_P ",{\"name\":\"log_id\","
"\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"integer\"}}],\"get\":{\"operationId\":"
"\"getSync\",\"responses\":{\"200\":{\"description\":\"One run with live progress\",\"content\":"
"{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/SyncRun\"}}}}," STD_ERR
"}}},"
"\"/api/v1/integrations/{id}/mappings\":{\"parameters\":[" ID_P "],\"get\":{\"operationId\":"
"\"listMappings\",\"parameters\":[" PAGE_P ",{\"name\":\"entity\",\"in\":\"query\",\"schema\":"
"{\"type\":\"string\"}}],\"responses\":{\"200\":" LIST("Mapping") "," STD_ERR "}}},"
"\"/api/v1/integrations/{id}/health\":{\"parameters\":[" ID_P "],\"get\":{\"operationId\":"
"\"getHealth\",\"responses\":{\"200\":{\"description\":\"Health figures\",\"content\":"
"{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Health\"}}}}," STD_ERR
"}}},"
"\"/api/v1/companies\":{\"get\":{\"operationId\":\"listCompanies\",\"parameters\":[" PAGE_P
"],\"responses\":{\"200\":" LIST("Record") "," STD_ERR "}}},"
"\"/api/v1/products\":{\"get\":{\"operationId\":\"listProducts\",\"parameters\":[" PAGE_P
"],\"responses\":{\"200\":" LIST("Record") "," STD_ERR "}}},"
"\"/api/v1/invoices\":{\"get\":{\"operationId\":\"listInvoices\",\"parameters\":[" PAGE_P
"],\"responses\":{\"200\":" LIST("Record") "," STD_ERR "}}}"
"},"
"\"components\":{"
"\"securitySchemes\":{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\",\"description\":"
"\"sxk_... from simplix-hub token create\"}},"
"\"parameters\":{"
"\"id\":{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"integer\"}},"
"\"limit\":{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1,"
"\"maximum\":100,\"default\":25}},"
"\"cursor\":{\"name\":\"cursor\",\"in\":\"query\",\"description\":\"next_cursor of the previous "
"page\",\"schema\":{\"type\":\"string\"}},"
"\"idempotency\":{\"name\":\"Idempotency-Key\",\"in\":\"header\",\"description\":\"Same key and "
"same request within 24 h: the same answer\",\"schema\":{\"type\":\"string\",\"maxLength\":200}}"
"},"
"\"responses\":{\"Error\":{\"description\":\"An error\",\"content\":{\"application/json\":"
"{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}}},"
"\"schemas\":{"
"\"Error\":{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{\"type\":"
"\"object\",\"required\":[\"code\",\"message\",\"details\"],\"properties\":{\"code\":{\"type\":"
"\"string\"},\"message\":{\"type\":\"string\"},\"details\":{}}}}},"
"\"Connector\":{\"type\":\"object\",\"description\":\"hub_plugin_describe_json: id, name, "
"version, auth, capabilities, entities with directions, config fields\"},"
"\"Integration\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
"\"platform\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},\"status\":{\"type\":"
"\"string\",\"enum\":[\"ACTIVE\",\"PAUSED\",\"ERROR\",\"PENDING_AUTH\",\"DISCONNECTED\"]},"
"\"auth_type\":{\"type\":\"string\"},\"config\":{\"type\":\"object\"},\"sync_settings\":"
"{\"type\":\"object\"},\"credentials_set\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
"\"description\":\"names of the stored secrets; values are never returned\"},"
"\"last_sync_at\":{\"type\":[\"string\",\"null\"]},\"last_success_at\":{\"type\":[\"string\","
"\"null\"]},\"last_error_at\":{\"type\":[\"string\",\"null\"]},\"last_error_message\":{\"type\":"
"[\"string\",\"null\"]},\"sync_count\":{\"type\":\"integer\"},\"error_count\":{\"type\":"
"\"integer\"},\"created_at\":{\"type\":\"string\"},\"updated_at\":{\"type\":\"string\"}}},"
"\"IntegrationCreate\":{\"type\":\"object\",\"required\":[\"platform\",\"name\"],\"properties\":"
"{\"platform\":{\"type\":\"string\"},\"name\":{\"type\":\"string\",\"maxLength\":200},\"config\":"
"{\"type\":\"object\"},\"sync_settings\":{\"type\":\"object\"},\"credentials\":{\"type\":"
"\"object\",\"additionalProperties\":{\"type\":\"string\"},\"writeOnly\":true}}},"
"\"IntegrationUpdate\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
"\"config\":{\"type\":\"object\"},\"sync_settings\":{\"type\":\"object\"},\"credentials\":"
"{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},\"writeOnly\":true}}},"
"\"TestResult\":{\"type\":\"object\",\"required\":[\"ok\"],\"properties\":{\"ok\":{\"type\":"
"\"boolean\"},\"error\":{\"type\":\"object\"}}},"
"\"SyncStart\":{\"type\":\"object\",\"properties\":{\"entity\":{\"type\":\"string\",\"enum\":"
"[\"customer\",\"product\",\"order\"]},\"direction\":{\"type\":\"string\",\"enum\":[\"import\","
"\"export\"],\"default\":\"import\"},\"mode\":{\"type\":\"string\",\"enum\":[\"full\","
"\"incremental\"],\"default\":\"incremental\"}}},"
"\"SyncJob\":{\"type\":\"object\",\"properties\":{\"job_id\":{\"type\":\"integer\"},"
"\"integration_id\":{\"type\":\"integer\"},\"entity\":{\"type\":\"string\"},\"direction\":"
"{\"type\":\"string\"},\"mode\":{\"type\":\"string\"},\"status\":{\"type\":\"string\"}}},"
"\"SyncRun\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},\"job_id\":"
"{\"type\":[\"integer\",\"null\"]},\"entity\":{\"type\":\"string\"},\"direction\":{\"type\":"
"\"string\"},\"mode\":{\"type\":\"string\"},\"status\":{\"type\":\"string\"},\"processed\":"
"{\"type\":\"integer\"},\"created\":{\"type\":\"integer\"},\"updated\":{\"type\":\"integer\"},"
"\"skipped\":{\"type\":\"integer\"},\"failed\":{\"type\":\"integer\"},\"conflicts\":{\"type\":"
"\"integer\"},\"pages\":{\"type\":\"integer\"},\"elapsed_s\":{\"type\":\"number\"},\"rate\":"
"{\"type\":\"number\",\"description\":\"records per second\"}}},"
"\"Mapping\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},\"entity\":"
"{\"type\":\"string\"},\"internal_id\":{\"type\":\"integer\"},\"external_id\":{\"type\":"
"\"string\"}}},"
"\"Health\":{\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\"},"
"\"last_success_at\":{\"type\":[\"string\",\"null\"]},\"last_error_message\":{\"type\":"
"[\"string\",\"null\"]},\"sync_count\":{\"type\":\"integer\"},\"error_count\":{\"type\":"
"\"integer\"},\"recent_runs\":{\"type\":\"integer\"},\"recent_success_rate\":{\"type\":"
"[\"number\",\"null\"]},\"mappings\":{\"type\":\"object\"},\"webhook_events\":{\"type\":"
"\"object\"}}},"
"\"Record\":{\"type\":\"object\",\"description\":\"A company, product or invoice row of the "
"organization\"}"
"}}}";

const char *
hub_api_openapi_json(void)
{
    return doc;
}
