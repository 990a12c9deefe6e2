// The official @shopify/shopify-api, unmodified. Only the transport is pointed at the
// sandbox: https://<shop> is served by the sandbox's http://127.0.0.1:PORT (the library's
// runtime adapter hook, setAbstractFetchFunc, is how every runtime plugs its fetch in).
import '@shopify/shopify-api/adapters/node';
import {shopifyApi, ApiVersion, Session} from '@shopify/shopify-api';
import {setAbstractFetchFunc} from '@shopify/shopify-api/runtime';

export const SHOP = 'sandbox-shop.myshopify.com';
export const API_KEY = 'sandbox-api-key';
export const API_SECRET = 'sandbox-api-secret';

export function routeShopTo(sandboxBase) {
  const realFetch = globalThis.fetch;
  setAbstractFetchFunc((input, init) => {
    let url = typeof input === 'string' ? input : input.url;
    if (url.startsWith(`https://${SHOP}/`)) url = sandboxBase + url.slice(`https://${SHOP}`.length);
    return realFetch(url, init);
  });
}

export function makeShopify({hostName = '127.0.0.1:1', apiSecretKey = API_SECRET} = {}) {
  return shopifyApi({
    apiKey: API_KEY,
    apiSecretKey,
    scopes: ['read_orders', 'write_customers', 'read_products'],
    hostName,
    hostScheme: 'http',
    apiVersion: ApiVersion.January25,
    isEmbeddedApp: false,
    logger: {level: 0},
  });
}

export {Session};
