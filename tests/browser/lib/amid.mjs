// Start the real amid (tools/amid) on a free loopback port with a config
// written for the test: tokens made here (amid stores only their SHA-256),
// the panel as its static directory, one [server] per sim.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binDir } from './sim.mjs';

export function newToken() {
  const token = `amid_${crypto.randomBytes(32).toString('base64url')}`;
  return { token, hash: `sha256:${crypto.createHash('sha256').update(token).digest('hex')}` };
}

// tokens: {name: {token, hash, servers, actions, events, originate_context, channels}}
export async function startAmid({ staticDir, servers, tokens, origins = [], timeoutMs = 20000 }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ami-panel-amid-'));
  fs.writeFileSync(path.join(dir, 'pbx.secret'), 'amp111\n', { mode: 0o600 });
  let conf = `[amid]\nlisten = 127.0.0.1:0\nstatic = ${staticDir}\nring_events = 10000\n`;
  if (origins.length) conf += `origins = ${origins.join(', ')}\n`;
  for (const s of servers) {
    conf += `[server ${s.name}]\nhost = 127.0.0.1\nport = ${s.port}\nusername = admin\nsecret_file = pbx.secret\n`;
  }
  for (const [name, t] of Object.entries(tokens)) {
    conf += `[token ${name}]\nhash = ${t.hash}\n`;
    for (const k of ['servers', 'actions', 'events', 'originate_context', 'channels']) {
      if (t[k] !== undefined) conf += `${k} = ${[].concat(t[k]).join(', ')}\n`;
    }
  }
  const confPath = path.join(dir, 'amid.conf');
  fs.writeFileSync(confPath, conf, { mode: 0o600 });
  const child = spawn(path.join(binDir(), 'amid'), ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-20000); });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`amid did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on [^\s]*:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`amid exited (${code}) before listening: ${err}`));
    });
  });
  const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })));
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    log: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15000);
        const r = await exited;
        clearTimeout(t);
        fs.rmSync(dir, { recursive: true, force: true });
        return r;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      return { code: child.exitCode, sig: child.signalCode };
    },
  };
}
