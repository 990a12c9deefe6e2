// The sandbox's Shopify signing reproduces the published vectors (vectors/shopify.json).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {startSandbox, control} from './lib/sandbox.mjs';

const vectors = JSON.parse(readFileSync(new URL('./vectors/shopify.json', import.meta.url)))
  .vectors;

for (const v of vectors) {
  test(`vector ${v.id}`, async () => {
    const sbx = await startSandbox(['--orders', '1', '--shopify-api-secret', v.secret]);
    try {
      if (v.kind === 'webhook') {
        const r = await control(sbx.urls.shopify, 'sign', 'POST', v.payload);
        assert.equal(r.body.base64, v.expected);
      } else {
        const r = await control(sbx.urls.shopify, 'oauth/sign-query', 'POST',
          v.request_query_as_received);
        assert.equal(r.body.hmac, v.expected);
      }
    } finally {
      await sbx.stop();
    }
  });
}
