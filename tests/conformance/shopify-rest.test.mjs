// The official Shopify REST client pages 10,000 orders through the sandbox by Link header and
// gets each exactly once; the sandbox enforces page_info rules and the leaky bucket.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {startSandbox} from './lib/sandbox.mjs';
import {makeShopify, Session} from './lib/shopify.mjs';

let sbx;
let base;
const TOKEN = 'shpat_sandbox';

before(async () => {
  sbx = await startSandbox(['--orders', '10000', '--customers', '500', '--products', '50',
    '--seed', '7', '--shopify-bucket-size', '1000000', '--shopify-leak-rate', '1000']);
  base = sbx.urls.shopify;
});
after(async () => { await sbx.stop(); });

function client() {
  const shopify = makeShopify();
  const session = new Session({id: 'offline_sandbox', shop: base.replace('http://', ''),
    state: 'x', isOnline: false, accessToken: TOKEN});
  return new shopify.clients.Rest({session});
}

async function raw(path) {
  const res = await fetch(`${base}${path}`, {headers: {'X-Shopify-Access-Token': TOKEN}});
  return {status: res.status, headers: res.headers, body: await res.json()};
}

test('official REST client pages 10,000 orders by Link, each exactly once', async () => {
  const total = (await raw('/admin/api/2025-01/orders/count.json?status=any')).body.count;
  assert.ok(total > 9000 && total <= 10000, `count ${total}`);
  const rest = client();
  const seen = new Set();
  let pages = 0;
  let res = await rest.get({path: 'orders', query: {limit: 250, status: 'any'}});
  for (;;) {
    pages++;
    for (const o of res.body.orders) {
      assert.ok(!seen.has(o.id), `order ${o.id} seen twice`);
      seen.add(o.id);
    }
    if (!res.pageInfo?.nextPage) break;
    res = await rest.get({path: res.pageInfo.nextPage.path, query: res.pageInfo.nextPage.query});
  }
  assert.equal(seen.size, total);
  assert.equal(pages, Math.ceil(total / 250));
});

test('default status=open lists fewer orders than status=any', async () => {
  const open = (await raw('/admin/api/2025-01/orders/count.json')).body.count;
  const any = (await raw('/admin/api/2025-01/orders/count.json?status=any')).body.count;
  assert.ok(open > 0 && open < any, `${open} < ${any}`);
});

test('previous link walks back to the same items', async () => {
  const rest = client();
  const p1 = await rest.get({path: 'customers', query: {limit: 50}});
  const p2 = await rest.get({path: p1.pageInfo.nextPage.path, query: p1.pageInfo.nextPage.query});
  assert.ok(p2.pageInfo.prevPage, 'page 2 has a previous link');
  const back = await rest.get({path: p2.pageInfo.prevPage.path, query: p2.pageInfo.prevPage.query});
  assert.deepEqual(back.body.customers.map((c) => c.id), p1.body.customers.map((c) => c.id));
});

test('page_info with any other parameter is a 400; limit > 250 is refused', async () => {
  const first = await raw('/admin/api/2025-01/orders.json?limit=5&status=any');
  const link = first.headers.get('link');
  const pi = /page_info=([^&>]+)/.exec(link)[1];
  const bad = await raw(`/admin/api/2025-01/orders.json?page_info=${pi}&status=any`);
  assert.equal(bad.status, 400);
  const ok = await raw(`/admin/api/2025-01/orders.json?page_info=${pi}&limit=5&fields=id`);
  assert.equal(ok.status, 200);
  assert.deepEqual(Object.keys(ok.body.orders[0]), ['id']);
  assert.equal((await raw('/admin/api/2025-01/orders.json?limit=251')).status, 400);
  assert.equal((await raw('/admin/api/2025-01/orders.json?page_info=garbage')).status, 400);
});

test('timestamps carry the shop offset; updated_at_min is inclusive', async () => {
  const r = await raw('/admin/api/2025-01/customers.json?limit=1');
  assert.match(r.body.customers[0].updated_at, /-05:00$/);
  const t = r.body.customers[0].updated_at;
  const f = await raw(`/admin/api/2025-01/customers.json?limit=250&updated_at_min=${encodeURIComponent(t)}`);
  assert.ok(f.body.customers.every((c) => Date.parse(c.updated_at) >= Date.parse(t)));
  assert.ok(f.body.customers.some((c) => c.updated_at === t));
  assert.equal(r.headers.get('x-shopify-api-version'), '2025-01');
});

test('no token is a 401', async () => {
  const res = await fetch(`${base}/admin/api/2025-01/shop.json`);
  assert.equal(res.status, 401);
});

test('leaky bucket: 429 with Retry-After once the bucket is full', async () => {
  const small = await startSandbox(['--orders', '5', '--shopify-bucket-size', '3',
    '--shopify-leak-rate', '0.5']);
  try {
    const statuses = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await fetch(`${small.urls.shopify}/admin/api/2025-01/shop.json`,
        {headers: {'X-Shopify-Access-Token': TOKEN}});
      statuses.push(last.status);
      if (last.status === 200) assert.match(last.headers.get('x-shopify-shop-api-call-limit'), /^\d+\/3$/);
      await last.text();
    }
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.equal(last.status, 429);
    assert.ok(parseFloat(last.headers.get('retry-after')) > 0);
  } finally {
    await small.stop();
  }
});
