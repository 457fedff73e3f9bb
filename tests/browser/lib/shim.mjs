// The state stream for the panel's tests, in front of the real amid.
//
// amid (tools/amid) serves the panel, the session cookie, GET /v1/session,
// GET /v1/servers, POST /v1/servers/{name}/actions and WS /v1/events, but
// not yet the state stream WS /v1/state of issue 12. This shim listens on
// its own port, passes every request but /v1/state through to amid
// unchanged (so login, permissions, 403s and actions are amid's own), and
// serves /v1/state itself, in the shape docs/panel.md gives: a snapshot,
// then one change per message with a sequence number, and a gap plus a
// fresh snapshot after amid reports a gap. It builds that state only from
// amid's public API — its /v1/events stream and list actions through
// POST /v1/servers/{name}/actions, with a token of its own — so it is a
// client of amid, never of the PBX. When amid has /v1/state, the tests
// point the browser at amid directly and this file goes.

import http from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';

const CHANNEL_KEYS = ['Channel', 'ChannelState', 'ChannelStateDesc', 'CallerIDNum', 'CallerIDName',
  'ConnectedLineNum', 'ConnectedLineName', 'AccountCode', 'Context', 'Exten', 'Priority', 'Uniqueid', 'Linkedid'];
const MEMBER_KEYS = ['Queue', 'Interface', 'MemberName', 'StateInterface', 'Membership', 'Penalty', 'CallsTaken',
  'LastCall', 'LastPause', 'LoginTime', 'InCall', 'Status', 'Paused', 'PausedReason', 'Wrapuptime'];
const KINDS = ['channel', 'bridge', 'queue', 'member', 'caller', 'parked'];

function pick(o, keys) {
  const r = {};
  for (const k of keys) if (o[k] !== undefined) r[k] = Array.isArray(o[k]) ? o[k][0] : o[k];
  return r;
}

function emptyMaps() {
  return Object.fromEntries(KINDS.map((k) => [k, new Map()]));
}

class Tracker {
  constructor(shim, name) {
    Object.assign(this, { shim, name });
    this.objs = emptyMaps();
    this.seq = 0;
    this.synced = false;
    this.everSynced = false;
    this.listing = false;
    this.buffer = [];
    this.closed = false;
  }

  // amid's event stream, with the shim's bearer token (no Origin: not a browser).
  follow() {
    if (this.closed) return;
    const ws = new WebSocket(`${this.shim.amid.replace('http', 'ws')}/v1/events?server=${encodeURIComponent(this.name)}`,
      { headers: { Authorization: `Bearer ${this.shim.token}` } });
    this.ws = ws;
    ws.on('open', () => this.resync('start'));
    ws.on('message', (d) => {
      let m;
      try { m = JSON.parse(String(d)); } catch (e) { return; }
      if (m.type === 'gap') {
        this.shim.stats.gaps++;
        this.resync(m.reason || 'gap');
      } else if (m.event) {
        this.event(m.event);
      }
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (!this.closed) this.retry = setTimeout(() => this.follow(), 200);
    });
  }

  async list(action) {
    const r = await fetch(`${this.shim.amid}/v1/servers/${encodeURIComponent(this.name)}/actions`, {
      method: 'POST', headers: { Authorization: `Bearer ${this.shim.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ Action: action }),
    });
    if (r.status !== 200) throw Object.assign(new Error(`${action}: HTTP ${r.status}`), { status: r.status });
    return r.json();
  }

  async resync(why) {
    const gen = (this.gen = (this.gen || 0) + 1);
    this.listing = true;
    this.buffer = [];
    const fresh = emptyMaps();
    for (let attempt = 0; ; attempt++) {
      try {
        const chans = await this.list('CoreShowChannels');
        for (const e of chans.events || []) {
          if (e.Event !== 'CoreShowChannel') continue;
          const o = pick(e, [...CHANNEL_KEYS, 'Application', 'ApplicationData', 'Duration', 'BridgeId']);
          if (!o.BridgeId) delete o.BridgeId;
          fresh.channel.set(o.Uniqueid, o);
        }
        const qs = await this.list('QueueStatus');
        for (const e of qs.events || []) {
          if (e.Event === 'QueueParams') fresh.queue.set(e.Queue, pick(e, ['Queue', 'Max', 'Strategy', 'Calls', 'Holdtime', 'TalkTime', 'Completed', 'Abandoned', 'ServiceLevel', 'ServicelevelPerf', 'ServicelevelPerf2', 'Weight']));
          if (e.Event === 'QueueMember') {
            const m = pick({ ...e, Interface: e.Location, MemberName: e.Name }, MEMBER_KEYS);
            fresh.member.set(`${m.Queue}/${m.Interface}`, m);
          }
          if (e.Event === 'QueueEntry') {
            const c = pick(e, ['Queue', 'Position', 'Channel', 'Uniqueid', 'CallerIDNum', 'CallerIDName', 'Wait']);
            fresh.caller.set(`${c.Queue}/${c.Uniqueid}`, c);
          }
        }
        const pk = await this.list('ParkedCalls').catch(() => ({ events: [] }));
        for (const e of pk.events || []) {
          if (e.Event !== 'ParkedCall') continue;
          const p = pick(e, Object.keys(e).filter((k) => k !== 'Event' && k !== 'ActionID'));
          fresh.parked.set(`${p.Parkinglot}/${p.ParkingSpace}`, p);
        }
        break;
      } catch (e) {
        if (gen !== this.gen || this.closed) return;
        if (attempt === 0 && this.synced) {
          this.synced = false;
          this.shim.broadcast(this.name, { type: 'server', server: this.name, state: 'down', reason: String(e.message) });
        }
        if (attempt > 300) return; // bounded: about a minute
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    if (gen !== this.gen) return;
    this.objs = fresh;
    this.listing = false;
    const again = this.everSynced;
    this.everSynced = this.synced = true;
    if (again) this.shim.broadcast(this.name, { type: 'gap', server: this.name, reason: why, from: this.seq + 1 });
    const buffered = this.buffer;
    this.buffer = [];
    for (const e of buffered) this.event(e);
    this.shim.snapshotAll(this);
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
    if (this.objs[kind].delete(id)) this.emit(kind, 'removed', id, null);
  }

  emit(kind, change, id, object) {
    const m = { type: 'change', server: this.name, seq: ++this.seq, kind, change, id };
    if (object) m.object = object;
    this.shim.broadcast(this.name, m);
  }

  event(e) {
    if (this.listing) {
      this.buffer.push(e);
      return;
    }
    this.shim.stats.events++;
    const u = e.Uniqueid;
    const ch = u ? this.objs.channel.get(u) : undefined;
    const merge = (extra) => this.set('channel', u, { ...ch, ...pick(e, CHANNEL_KEYS), ...extra });
    const without = (key) => {
      const c = { ...ch, ...pick(e, CHANNEL_KEYS) };
      delete c[key];
      this.set('channel', u, c);
    };
    switch (e.Event) {
      case 'Newchannel': this.set('channel', u, pick(e, CHANNEL_KEYS)); break;
      case 'Newstate': case 'NewCallerid': case 'NewConnectedLine': case 'NewAccountCode': if (ch) merge({}); break;
      case 'Newexten': if (ch) merge({ Application: e.Application, ApplicationData: e.AppData }); break;
      case 'BridgeEnter': if (ch) merge({ BridgeId: e.BridgeUniqueid }); break;
      case 'BridgeLeave': if (ch) without('BridgeId'); break;
      case 'Hold': if (ch) merge({ OnHold: 'Yes' }); break;
      case 'Unhold': if (ch) without('OnHold'); break;
      case 'MusicOnHoldStart': if (ch) merge({ MusicOnHold: e.Class || 'default' }); break;
      case 'MusicOnHoldStop': if (ch) without('MusicOnHold'); break;
      case 'Hangup': this.del('channel', u); break;
      case 'BridgeCreate':
        this.set('bridge', e.BridgeUniqueid, pick(e, ['BridgeUniqueid', 'BridgeType', 'BridgeTechnology', 'BridgeCreator', 'BridgeName', 'BridgeNumChannels']));
        break;
      case 'BridgeDestroy': this.del('bridge', e.BridgeUniqueid); break;
      case 'QueueMemberAdded': case 'QueueMemberStatus': case 'QueueMemberPause': case 'QueueMemberPenalty': case 'QueueMemberRinginuse': {
        const m = pick(e, MEMBER_KEYS);
        this.set('member', `${m.Queue}/${m.Interface}`, m);
        break;
      }
      case 'QueueMemberRemoved': this.del('member', `${e.Queue}/${e.Interface}`); break;
      case 'QueueCallerJoin':
        this.set('caller', `${e.Queue}/${u}`, pick(e, ['Queue', 'Position', 'Channel', 'Uniqueid', 'Linkedid', 'CallerIDNum', 'CallerIDName']));
        break;
      case 'QueueCallerLeave': this.del('caller', `${e.Queue}/${u}`); break;
      case 'ParkedCall': {
        const p = pick(e, Object.keys(e).filter((k) => k !== 'Event' && k !== 'Privilege'));
        this.set('parked', `${p.Parkinglot}/${p.ParkingSpace}`, p);
        break;
      }
      case 'ParkedCallTimeOut': case 'ParkedCallGiveUp': case 'UnParkedCall':
        this.del('parked', `${e.Parkinglot}/${e.ParkingSpace}`);
        break;
      default: break;
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.retry);
    this.ws?.terminate();
  }
}

export async function startShim({ servers, token }) {
  const shim = { stats: { events: 0, gaps: 0 }, clients: new Set(), trackers: new Map(), token, amid: null };
  shim.broadcast = (server, m) => {
    const text = JSON.stringify(m);
    for (const c of shim.clients) if (c.server === server && c.ready) c.ws.send(text);
  };
  const sendSnapshot = (c, t) => {
    c.ready = true;
    c.ws.send(JSON.stringify({ type: 'snapshot', server: t.name, seq: t.seq, state: t.snapshot() }));
  };
  shim.snapshotAll = (t) => {
    for (const c of shim.clients) if (c.server === t.name) sendSnapshot(c, t);
  };

  // Everything but the state stream is amid's: passed through as it is.
  const server = http.createServer((req, res) => {
    const up = new URL(shim.amid);
    const preq = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (pres) => {
      res.writeHead(pres.statusCode, pres.headers);
      pres.pipe(res);
    });
    preq.on('error', (e) => {
      res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: `amid: ${e.message}` }));
    });
    req.pipe(preq);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 65536 });
  server.on('upgrade', async (req, sock, head) => {
    const refuse = (code, why) => sock.end(`HTTP/1.1 ${code} ${why}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    const url = new URL(req.url, 'http://x');
    if (url.pathname !== '/v1/state') return refuse(404, 'Not Found');
    // amid decides who this is: the browser's cookie and Origin, asked of GET /v1/session.
    let who;
    try {
      const r = await fetch(`${shim.amid}/v1/session`, { headers: { Cookie: req.headers.cookie || '', Origin: req.headers.origin || '' } });
      if (r.status !== 200) return refuse(r.status, 'Refused');
      who = await r.json();
    } catch (e) {
      return refuse(502, 'Bad Gateway');
    }
    const name = url.searchParams.get('server');
    const t = shim.trackers.get(name);
    if (!t) return refuse(404, 'Not Found');
    const allowed = [].concat(who.servers);
    if (!allowed.includes('*') && !allowed.includes(name)) return refuse(403, 'Forbidden');
    wss.handleUpgrade(req, sock, head, (ws) => {
      const c = { ws, server: name, ready: false };
      shim.clients.add(c);
      ws.on('close', () => shim.clients.delete(c));
      ws.on('error', () => {});
      if (t.synced) sendSnapshot(c, t);
      else ws.send(JSON.stringify({ type: 'server', server: name, state: 'connecting' }));
    });
  });

  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  shim.port = server.address().port;
  shim.url = `http://127.0.0.1:${shim.port}`;
  shim.attach = (amidUrl) => {
    shim.amid = amidUrl;
    for (const name of servers) {
      const t = new Tracker(shim, name);
      shim.trackers.set(name, t);
      t.follow();
    }
  };
  shim.synced = (name) => !!shim.trackers.get(name)?.synced;
  // Test hook: lose sequence numbers, as a stream that dropped messages.
  shim.skipSeq = (name, n = 3) => {
    shim.trackers.get(name).seq += n;
  };
  shim.close = async () => {
    for (const t of shim.trackers.values()) t.close();
    for (const c of shim.clients) c.ws.terminate();
    wss.close();
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  };
  return shim;
}
