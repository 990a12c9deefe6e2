// Starts simplix-sandbox on free ports, waits for its ready file, stops it by pid.
import {spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, existsSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export function sandboxBinary() {
  const dir = process.env.SX_BUILD_DIR;
  if (!dir) throw new Error('SX_BUILD_DIR is not set (the CMake build directory)');
  return join(dir, 'bin', 'simplix-sandbox');
}

export async function startSandbox(args = []) {
  const dir = mkdtempSync(join(tmpdir(), 'sx-sbx-'));
  const ready = join(dir, 'ready.json');
  const child = spawn(sandboxBinary(),
    ['--shopify-port', '0', '--ready-file', ready, ...args],
    {stdio: ['ignore', 'ignore', 'inherit']});
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  const deadline = Date.now() + 30000;
  while (!existsSync(ready)) {
    if (exited !== null) throw new Error(`sandbox exited with ${exited}`);
    if (Date.now() > deadline) {
      process.kill(child.pid, 'SIGKILL');
      throw new Error('sandbox did not become ready');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const urls = JSON.parse(readFileSync(ready, 'utf8'));
  return {
    urls,
    pid: child.pid,
    async stop() {
      if (exited === null) {
        const done = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await done;
      }
      rmSync(dir, {recursive: true, force: true});
      return exited;
    },
  };
}

export async function control(base, path, method = 'GET', body) {
  const res = await fetch(`${base}/_sandbox/${path}`, {
    method,
    headers: body === undefined ? {} : {'Content-Type': 'application/json'},
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null};
}
