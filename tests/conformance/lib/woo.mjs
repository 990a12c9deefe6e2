// The official @woocommerce/woocommerce-rest-api client, unmodified, pointed at the sandbox
// over plain HTTP: it then signs every request with OAuth 1.0a (HMAC-SHA256) in the query.
import WooCommerceRestApiPkg from '@woocommerce/woocommerce-rest-api';
import http from 'node:http';
import crypto from 'node:crypto';

const WooCommerceRestApi = WooCommerceRestApiPkg.default ?? WooCommerceRestApiPkg;

export const CK = 'ck_1b7e7c1f3a5d9e2b4c6a8f0d2e4b6c8a0f1e3d5c';
export const CS = 'cs_9f8e7d6c5b4a39281706f5e4d3c2b1a098765432';

export function makeWoo(url, {consumerKey = CK, consumerSecret = CS} = {}) {
  return new WooCommerceRestApi({
    url, consumerKey, consumerSecret, version: 'wc/v3', queryStringAuth: true,
  });
}

// WooCommerce's own check (class-wc-webhook.php): base64 HMAC-SHA256 of the raw body.
export function verifyWooSignature(rawBody, header, secret) {
  const expected = crypto.createHmac('sha256', secret).update(rawBody).digest('base64');
  const a = Buffer.from(expected);
  const b = Buffer.from(String(header ?? ''));
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

// A loopback receiver: records every request (raw body kept), answers `status()`.
export async function startReceiver(status = () => 200) {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({method: req.method, url: req.url, headers: req.headers,
        body: Buffer.concat(chunks)});
      res.statusCode = status(req);
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    got,
    url: `http://127.0.0.1:${server.address().port}`,
    async waitFor(pred, ms = 5000) {
      const end = Date.now() + ms;
      for (;;) {
        const hit = got.filter(pred);
        if (hit.length > 0) return hit;
        if (Date.now() > end) throw new Error('receiver: nothing matched in time');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
