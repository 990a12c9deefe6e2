// The sandbox's WooCommerce signing reproduces the published vector (vectors/woocommerce.json)
// and its OAuth 1.0a base string matches the official client's signature.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {startSandbox, control} from './lib/sandbox.mjs';
import {makeWoo} from './lib/woo.mjs';

const vectors = JSON.parse(readFileSync(new URL('./vectors/woocommerce.json', import.meta.url)))
  .vectors;

test('woocommerce vectors and the OAuth signature of the official client', async () => {
  const sbx = await startSandbox(['--only', 'woo', '--woo-port', '0', '--orders', '1']);
  try {
    const base = sbx.urls.woo;
    for (const v of vectors) {
      assert.equal(v.kind, 'webhook');
      const r = await control(base, `sign?secret=${encodeURIComponent(v.secret)}`, 'POST',
        Buffer.from(v.payload_b64, 'base64').toString());
      assert.equal(r.body.signature, v.expected, v.id);
    }
    // HMAC-SHA256 (the client's) and HMAC-SHA1, with a nested key and characters to encode.
    const woo = makeWoo('http://store.example');
    const url = 'http://store.example/wp-json/wc/v3/orders?after=2024-01-01T00:00:00&a[b]=c d';
    const signed = woo._getOAuth().authorize({url, method: 'GET'});
    const params = {...signed, after: '2024-01-01T00:00:00', 'a[b]': 'c d'};
    delete params.oauth_signature;
    const r = await control(base, 'oauth/sign', 'POST', {method: 'GET',
      url: 'http://store.example/wp-json/wc/v3/orders', params,
      secret: woo.consumerSecret, signature_method: 'HMAC-SHA256'});
    assert.equal(r.body.oauth_signature, signed.oauth_signature);
  } finally {
    await sbx.stop();
  }
});
