// The official @woocommerce/woocommerce-rest-api (OAuth 1.0a over plain HTTP, signature in
// the query) against the sandbox's WooCommerce: paging with X-WP-Total/X-WP-TotalPages/Link,
// customer create and update, a batch call, and the sandbox refusing what WooCommerce refuses.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {startSandbox, control} from './lib/sandbox.mjs';
import {makeWoo, CK, CS} from './lib/woo.mjs';

let sbx;
let base;
let woo;

before(async () => {
  sbx = await startSandbox(['--only', 'woo', '--woo-port', '0', '--seed', '7',
    '--orders', '1200', '--customers', '300', '--products', '250', '--woo-utc-offset', '+02:00']);
  base = sbx.urls.woo;
  woo = makeWoo(base);
});
after(async () => { await sbx.stop(); });

// WordPress sends one Link header per rel; node joins them with ", ".
function parseLinks(h) {
  const out = {};
  for (const m of h.matchAll(/<([^>]*)>; rel="([^"]+)"/g)) out[m[2]] = new URL(m[1]);
  return out;
}

async function walk(endpoint, perPage) {
  const seen = new Set();
  let total = -1;
  let pages = -1;
  for (let page = 1; ; page++) {
    const r = await woo.get(endpoint, {per_page: perPage, page});
    assert.equal(r.status, 200);
    if (total < 0) {
      total = Number(r.headers['x-wp-total']);
      pages = Number(r.headers['x-wp-totalpages']);
      assert.equal(pages, Math.ceil(total / perPage));
    }
    for (const rec of r.data) {
      assert.ok(!seen.has(rec.id), `${endpoint} ${rec.id} seen twice`);
      seen.add(rec.id);
    }
    const links = parseLinks(r.headers.link ?? '');
    if (page < pages) {
      assert.equal(links.next.searchParams.get('page'), String(page + 1));
      assert.equal(links.last.searchParams.get('page'), String(pages));
      assert.equal(links.next.searchParams.get('per_page'), String(perPage));
    } else {
      assert.equal(links.next, undefined);
      break;
    }
    if (page > 1) assert.equal(links.prev.searchParams.get('page'), String(page - 1));
  }
  assert.equal(seen.size, total);
  return total;
}

test('official client pages products and orders with X-WP-Total', async () => {
  const products = await walk('products', 25);
  const orders = await walk('orders', 100);
  const state = await control(base, 'state');
  assert.ok(products > 200 && orders > 1100);
  // Lists hide trashed products; every order is listed under status=any.
  assert.equal(orders, state.body.orders ?? orders);
});

test('records look like WooCommerce: _gmt pairs, money strings, line price a number', async () => {
  const r = await woo.get('orders', {per_page: 5});
  const o = r.data[0];
  assert.match(o.date_created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  assert.match(o.date_created_gmt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  const local = Date.parse(o.date_created + 'Z');
  const gmt = Date.parse(o.date_created_gmt + 'Z');
  assert.equal(local - gmt, 2 * 3600 * 1000);
  assert.match(o.total, /^\d+\.\d\d$/);
  assert.equal(typeof o.line_items[0].price, 'number');
  assert.ok(Array.isArray(o.tax_lines) && Array.isArray(o.coupon_lines));
  const v = await woo.get('products', {type: 'variable', per_page: 1});
  const pid = v.data[0].id;
  const vars = await woo.get(`products/${pid}/variations`);
  assert.equal(vars.status, 200);
  assert.deepEqual(vars.data.map((x) => x.id).sort(), [...v.data[0].variations].sort());
  const sys = await woo.get('system_status');
  assert.ok(sys.data.environment.version && sys.data.environment.wp_version);
});

test('modified_after with dates_are_gmt; an old store ignores it', async () => {
  const all = await woo.get('orders', {per_page: 1});
  const total = Number(all.headers['x-wp-total']);
  const r = await woo.get('orders', {modified_after: '2024-12-01T00:00:00', dates_are_gmt: true,
    per_page: 100});
  const n = Number(r.headers['x-wp-total']);
  assert.ok(n > 0 && n < total);
  for (const o of r.data) assert.ok(o.date_modified_gmt > '2024-12-01T00:00:00');
  await control(base, 'settings', 'POST', {old_store: true});
  const old = await woo.get('orders', {modified_after: '2024-12-01T00:00:00',
    dates_are_gmt: true, per_page: 1});
  assert.equal(Number(old.headers['x-wp-total']), total);
  await control(base, 'settings', 'POST', {old_store: false});
});

test('create and update a customer', async () => {
  const c = await woo.post('customers', {email: 'zoe.lukasz@example.com', first_name: 'Zoë',
    last_name: 'Łukasz', billing: {city: 'Kraków', country: 'PL'}});
  assert.equal(c.status, 201);
  assert.equal(c.data.first_name, 'Zoë');
  const u = await woo.put(`customers/${c.data.id}`, {last_name: 'Nowak'});
  assert.equal(u.status, 200);
  assert.equal(u.data.last_name, 'Nowak');
  const g = await woo.get(`customers/${c.data.id}`);
  assert.equal(g.data.billing.city, 'Kraków');
  await assert.rejects(woo.post('customers', {email: 'zoe.lukasz@example.com'}),
    (e) => e.response.status === 400 && e.response.data.code === 'registration-error-email-exists');
});

test('batch: create, update, delete; more than 100 objects refused', async () => {
  const list = await woo.get('products', {per_page: 2, orderby: 'id', order: 'asc'});
  const [a, b] = list.data;
  const r = await woo.post('products/batch', {
    create: [{name: 'Batch 🙂 one', regular_price: '9.99'}, {name: 'Batch two', type: 'simple'}],
    update: [{id: a.id, regular_price: '12.34'}],
    delete: [b.id],
  });
  assert.equal(r.status, 200);
  assert.equal(r.data.create.length, 2);
  assert.equal(r.data.create[0].regular_price, '9.99');
  assert.equal(r.data.update[0].regular_price, '12.34');
  assert.equal(r.data.delete[0].id, b.id);
  await assert.rejects(woo.get(`products/${b.id}`), (e) => e.response.status === 404);
  const many = Array.from({length: 101}, (_, i) => ({name: `p${i}`}));
  await assert.rejects(woo.post('products/batch', {create: many}),
    (e) => e.response.status === 413);
});

test('OAuth: tampered signature, replayed nonce and stale timestamp give 401', async () => {
  const url = `${base}/wp-json/wc/v3/products?per_page=3`;
  const signed = woo._getOAuth().authorize({url, method: 'GET'});
  const qs = (p) => new URLSearchParams(p).toString();
  const ok = await fetch(`${url}&${qs(signed)}`);
  assert.equal(ok.status, 200);
  const replay = await fetch(`${url}&${qs(signed)}`);
  assert.equal(replay.status, 401);
  assert.match((await replay.json()).message, /nonce/);

  const fresh = woo._getOAuth().authorize({url, method: 'GET'});
  const sig = fresh.oauth_signature;
  const tampered = {...fresh,
    oauth_signature: (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)};
  const bad = await fetch(`${url}&${qs(tampered)}`);
  assert.equal(bad.status, 401);
  const body = await bad.json();
  assert.equal(body.code, 'woocommerce_rest_authentication_error');
  assert.match(body.message, /signature/);

  // A query parameter the signature did not cover breaks it too.
  const extra = woo._getOAuth().authorize({url, method: 'GET'});
  const more = await fetch(`${url}&page=2&${qs(extra)}`);
  assert.equal(more.status, 401);

  await control(base, 'clock', 'POST', {advance_s: 3600});
  try {
    await assert.rejects(woo.get('products'), (e) => e.response.status === 401 &&
      /timestamp/.test(e.response.data.message));
  } finally {
    await control(base, 'clock', 'POST', {advance_s: -3600});
  }
});

test('duplicated query parameters: the last value wins, as in PHP', async () => {
  const url = `${base}/wp-json/wc/v3/orders?per_page=7`;
  const signed = woo._getOAuth().authorize({url, method: 'GET'});
  const r = await fetch(`${base}/wp-json/wc/v3/orders?per_page=5&per_page=7&` +
    new URLSearchParams(signed).toString());
  assert.equal(r.status, 200);
  assert.equal((await r.json()).length, 7);
});

test('Basic ck:cs and the consumer_key query fallback', async () => {
  const h = {Authorization: 'Basic ' + Buffer.from(`${CK}:${CS}`).toString('base64')};
  const r = await fetch(`${base}/wp-json/wc/v3/customers?per_page=1`, {headers: h});
  assert.equal(r.status, 200);
  const q = await fetch(`${base}/wp-json/wc/v3/customers?consumer_key=${CK}&consumer_secret=${CS}`);
  assert.equal(q.status, 200);
  const bad = await fetch(`${base}/wp-json/wc/v3/customers?consumer_key=${CK}&consumer_secret=cs_x`);
  assert.equal(bad.status, 401);
  const none = await fetch(`${base}/wp-json/wc/v3/customers`);
  assert.equal(none.status, 401);
  const big = await fetch(`${base}/wp-json/wc/v3/customers?per_page=101`, {headers: h});
  assert.equal(big.status, 400);
});
