// One server's state stream: WS /v1/state?server=NAME (issue 12) — a
// snapshot, then one message per change. The stream is gap-aware: amid says
// {"type":"gap"} when it lost events (a PBX reconnect, a client that fell
// behind) and follows with a fresh snapshot; a hole in `seq` seen here
// counts the same. Either way the panel drops what it had for that server
// and rebuilds from the next snapshot. A closed socket reconnects with
// backoff and a fresh snapshot — the panel never polls.

import { kindOf } from './store.js';

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 8000;
// After a gap amid sends a snapshot; if none comes in this time the socket
// is reopened, which always starts with one.
const SNAPSHOT_WAIT_MS = 5000;

export class StateStream {
  constructor(server, handlers) {
    this.server = server;
    this.h = handlers;
    this.ws = null;
    this.seq = null;
    this.backoff = BACKOFF_MIN_MS;
    this.retryTimer = 0;
    this.snapTimer = 0;
    this.stopped = false;
    this.snapshots = 0;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.snapTimer);
    if (this.ws) {
      this.ws.onclose = this.ws.onmessage = this.ws.onerror = null;
      try { this.ws.close(1000, 'logout'); } catch (e) { /* already closed */ }
      this.ws = null;
    }
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/v1/state?server=${encodeURIComponent(this.server)}`;
  }

  open() {
    clearTimeout(this.retryTimer);
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.retry('cannot open the state stream');
      return;
    }
    this.ws = ws;
    this.seq = null;
    ws.onopen = () => this.h.onOpen?.(this.server);
    ws.onmessage = (ev) => this.message(ev.data);
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.snapTimer);
      if (this.stopped) return;
      // 4401/4403: amid's "not authorised" close codes (1008: policy).
      if (ev.code === 4401 || ev.code === 4403 || ev.code === 1008) {
        this.h.onAuth?.(this.server, ev.reason || 'the session is no longer valid');
        return;
      }
      this.h.onLost?.(this.server, ev.reason || `closed (${ev.code})`);
      this.retry(ev.reason);
    };
  }

  retry() {
    if (this.stopped) return;
    const d = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.retryTimer = setTimeout(() => this.open(), d);
  }

  // Force a fresh snapshot: reopen the socket.
  resync(why) {
    this.h.onGap?.(this.server, { reason: why });
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = ws.onmessage = ws.onerror = null;
      try { ws.close(1000, 'resync'); } catch (e) { /* closed */ }
    }
    this.backoff = BACKOFF_MIN_MS;
    this.open();
  }

  message(data) {
    let m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      return; // not ours: ignore, never fatal
    }
    if (!m || typeof m !== 'object') return;
    const type = typeof m.type === 'string' ? m.type.toLowerCase() : m.state || m.snapshot ? 'snapshot' : 'change';

    if (type === 'snapshot' || type === 'resync') {
      clearTimeout(this.snapTimer);
      this.seq = typeof m.seq === 'number' ? m.seq : null;
      this.backoff = BACKOFF_MIN_MS;
      this.snapshots++;
      this.h.onSnapshot(this.server, m.state || m.snapshot || m, m, this.snapshots);
      return;
    }
    if (type === 'gap') {
      this.seq = null;
      this.h.onGap?.(this.server, m);
      clearTimeout(this.snapTimer);
      this.snapTimer = setTimeout(() => this.resync('no snapshot after a gap'), SNAPSHOT_WAIT_MS);
      return;
    }
    if (type === 'server' || type === 'status') {
      this.h.onStatus?.(this.server, m.state || m.status, m);
      return;
    }
    if (type === 'change' || type === 'added' || type === 'changed' || type === 'removed') {
      if (typeof m.seq === 'number') {
        if (this.seq !== null && m.seq !== this.seq + 1 && m.seq > this.seq) {
          // A hole amid did not announce: rebuild rather than guess.
          this.resync(`sequence jumped from ${this.seq} to ${m.seq}`);
          return;
        }
        if (this.seq !== null && m.seq <= this.seq) return; // duplicate
        this.seq = m.seq;
      }
      const kind = kindOf(m.kind);
      const change = String(m.change || m.op || (type !== 'change' ? type : '')).toLowerCase();
      if (!kind || !['added', 'changed', 'removed'].includes(change)) return;
      this.h.onChange(this.server, kind, change, m.id, m.object || m.now || null);
    }
  }
}
