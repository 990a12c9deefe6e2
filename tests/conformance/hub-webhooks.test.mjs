// The hub's webhook route against the official @shopify/shopify-api: deliveries the library
// signs (createSHA256HMAC, what its own webhook tests use) are accepted by simplix-hub, and
// every delivery the hub refuses for its signature, the library's webhooks.validate refuses
// too. A real hub on a private database (TEST_DATABASE_URL), loopback only.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {execFileSync, spawn} from 'node:child_process';
import {createSHA256HMAC, HashFormat} from '@shopify/shopify-api/runtime';
import {makeShopify, API_SECRET} from './lib/shopify.mjs';

const BUILD = process.env.SX_BUILD_DIR;
const ADMIN = process.env.TEST_DATABASE_URL;
const HUB = `${BUILD}/bin/simplix-hub`;
const DB = `sxt_conf_hub_wh_${process.pid}`;
let tmp, env, hub, hubUrl, integration;

function psql(url, sql) {
  return execFileSync('psql', [url, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql]).toString().trim();
}
function cli(...args) {
  return execFileSync(HUB, args, {env}).toString().trim();
}

before(async () => {
  if (!ADMIN) throw new Error('TEST_DATABASE_URL is not set (make test sets it)');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sx_conf_hub_wh.'));
  psql(ADMIN, `CREATE DATABASE ${DB}`);
  const dbUrl = psql(ADMIN, `SELECT 'postgresql://' || current_user || '@' || host(inet_server_addr()) || ':' || inet_server_port() || '/${DB}'`);
  env = {...process.env, DATABASE_URL: dbUrl, SX_MASTER_KEY_FILE: `${tmp}/master.key`,
         SX_PLUGIN_DIR: `${BUILD}/plugins`};
  cli('migrate');
  cli('keygen', `${tmp}/master.key`);
  const org = cli('org', 'create', 'Conformance');
  integration = cli('integrations', 'create', '--org', org, '--platform', 'shopify', '--name', 'Conf',
    '--config', '{"shop_domain":"sandbox-shop.myshopify.com","base_url":"http://127.0.0.1:9","client_id":"sandbox-api-key"}',
    '--secret', `client_secret=${API_SECRET}`, '--secret', `webhook_secret=${API_SECRET}`);
  hub = spawn(HUB, ['serve', '--listen', '127.0.0.1:0', '--ready-file', `${tmp}/hub.json`, '--workers', '1'],
    {env, stdio: ['ignore', 'ignore', fs.openSync(`${tmp}/hub.log`, 'w')]});
  for (let i = 0; i < 200 && !(fs.existsSync(`${tmp}/hub.json`) && fs.statSync(`${tmp}/hub.json`).size > 0); i++)
    await new Promise((r) => setTimeout(r, 50));
  hubUrl = JSON.parse(fs.readFileSync(`${tmp}/hub.json`, 'utf8')).url.replace(/\/$/, '');
});

after(async () => {
  if (hub) {
    hub.kill('SIGTERM');
    await new Promise((r) => hub.once('exit', r));
  }
  try { psql(ADMIN, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`); } catch { /* best effort */ }
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
});

// What the library's webhooks.validate says about one delivery.
async function libraryValid(headers, body) {
  const shopify = makeShopify();
  const req = {headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
               method: 'POST', url: '/hooks'};
  const res = new http.ServerResponse(req);
  return (await shopify.webhooks.validate({rawBody: body, rawRequest: req, rawResponse: res})).valid;
}

async function post(headers, body, id = integration) {
  const r = await fetch(`${hubUrl}/api/webhooks/shopify/${id}`, {method: 'POST', headers, body});
  await r.text();
  return r.status;
}

function deliveryHeaders(hmac, eventId) {
  return {'Content-Type': 'application/json', 'X-Shopify-Topic': 'customers/update',
          'X-Shopify-Hmac-Sha256': hmac, 'X-Shopify-Shop-Domain': 'sandbox-shop.myshopify.com',
          'X-Shopify-API-Version': '2025-01', 'X-Shopify-Webhook-Id': `wh-${eventId}`,
          'X-Shopify-Event-Id': eventId, 'X-Shopify-Triggered-At': new Date().toISOString()};
}

test('a delivery the library signs: the library and the hub both accept it, stored once', async () => {
  const body = JSON.stringify({id: 424242, email: 'lib@example.com', first_name: 'Lib',
                               last_name: 'Signed', updated_at: '2026-11-24T10:00:00Z'});
  const hmac = await createSHA256HMAC(API_SECRET, body, HashFormat.Base64);
  const h = deliveryHeaders(hmac, 'conf-1');
  assert.equal(await libraryValid(h, body), true);
  assert.equal(await post(h, body), 200);
  assert.equal(await post(h, body), 200);            // a redelivery: answered, not stored twice
  assert.equal(psql(env.DATABASE_URL,
    `SELECT count(*) FROM integration_webhook_events WHERE delivery_id = 'conf-1'`), '1');
});

test('what the hub refuses for its signature, the library refuses too', async () => {
  const body = JSON.stringify({id: 434343, email: 'x@example.com', updated_at: '2026-11-24T10:00:00Z'});
  const good = await createSHA256HMAC(API_SECRET, body, HashFormat.Base64);
  const cases = [
    ['tampered body', deliveryHeaders(good, 'conf-t'), body.replace('x@', 'y@')],
    ['another secret', deliveryHeaders(await createSHA256HMAC('not-the-secret', body, HashFormat.Base64), 'conf-f'), body],
    ['hex instead of base64', deliveryHeaders(await createSHA256HMAC(API_SECRET, body, HashFormat.Hex), 'conf-h'), body],
    ['empty signature', deliveryHeaders('', 'conf-e'), body],
  ];
  for (const [what, h, b] of cases) {
    assert.equal(await libraryValid(h, b), false, `library: ${what}`);
    assert.equal(await post(h, b), 401, `hub: ${what}`);
  }
  const missing = deliveryHeaders(good, 'conf-m');
  delete missing['X-Shopify-Hmac-Sha256'];
  assert.equal(await libraryValid(missing, body), false, 'library: missing signature');
  assert.equal(await post(missing, body), 401, 'hub: missing signature');
  assert.equal(psql(env.DATABASE_URL,
    `SELECT count(*) FROM integration_webhook_events WHERE delivery_id LIKE 'conf-%' AND delivery_id <> 'conf-1'`), '0');
});

test('a valid delivery sent to the wrong integration is refused (404), nothing stored', async () => {
  const body = JSON.stringify({id: 1, updated_at: '2026-11-24T10:00:00Z'});
  const h = deliveryHeaders(await createSHA256HMAC(API_SECRET, body, HashFormat.Base64), 'conf-w');
  assert.equal(await libraryValid(h, body), true);
  assert.equal(await post(h, body, String(Number(integration) + 1000)), 404);
  assert.equal(psql(env.DATABASE_URL,
    `SELECT count(*) FROM integration_webhook_events WHERE delivery_id = 'conf-w'`), '0');
});
