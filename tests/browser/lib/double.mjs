// A test double of amid's contract (issue 12) for the panel's browser
// tests, used while amid itself has no state stream. It is NOT amid: it
// implements only what the panel uses — POST/GET/DELETE /v1/session (an
// HttpOnly SameSite=Strict cookie for a token), GET /v1/servers, POST
// /v1/servers/{name}/actions (forwarded to the real ami-sim over AMI, with
// the token's action / channel / originate-context rules and the 401, 403,
// 404, 502 of the contract), WS /v1/state?server=… (a snapshot, then one
// change per message with a sequence number; a gap and a fresh snapshot
// after the PBX reconnects), and the static panel. Its live state is a
// minimal channel/queue/parking tracker over the sim's events; the tests
// can also push changes directly (queues, while the sim has none).

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { WebSocketServer } from 'ws';
import { AmiClient } from './ami.mjs';

const CHANNEL_KEYS = ['Channel', 'ChannelState', 'ChannelStateDesc', 'CallerIDNum', 'CallerIDName',
  'ConnectedLineNum', 'ConnectedLineName', 'AccountCode', 'Context', 'Exten', 'Priority', 'Uniqueid', 'Linkedid'];
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };

function pick(o, keys) {
  const r = {};
  for (const k of keys) if (o[k] !== undefined) r[k] = o[k];
  return r;
}

function globMatch(glob, s) {
  const re = new RegExp(`^${glob.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(s);
}

class Server {
  constructor(double, name, port) {
    Object.assign(this, { double, name, port });
    this.state = 'connecting';
    this.objs = { channel: new Map(), bridge: new Map(), queue: new Map(), member: new Map(), caller: new Map(), parked: new Map() };
    this.seq = 0;
    this.ami = null;
    this.closed = false;
    this.connectedSince = null;
    this.everUp = false;
  }

  async run() {
    let backoff = 50;
    while (!this.closed) {
      let onGone;
      const gone = new Promise((r) => { onGone = r; });
      this.wakeLost = onGone;
      const ami = new AmiClient({ port: this.port, onEvent: (e) => this.event(e), onClose: () => { this.lost(); onGone(); } });
      this.buffer = [];
      try {
        await ami.connect(3000);
      } catch (e) {
        ami.close();
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 500);
        continue;
      }
      backoff = 50;
      this.ami = ami;
      await this.resync();
      await gone;
    }
  }

  lost() {
    if (this.state === 'up') {
      this.state = 'down';
      this.ami = null;
      this.double.broadcast(this.name, { type: 'server', server: this.name, state: 'down', reason: 'connection to the PBX lost' });
    }
  }

  async resync() {
    this.listing = true;
    const fresh = { channel: new Map(), bridge: new Map(), queue: new Map(), member: new Map(), caller: new Map(), parked: new Map() };
    try {
      const r = await this.ami.action({ Action: 'CoreShowChannels' }, 5000);
      for (const e of r.events) {
        if (e.Event !== 'CoreShowChannel') continue;
        const o = pick(e, [...CHANNEL_KEYS, 'Application', 'ApplicationData', 'Duration', 'BridgeId']);
        if (!o.BridgeId) delete o.BridgeId;
        fresh.channel.set(o.Uniqueid, o);
      }
    } catch (e) {
      return; // lost mid-list: run() reconnects
    }
    // Queues and parked calls the double keeps are the tests' own (pushed).
    for (const k of ['queue', 'member', 'caller', 'parked']) fresh[k] = this.objs[k];
    this.objs = fresh;
    this.listing = false;
    const wasUp = this.everUp;
    this.everUp = true;
    this.state = 'up';
    this.connectedSince = new Date().toISOString();
    if (wasUp) this.double.broadcast(this.name, { type: 'server', server: this.name, state: 'up' });
    if (wasUp) this.double.broadcast(this.name, { type: 'gap', server: this.name, reason: 'the PBX connection was re-established', from: this.seq + 1 });
    for (const e of this.buffer) this.event(e);
    this.buffer = [];
    this.double.broadcastSnapshot(this);
  }

  snapshot() {
    const queues = [...this.objs.queue.values()].map((q) => ({
      ...q,
      members: [...this.objs.member.values()].filter((m) => m.Queue === q.Queue),
      callers: [...this.objs.caller.values()].filter((c) => c.Queue === q.Queue),
    }));
    return { channels: [...this.objs.channel.values()], bridges: [...this.objs.bridge.values()], queues, parked: [...this.objs.parked.values()] };
  }

  set(kind, id, obj) {
    const map = this.objs[kind];
    const prev = map.get(id);
    if (prev && JSON.stringify(prev) === JSON.stringify(obj)) return;
    map.set(id, obj);
    this.emit(kind, prev ? 'changed' : 'added', id, obj);
  }

  del(kind, id) {
    if (!this.objs[kind].delete(id)) return;
    this.emit(kind, 'removed', id, null);
  }

  emit(kind, change, id, object) {
    const m = { type: 'change', server: this.name, seq: ++this.seq, kind, change, id };
    if (object) m.object = object;
    this.double.broadcast(this.name, m);
  }

  event(e) {
    if (this.listing) {
      this.buffer.push(e);
      return;
    }
    this.double.stats.events++;
    const u = e.Uniqueid;
    const ch = u ? this.objs.channel.get(u) : undefined;
    const merge = (extra) => this.set('channel', u, { ...ch, ...pick(e, CHANNEL_KEYS), ...extra });
    switch (e.Event) {
      case 'Newchannel':
        this.set('channel', u, pick(e, CHANNEL_KEYS));
        break;
      case 'Newstate': case 'NewCallerid': case 'NewConnectedLine': case 'NewAccountCode':
        if (ch) merge({});
        break;
      case 'Newexten':
        if (ch) merge({ Application: e.Application, ApplicationData: e.AppData });
        break;
      case 'BridgeEnter':
        if (ch) merge({ BridgeId: e.BridgeUniqueid });
        break;
      case 'BridgeLeave':
        if (ch) {
          const { BridgeId, ...rest } = ch;
          this.set('channel', u, { ...rest, ...pick(e, CHANNEL_KEYS) });
        }
        break;
      case 'Hold': case 'MusicOnHoldStart':
        if (ch) merge({ OnHold: '1' });
        break;
      case 'Unhold': case 'MusicOnHoldStop':
        if (ch) merge({ OnHold: '0' });
        break;
      case 'Hangup':
        this.del('channel', u);
        break;
      case 'BridgeCreate':
        this.set('bridge', e.BridgeUniqueid, pick(e, ['BridgeUniqueid', 'BridgeType', 'BridgeTechnology', 'BridgeCreator', 'BridgeName', 'BridgeNumChannels']));
        break;
      case 'BridgeDestroy':
        this.del('bridge', e.BridgeUniqueid);
        break;
      default:
        break;
    }
  }

  // Actions through the sim, as amid would answer them.
  async action(headers) {
    if (this.state !== 'up' || !this.ami) return [502, { error: `server ${this.name} is not connected` }];
    try {
      const r = await this.ami.action(headers, 5000);
      return [200, r];
    } catch (e) {
      return e.timeout ? [504, { error: 'the PBX did not answer in time' }] : [502, { error: 'connection to the PBX lost during the action' }];
    }
  }
}

export async function startDouble({ staticDir, servers, tokens, sessionTtlMs = 3600000 }) {
  const double = {
    stats: { events: 0, requests: [], actions: [] },
    servers: new Map(),
    sessions: new Map(), // cookie -> token name
    clients: new Set(),
  };
  const tokenByName = new Map(Object.entries(tokens).map(([t, p]) => [p.name, { ...p, secret: t }]));

  double.broadcast = (server, m) => {
    const text = JSON.stringify(m);
    for (const c of double.clients) if (c.server === server && c.ready) c.ws.send(text);
  };
  double.broadcastSnapshot = (srv) => {
    for (const c of double.clients) if (c.server === srv.name) sendSnapshot(c, srv);
  };
  const sendSnapshot = (c, srv) => {
    c.ready = true;
    c.ws.send(JSON.stringify({ type: 'snapshot', server: srv.name, seq: srv.seq, state: srv.snapshot() }));
  };

  const cookieToken = (req) => {
    const m = /(?:^|;\s*)amid_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie || '');
    if (!m) return null;
    const s = double.sessions.get(m[1]);
    if (!s || s.expires < Date.now()) return null;
    return tokenByName.get(s.name) || null;
  };
  const send = (res, status, body, headers = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
    res.end(text);
  };
  const readBody = (req) => new Promise((resolve, reject) => {
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (d) => {
      b += d;
      if (b.length > 65536) {
        reject(new Error('too big'));
        req.destroy();
      }
    });
    req.on('end', () => resolve(b));
  });
  const publicPerms = (t) => ({
    name: t.name, servers: t.servers, actions: t.actions, events: t.events || ['*'],
    originate_context: t.originate_context || [], channels: t.channels || ['*'],
  });

  const check = (t, server, a) => {
    if (!t.servers.includes('*') && !t.servers.includes(server)) return `token ${t.name} may not use server ${server} (servers)`;
    const act = String(a.Action || '');
    if (!t.actions.includes('*') && !t.actions.some((x) => x.toLowerCase() === act.toLowerCase())) return `token ${t.name} may not run ${act} (actions)`;
    if (/^(hangup|redirect|blindtransfer|park|atxfer)$/i.test(act) && t.channels && !t.channels.includes('*')) {
      if (!t.channels.some((g) => globMatch(g, String(a.Channel || '')))) return `token ${t.name} may not act on channel ${a.Channel} (channels)`;
    }
    if (/^originate$/i.test(act)) {
      if (a.Application) return 'Originate with Application= is never allowed (originate_context)';
      if (!(t.originate_context || []).includes(a.Context)) return `token ${t.name} may not originate into context ${a.Context} (originate_context)`;
    }
    return null;
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    double.stats.requests.push(`${req.method} ${url.pathname}`);
    if (double.stats.requests.length > 1000) double.stats.requests.shift();
    try {
      if (url.pathname === '/v1/session') {
        if (req.method === 'POST') {
          const body = await readBody(req);
          let tok = null;
          try { tok = JSON.parse(body).token; } catch (e) { /* bearer below */ }
          const auth = /^Bearer (.+)$/.exec(req.headers.authorization || '');
          const t = tokens[tok || (auth && auth[1])];
          if (!t) return send(res, 401, { error: 'unknown token' });
          const sid = crypto.randomBytes(24).toString('base64url');
          double.sessions.set(sid, { name: t.name, expires: Date.now() + sessionTtlMs });
          return send(res, 200, publicPerms(tokenByName.get(t.name)), {
            'Set-Cookie': `amid_session=${sid}; HttpOnly; SameSite=Strict; Path=/`,
          });
        }
        const t = cookieToken(req);
        if (req.method === 'DELETE') {
          const m = /(?:^|;\s*)amid_session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie || '');
          if (m) double.sessions.delete(m[1]);
          return send(res, 200, {}, { 'Set-Cookie': 'amid_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0' });
        }
        if (!t) return send(res, 401, { error: 'no session' });
        return send(res, 200, publicPerms(t));
      }
      if (url.pathname.startsWith('/v1/')) {
        const auth = /^Bearer (.+)$/.exec(req.headers.authorization || '');
        const t = auth ? (tokens[auth[1]] && tokenByName.get(tokens[auth[1]].name)) : cookieToken(req);
        if (!t) return send(res, 401, { error: 'no or unknown token' });
        if (url.pathname === '/v1/servers' && req.method === 'GET') {
          return send(res, 200, [...double.servers.values()]
            .filter((s) => t.servers.includes('*') || t.servers.includes(s.name))
            .map((s) => ({ name: s.name, state: s.state, host: '127.0.0.1', port: s.port, version: null, connected_since: s.connectedSince })));
        }
        const m = /^\/v1\/servers\/([^/]+)\/actions$/.exec(url.pathname);
        if (m && req.method === 'POST') {
          const name = decodeURIComponent(m[1]);
          const srv = double.servers.get(name);
          if (!srv) return send(res, 404, { error: `no server ${name}` });
          let a;
          try { a = JSON.parse(await readBody(req)); } catch (e) { return send(res, 400, { error: 'bad JSON' }); }
          if (!a || typeof a !== 'object' || Array.isArray(a) || typeof a.Action !== 'string') return send(res, 400, { error: 'an action is a JSON object with Action' });
          for (const [k, v] of Object.entries(a)) {
            for (const x of Array.isArray(v) ? v : [v]) if (/[\r\n\0]/.test(String(x)) || /[\r\n\0:]/.test(k)) return send(res, 400, { error: `CR, LF or NUL in ${k}` });
          }
          const why = check(t, name, a);
          double.stats.actions.push({ token: t.name, server: name, action: a, refused: why });
          if (why) return send(res, 403, { error: why });
          const [status, body] = await srv.action(a);
          return send(res, status, body);
        }
        return send(res, 404, { error: 'no such endpoint' });
      }
      // Static files, confined to staticDir.
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method' });
      const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
      const file = path.resolve(staticDir, rel);
      if (!file.startsWith(path.resolve(staticDir) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        return res.end('not found');
      }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
      return res.end(fs.readFileSync(file));
    } catch (e) {
      return send(res, 500, { error: String(e.message || e) });
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 65536 });
  server.on('upgrade', (req, sock, head) => {
    const url = new URL(req.url, 'http://x');
    const t = cookieToken(req);
    const own = `http://${req.headers.host}`;
    const refuse = (code, why) => {
      sock.end(`HTTP/1.1 ${code} ${why}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    if (req.headers.origin && req.headers.origin !== own) return refuse(403, 'Forbidden');
    if (!t) return refuse(401, 'Unauthorized');
    if (url.pathname !== '/v1/state') return refuse(404, 'Not Found');
    const name = url.searchParams.get('server');
    const srv = double.servers.get(name);
    if (!srv) return refuse(404, 'Not Found');
    if (!t.servers.includes('*') && !t.servers.includes(name)) return refuse(403, 'Forbidden');
    wss.handleUpgrade(req, sock, head, (ws) => {
      const c = { ws, server: name, ready: false };
      double.clients.add(c);
      ws.on('close', () => double.clients.delete(c));
      ws.on('error', () => {});
      if (srv.state === 'up') sendSnapshot(c, srv);
      else ws.send(JSON.stringify({ type: 'server', server: name, state: srv.state }));
    });
  });

  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  for (const s of servers) {
    const srv = new Server(double, s.name, s.port);
    double.servers.set(s.name, srv);
    srv.running = srv.run();
  }

  double.url = `http://127.0.0.1:${port}`;
  double.port = port;
  double.server = (name) => double.servers.get(name);
  // Test hooks: push a change as if the PBX had caused it; lose events.
  double.push = (name, kind, change, id, obj) => {
    const srv = double.servers.get(name);
    if (change === 'removed') srv.del(kind, id);
    else srv.set(kind, id, obj);
  };
  double.skipSeq = (name, n = 3) => {
    double.servers.get(name).seq += n;
  };
  double.close = async () => {
    for (const srv of double.servers.values()) {
      srv.closed = true;
      srv.ami?.close();
      srv.wakeLost?.();
    }
    for (const c of double.clients) c.ws.terminate();
    wss.close();
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
    await Promise.all([...double.servers.values()].map((s) => s.running));
  };
  return double;
}
