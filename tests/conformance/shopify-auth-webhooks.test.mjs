// OAuth install and webhooks: the official library's validators accept what the sandbox
// produces and reject tampered deliveries; retries keep the event id and the subscription
// goes after 8 consecutive failures.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {startSandbox, control} from './lib/sandbox.mjs';
import {makeShopify, routeShopTo, Session, SHOP, API_KEY} from './lib/shopify.mjs';

let sbx;
let base;
before(async () => {
  sbx = await startSandbox(['--orders', '50', '--time-scale', '100000']);
  base = sbx.urls.shopify;
  routeShopTo(base);
});
after(async () => { await sbx.stop(); });

function listen(handler) {
  return new Promise((resolve) => {
    const srv = http.createServer(handler);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

test('OAuth: authorize redirect passes validateHmac; a tampered one does not', async () => {
  const shopify = makeShopify();
  const res = await fetch(`${base}/admin/oauth/authorize?client_id=${API_KEY}` +
    `&scope=read_orders&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}&state=123456789012345`,
  {redirect: 'manual'});
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get('location'));
  const query = Object.fromEntries(loc.searchParams.entries());
  assert.deepEqual(Object.keys(query), ['code', 'hmac', 'host', 'shop', 'state', 'timestamp']);
  assert.equal(await shopify.utils.validateHmac(query), true);
  assert.equal(await shopify.utils.validateHmac({...query, state: '123456789012346'}), false);
});

test('OAuth: the official begin/callback flow completes against the sandbox', async () => {
  let result;
  let shopify;
  const app = await listen(async (req, res) => {
    try {
      if (req.url.startsWith('/auth/callback')) {
        result = await shopify.auth.callback({rawRequest: req, rawResponse: res});
        res.end('ok');
      } else {
        await shopify.auth.begin({shop: SHOP, callbackPath: '/auth/callback', isOnline: false,
          rawRequest: req, rawResponse: res});
      }
    } catch (e) {
      result = e;
      res.statusCode = 500;
      res.end(String(e));
    }
  });
  try {
    shopify = makeShopify({hostName: `127.0.0.1:${app.address().port}`});
    const appBase = `http://127.0.0.1:${app.address().port}`;
    // A browser drives the install (the library turns bots away with 410).
    const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36';
    const begin = await fetch(`${appBase}/auth`, {redirect: 'manual', headers: {'User-Agent': UA}});
    assert.equal(begin.status, 302);
    const cookies = begin.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const authorize = begin.headers.get('location').replace(`https://${SHOP}`, base);
    const approved = await fetch(authorize, {redirect: 'manual'});
    assert.equal(approved.status, 302);
    const cb = await fetch(approved.headers.get('location'), {headers: {Cookie: cookies, 'User-Agent': UA}});
    assert.equal(cb.status, 200, await cb.text());
    assert.ok(result.session.accessToken.startsWith('shpat_'));
    // The issued token works on the API and carries the granted scope.
    const rest = new shopify.clients.Rest({session: new Session({id: 'x',
      shop: base.replace('http://', ''), state: 's', isOnline: false,
      accessToken: result.session.accessToken})});
    const orders = await rest.get({path: 'orders', query: {limit: 1}});
    assert.equal(orders.body.orders.length, 1);
    // Granted read_products only: writing products is refused.
    await assert.rejects(rest.post({path: 'products', data: {product: {title: 'x'}}}), /403/);
  } finally {
    app.close();
  }
});

test('expiring tokens: refresh rotates; previous valid until the new one is used', async () => {
  const res = await fetch(`${base}/admin/oauth/authorize?client_id=${API_KEY}&scope=read_orders` +
    `&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}`, {redirect: 'manual'});
  const code = new URL(res.headers.get('location')).searchParams.get('code');
  const post = (body) => fetch(`${base}/admin/oauth/access_token`, {method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({client_id: API_KEY, client_secret: 'sandbox-api-secret', ...body})})
    .then(async (r) => ({status: r.status, body: await r.json()}));
  const t0 = await post({code, expiring: 1});
  assert.equal(t0.status, 200);
  assert.equal(t0.body.expires_in, 3600);
  const r1 = t0.body.refresh_token;
  const t1 = await post({grant_type: 'refresh_token', refresh_token: r1});
  assert.equal(t1.status, 200);
  const r2 = t1.body.refresh_token;
  assert.notEqual(r1, r2);
  const again = await post({grant_type: 'refresh_token', refresh_token: r1});
  assert.equal(again.status, 200, 'previous token still valid before the new one is used');
  const r3 = again.body.refresh_token;
  const t3 = await post({grant_type: 'refresh_token', refresh_token: r3});
  assert.equal(t3.status, 200);
  const dead = await post({grant_type: 'refresh_token', refresh_token: r1});
  assert.equal(dead.status, 400);
  assert.equal(dead.body.error, 'invalid_grant');
  const reuse = await post({code});
  assert.equal(reuse.status, 400);
});

test('webhooks: official validate accepts a delivery and rejects a tampered one', async () => {
  const shopify = makeShopify();
  const got = [];
  const hook = await listen((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({headers: req.headers, body: Buffer.concat(chunks).toString('utf8')});
      res.end('ok');
    });
  });
  try {
    const address = `http://127.0.0.1:${hook.address().port}/hooks`;
    const sub = await fetch(`${base}/admin/api/2025-01/webhooks.json`, {method: 'POST',
      headers: {'X-Shopify-Access-Token': 'shpat_sandbox', 'Content-Type': 'application/json'},
      body: JSON.stringify({webhook: {topic: 'orders/create', address, format: 'json'}})});
    assert.equal(sub.status, 201);
    const created = await control(base, 'orders', 'POST', {order: {note: 'via control'}});
    assert.equal(created.status, 201);
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(got.length, 1);
    const d = got[0];
    for (const h of ['x-shopify-topic', 'x-shopify-hmac-sha256', 'x-shopify-shop-domain',
      'x-shopify-api-version', 'x-shopify-webhook-id', 'x-shopify-event-id',
      'x-shopify-triggered-at']) assert.ok(d.headers[h], h);
    assert.equal(JSON.parse(d.body).id, created.body.order.id);

    const validate = async (headers, body) => {
      const req = {headers, method: 'POST', url: '/hooks'};
      const res = new http.ServerResponse(req);
      return shopify.webhooks.validate({rawBody: body, rawRequest: req, rawResponse: res});
    };
    const ok = await validate(d.headers, d.body);
    assert.equal(ok.valid, true, JSON.stringify(ok));
    assert.equal(ok.topic, 'ORDERS_CREATE');
    const tampered = await validate(d.headers, d.body.replace('via control', 'via c0ntrol'));
    assert.equal(tampered.valid, false);
  } finally {
    hook.close();
  }
});

test('webhooks: failing endpoint gets 8 tries with one event id, then the subscription goes', async () => {
  const got = [];
  const hook = await listen((req, res) => {
    req.resume();
    got.push(req.headers);
    res.statusCode = 500;
    res.end();
  });
  try {
    const address = `http://127.0.0.1:${hook.address().port}/fail`;
    const sub = await fetch(`${base}/admin/api/2025-01/webhooks.json`, {method: 'POST',
      headers: {'X-Shopify-Access-Token': 'shpat_sandbox', 'Content-Type': 'application/json'},
      body: JSON.stringify({webhook: {topic: 'customers/update', address}})});
    assert.equal(sub.status, 201);
    const c = (await fetch(`${base}/admin/api/2025-01/customers.json?limit=1`,
      {headers: {'X-Shopify-Access-Token': 'shpat_sandbox'}}).then((r) => r.json())).customers[0];
    await control(base, `customers/${c.id}`, 'POST', {});
    for (let i = 0; i < 300 && got.length < 8; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got.length, 8);
    assert.equal(new Set(got.map((h) => h['x-shopify-event-id'])).size, 1);
    const subs = await control(base, 'webhooks');
    assert.ok(!subs.body.webhooks.some((w) => w.address === address), 'subscription deleted');
  } finally {
    hook.close();
  }
});
