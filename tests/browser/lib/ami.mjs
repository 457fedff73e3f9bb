// A small AMI client for the tests (Node net): banner, Login, actions
// matched by ActionID with their EventList collected, events to a callback.
// It exists so the tests can act on ami-sim "from outside", as a PBX user
// would (and the latency bench stamps the sim's events with it).

import net from 'node:net';

export function parsePackets(buf) {
  // Returns [packets, rest]; a packet is an array of [key, value].
  const out = [];
  let start = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', start);
    if (end < 0) break;
    const text = buf.slice(start, end);
    start = end + 4;
    const pk = [];
    for (const line of text.split('\r\n')) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      pk.push([line.slice(0, i), line.slice(i + 1).replace(/^ /, '')]);
    }
    if (pk.length) out.push(pk);
  }
  return [out, buf.slice(start)];
}

export function toObject(pk) {
  const o = {};
  for (const [k, v] of pk) {
    if (k in o) o[k] = Array.isArray(o[k]) ? [...o[k], v] : [o[k], v];
    else o[k] = v;
  }
  return o;
}

export class AmiClient {
  constructor({ host = '127.0.0.1', port, username = 'admin', secret = 'amp111', onEvent, onClose } = {}) {
    Object.assign(this, { host, port, username, secret, onEvent, onClose });
    this.pending = new Map();
    this.seq = 0;
    this.buf = '';
    this.banner = null;
  }

  connect(timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: this.host, port: this.port });
      this.sock = sock;
      sock.setEncoding('latin1');
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`AMI connect to ${this.port}: timeout`));
      }, timeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.on('data', (d) => {
        this.buf += d;
        if (this.banner === null) {
          const i = this.buf.indexOf('\r\n');
          if (i < 0) return;
          this.banner = this.buf.slice(0, i);
          this.buf = this.buf.slice(i + 2);
          clearTimeout(timer);
          sock.removeAllListeners('error');
          sock.on('error', () => {});
          this.action({ Action: 'Login', Username: this.username, Secret: this.secret }, timeoutMs)
            .then((r) => (r.response.Response === 'Success' ? resolve(this) : reject(new Error(r.response.Message))))
            .catch(reject);
        }
        this.drain();
      });
      sock.on('close', () => {
        clearTimeout(timer);
        for (const p of this.pending.values()) p.reject(new Error('AMI connection closed'));
        this.pending.clear();
        this.onClose?.();
      });
    });
  }

  drain() {
    if (this.banner === null) return;
    const [pks, rest] = parsePackets(this.buf);
    this.buf = rest;
    for (const pk of pks) this.packet(toObject(pk));
  }

  packet(o) {
    const id = o.ActionID;
    const p = id !== undefined ? this.pending.get(id) : undefined;
    if ('Response' in o && p) {
      p.response = o;
      if (o.EventList !== 'start') this.finish(id);
      return;
    }
    if ('Event' in o && p && p.response) {
      if (o.EventList === 'Complete' || o.EventList === 'Cancelled') {
        p.events.push(o);
        this.finish(id);
      } else {
        p.events.push(o);
      }
      return;
    }
    if ('Event' in o) this.onEvent?.(o);
  }

  finish(id) {
    const p = this.pending.get(id);
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve({ response: p.response, events: p.events });
  }

  // headers: {Key: value | [values]}. CR/LF refused (nothing sent).
  action(headers, timeoutMs = 5000) {
    const id = headers.ActionID ?? `t-${++this.seq}`;
    let text = '';
    for (const [k, v] of Object.entries({ ...headers, ActionID: id })) {
      for (const x of Array.isArray(v) ? v : [v]) {
        const s = String(x);
        if (/[\r\n\0]/.test(s) || /[\r\n\0:]/.test(k)) return Promise.reject(new Error('CR/LF/NUL in an action'));
        text += `${k}: ${s}\r\n`;
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(Object.assign(new Error(`${headers.Action}: timeout`), { timeout: true }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, response: null, events: [] });
      this.sock.write(`${text}\r\n`);
    });
  }

  close() {
    this.sock?.destroy();
  }
}
