// WooCommerce webhooks and /wc-auth key generation against the sandbox: the ping, a delivery
// verified with its secret (and a tampered one refused), no retries, auto-disable after
// repeated failures; keys POSTed to callback_url then the redirect to return_url.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {startSandbox, control} from './lib/sandbox.mjs';
import {makeWoo, startReceiver, verifyWooSignature} from './lib/woo.mjs';

let sbx;
let base;
let woo;

before(async () => {
  sbx = await startSandbox(['--only', 'woo', '--woo-port', '0', '--orders', '50',
    '--customers', '20', '--products', '20']);
  base = sbx.urls.woo;
  woo = makeWoo(base);
});
after(async () => { await sbx.stop(); });

test('ping on creation, signed delivery verified, tampered delivery refused', async () => {
  const rx = await startReceiver();
  try {
    const secret = 'sëcret-' + Math.random().toString(36).slice(2);
    const h = await woo.post('webhooks', {name: 'orders', topic: 'order.updated',
      delivery_url: `${rx.url}/hook`, secret});
    assert.equal(h.status, 201);
    assert.equal(h.data.status, 'active');
    assert.equal(h.data.secret, undefined);
    const [ping] = await rx.waitFor((r) => r.body.toString().startsWith('webhook_id='));
    assert.equal(ping.body.toString(), `webhook_id=${h.data.id}`);
    assert.match(ping.headers['content-type'], /x-www-form-urlencoded/);
    assert.equal(ping.headers['x-wc-webhook-signature'], undefined);

    const orders = await woo.get('orders', {per_page: 1});
    const id = orders.data[0].id;
    const edit = await control(base, `orders/${id}`, 'POST', {status: 'completed'});
    assert.equal(edit.status, 200);
    const [d] = await rx.waitFor((r) => r.headers['x-wc-webhook-topic'] === 'order.updated');
    assert.equal(d.headers['x-wc-webhook-resource'], 'order');
    assert.equal(d.headers['x-wc-webhook-event'], 'updated');
    assert.equal(d.headers['x-wc-webhook-id'], String(h.data.id));
    assert.equal(d.headers['x-wc-webhook-source'], `${base}/`);
    assert.match(d.headers['x-wc-webhook-delivery-id'], /^[0-9a-f]{32}$/);
    assert.ok(verifyWooSignature(d.body, d.headers['x-wc-webhook-signature'], secret));
    const payload = JSON.parse(d.body.toString());
    assert.equal(payload.id, id);
    assert.equal(payload.status, 'completed');
    // PHP's json_encode: slashes escaped in the signed bytes.
    assert.match(d.body.toString(), /http:\\\/\\\/127\.0\.0\.1/);

    const tampered = Buffer.from(d.body.toString().replace('"completed"', '"refunded"'));
    assert.ok(!verifyWooSignature(tampered, d.headers['x-wc-webhook-signature'], secret));
    assert.ok(!verifyWooSignature(d.body, d.headers['x-wc-webhook-signature'], secret + 'x'));
    await woo.delete(`webhooks/${h.data.id}`, {force: true});
  } finally {
    await rx.close();
  }
});

test('no retries; disabled after repeated failures (failure_count above 5)', async () => {
  const rx = await startReceiver((req) => (req.headers['x-wc-webhook-topic'] ? 500 : 200));
  try {
    const h = await woo.post('webhooks', {topic: 'customer.updated',
      delivery_url: `${rx.url}/fail`, secret: 's'});
    const c = (await woo.get('customers', {per_page: 1})).data[0];
    for (let i = 1; i <= 8; i++) {
      await control(base, `customers/${c.id}`, 'POST', {});
      await rx.waitFor(() => rx.got.filter((r) => r.headers['x-wc-webhook-topic']).length >=
        Math.min(i, 7));
      await new Promise((r) => setTimeout(r, 30));
      const s = (await control(base, 'webhooks')).body.webhooks.find((x) => x.id === h.data.id);
      if (i <= 6) {
        assert.equal(s.status, 'active', `after ${i} failures`);
        assert.equal(s._failure_count, i);
      } else {
        assert.equal(s.status, 'disabled', `after ${i} failures`);
      }
    }
    // Seven deliveries for seven events while active, none retried, none once disabled.
    await control(base, 'deliveries/flush', 'POST');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rx.got.filter((r) => r.headers['x-wc-webhook-topic']).length, 7);
    const g = await woo.get(`webhooks/${h.data.id}`);
    assert.equal(g.data.status, 'disabled');
  } finally {
    await rx.close();
  }
});

test('/wc-auth/v1/authorize: keys POSTed to callback_url, then return_url', async () => {
  const rx = await startReceiver();
  try {
    const q = new URLSearchParams({app_name: 'Simplix', scope: 'read', user_id: 'dXNlcjQy',
      return_url: 'http://app.example/return', callback_url: `${rx.url}/wc-callback`});
    let url = `${base}/wc-auth/v1/authorize?${q}`;
    let res;
    for (let i = 0; i < 30; i++) {
      res = await fetch(url, {redirect: 'manual'});
      if (res.status !== 302) break;
      const loc = res.headers.get('location');
      if (loc.startsWith('http://app.example/')) break;
      url = loc;
    }
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'),
      'http://app.example/return?success=1&user_id=dXNlcjQy');
    const [cb] = await rx.waitFor((r) => r.url === '/wc-callback');
    assert.match(cb.headers['content-type'], /^application\/json;charset=UTF-8$/);
    const keys = JSON.parse(cb.body.toString());
    assert.equal(keys.user_id, 'dXNlcjQy');
    assert.equal(keys.key_permissions, 'read');
    assert.match(keys.consumer_key, /^ck_[0-9a-f]{40}$/);
    assert.match(keys.consumer_secret, /^cs_[0-9a-f]{40}$/);
    assert.equal(typeof keys.key_id, 'number');
    const app = makeWoo(base, {consumerKey: keys.consumer_key,
      consumerSecret: keys.consumer_secret});
    const r = await app.get('products', {per_page: 2});
    assert.equal(r.status, 200);
    await assert.rejects(app.post('customers', {email: 'x@example.com'}),
      (e) => e.response.status === 401);
  } finally {
    await rx.close();
  }
});

test('/wc-auth: a callback answering anything but 200 keeps no key', async () => {
  const rx = await startReceiver(() => 201);
  try {
    const q = new URLSearchParams({app_name: 'X', scope: 'read_write', user_id: 'u1',
      return_url: 'http://app.example/r', callback_url: `${rx.url}/cb`});
    let url = `${base}/wc-auth/v1/authorize?${q}`;
    let res;
    for (let i = 0; i < 30; i++) {
      res = await fetch(url, {redirect: 'manual'});
      if (res.status !== 302) break;
      url = res.headers.get('location');
    }
    assert.equal(res.status, 401);
    const [cb] = await rx.waitFor((r) => r.url === '/cb');
    const keys = JSON.parse(cb.body.toString());
    const app = makeWoo(base, {consumerKey: keys.consumer_key,
      consumerSecret: keys.consumer_secret});
    await assert.rejects(app.get('products'), (e) => e.response.status === 401);
  } finally {
    await rx.close();
  }
});
