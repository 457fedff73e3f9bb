// Start and stop ami-sim on a free loopback port (or a given one, to
// restart it where a client expects it). Every wait is bounded.

import { spawn } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';

export function binDir() {
  const d = process.env.AMI_BIN_DIR || path.resolve(import.meta.dirname, '../../../build/gcc/tools');
  if (!fs.existsSync(path.join(d, 'ami-sim'))) throw new Error(`ami-sim not found in ${d} (set AMI_BIN_DIR)`);
  return d;
}

// A restart on a given port retries while the old socket lingers (bounded).
export async function startSim(opts = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      if (!opts.port || attempt >= 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function startOnce({ port = 0, callDuration = 60000, record = null, extra = [], timeoutMs = 10000 } = {}) {
  const args = ['--listen', `127.0.0.1:${port}`, '--call-duration', String(callDuration),
    '--write-timeout', '0', ...(record ? ['--record', record] : []), ...extra];
  const child = spawn(path.join(binDir(), 'ami-sim'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ami-sim did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ami-sim exited (${code}) before listening: ${err}`));
    });
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    port: listening,
    child,
    async stop(signal = 'SIGTERM', timeoutMs2 = 10000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs2);
      await exited;
      clearTimeout(t);
    },
  };
}
