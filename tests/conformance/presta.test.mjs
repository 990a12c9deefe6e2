// PrestaShop Webservice imitation, read the way connectors read it (node's fetch; PrestaShop
// publishes no official npm client): XML and JSON, multilingual fields, limit=offset,count
// with a short last page and no total, date=1 enforcement, XML writes, the published
// Basic-auth vector (vectors/prestashop.json).
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {startSandbox} from './lib/sandbox.mjs';

const vec = JSON.parse(readFileSync(new URL('./vectors/prestashop.json', import.meta.url)))
  .vectors[0];
const KEY = vec.secret;
const AUTH = {Authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`};

let sbx;
let base;

before(async () => {
  sbx = await startSandbox(['--only', 'presta', '--presta-port', '0', '--seed', '3',
    '--customers', '237', '--products', '60', '--orders', '150', '--presta-utc-offset',
    '+02:00']);
  base = sbx.urls.presta;
});
after(async () => { await sbx.stop(); });

const get = (path, headers = AUTH) => fetch(`${base}/api/${path}`, {headers});

test('the published Basic-auth vector is what the sandbox accepts', async () => {
  assert.equal(Buffer.from(`${KEY}:`).toString('base64'), vec.expected);
  assert.equal(AUTH.Authorization, vec.headers.Authorization);
  const r = await get('customers', {Authorization: vec.headers.Authorization,
    'Output-Format': vec.headers['Output-Format']});
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /json/);
  assert.ok(r.headers.get('psws-version'));
  const q = await fetch(`${base}/api/customers?ws_key=${KEY}`);
  assert.equal(q.status, 200);
  const bad = await fetch(`${base}/api/customers`, {headers: {
    Authorization: `Basic ${Buffer.from('WRONGKEY:').toString('base64')}`}});
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate'), /Basic/);
});

test('XML by default: list of xlinks, full record with CDATA and multilingual name', async () => {
  const r = await get('customers?limit=0,3');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/xml/);
  const xml = await r.text();
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
  assert.match(xml, /<customers><customer id="1" xlink:href="http:\/\/127\.0\.0\.1:\d+\/api\/customers\/1"\/>/);
  const p = await (await get('products/1')).text();
  assert.match(p, /<name><language id="1" xlink:href="[^"]+\/api\/languages\/1"><!\[CDATA\[[^\]]+\]\]><\/language><language id="2"/);
  assert.match(p, /<price><!\[CDATA\[\d+\.\d{6}\]\]><\/price>/);
  assert.match(p, /<associations><combinations nodeType="combination" api="combinations"/);
  assert.match(p, /<stock_availables nodeType="stock_available" api="stock_availables">/);
});

test('JSON with output_format=JSON; multilingual fields as [{id,value}]', async () => {
  const r = await get('products?output_format=JSON&display=full&limit=5');
  const j = await r.json();
  assert.equal(j.products.length, 5);
  const name = j.products[0].name;
  assert.deepEqual(name.map((x) => x.id), ['1', '2']);
  assert.ok(name[0].value.length > 0 && name[1].value.length > 0);
  assert.ok(Array.isArray(j.products[0].associations.stock_availables));
  const o = await (await get('orders/1?output_format=JSON')).json();
  assert.ok(o.order.associations.order_rows.length >= 1);
  assert.match(o.order.date_upd, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const sel = await (await get('customers?output_format=JSON&display=[id,lastname]&limit=1'))
    .json();
  assert.deepEqual(Object.keys(sel.customers[0]), ['id', 'lastname']);
});

test('limit=offset,count pages with no total and a short last page', async () => {
  const seen = new Set();
  let offset = 0;
  let pages = 0;
  for (;;) {
    const r = await get(`customers?output_format=JSON&limit=${offset},50`);
    assert.equal(r.headers.get('x-wp-total'), null);
    const j = await r.json();
    const rows = Array.isArray(j) ? [] : j.customers;
    for (const c of rows) { assert.ok(!seen.has(c.id)); seen.add(c.id); }
    pages++;
    if (rows.length < 50) break;
    offset += 50;
  }
  assert.equal(seen.size, 237);
  assert.equal(pages, 5);
  const empty = await (await get('customers?output_format=JSON&limit=1000,50')).json();
  assert.deepEqual(empty, []);
});

test('date filters need date=1 (400 otherwise); date_upd window with sort', async () => {
  const f = 'filter[date_upd]=[2024-03-01 00:00:00,2024-06-30 23:59:59]';
  const no = await get(`orders?output_format=JSON&${f}`);
  assert.equal(no.status, 400);
  assert.equal((await no.json()).errors[0].code, 32);
  const noXml = await get(`orders?${f}`);
  assert.equal(noXml.status, 400);
  assert.match(await noXml.text(), /<errors><error><code><!\[CDATA\[32\]\]><\/code>/);
  const ok = await get(`orders?output_format=JSON&date=1&${f}&display=[id,date_upd]` +
    '&sort=[date_upd_ASC,id_ASC]&limit=0,1000');
  assert.equal(ok.status, 200);
  const rows = (await ok.json()).orders;
  assert.ok(rows.length > 10);
  for (let i = 0; i < rows.length; i++) {
    assert.ok(rows[i].date_upd >= '2024-03-01 00:00:00' && rows[i].date_upd <= '2024-06-30 23:59:59');
    if (i > 0) assert.ok(rows[i - 1].date_upd <= rows[i].date_upd);
  }
  const lit = await (await get('customers?output_format=JSON&filter[id]=[1|3|5]')).json();
  assert.deepEqual(lit.customers.map((c) => c.id), [1, 3, 5]);
});

test('POST and PUT of XML bodies, validated; schema=blank and synopsis', async () => {
  const body = '<prestashop><customer><lastname>Dvořák</lastname><firstname>Zoë</firstname>' +
    '<email>zoe@example.org</email><passwd>s3cret!pw</passwd></customer></prestashop>';
  const c = await fetch(`${base}/api/customers?output_format=JSON`, {method: 'POST',
    headers: AUTH, body});
  assert.equal(c.status, 201);
  const cust = (await c.json()).customer;
  assert.equal(cust.firstname, 'Zoë');
  const bad = await fetch(`${base}/api/customers`, {method: 'POST', headers: AUTH,
    body: '<prestashop><customer><firstname>X</firstname></customer></prestashop>'});
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /is empty/);
  const put = await fetch(`${base}/api/customers/${cust.id}?output_format=JSON`, {method: 'PUT',
    headers: AUTH, body: `<prestashop><customer><id>${cust.id}</id><note>VIP</note>` +
      '</customer></prestashop>'});
  assert.equal(put.status, 200);
  assert.equal((await put.json()).customer.note, 'VIP');
  const blank = await (await get('products?schema=blank')).text();
  assert.match(blank, /<product><id\/>/);
  const syn = await (await get('customers?schema=synopsis')).text();
  assert.match(syn, /<lastname required="true" maxSize="255"/);
  const nostock = await fetch(`${base}/api/stock_availables`, {method: 'POST', headers: AUTH,
    body: '<prestashop><stock_available><quantity>1</quantity></stock_available></prestashop>'});
  assert.equal(nostock.status, 405);
});
