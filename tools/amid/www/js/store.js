// The live state of one server, as amid's state stream gives it: a
// snapshot, then one change per message. Kinds and ids are those of
// include/ami/state.h (docs/state.md):
//   channel  Uniqueid            bridge  BridgeUniqueid
//   queue    Queue               member  "Queue/Interface"
//   caller   "Queue/Uniqueid"    parked  "Parkinglot/ParkingSpace"
//   device   Device
// Objects are kept as amid sent them (AMI header names); `seen` is when the
// panel first saw one (its own clock, for durations the PBX did not give).
// Removing an object forgets it: memory follows what is live, nothing else.

export const KINDS = ['channel', 'bridge', 'queue', 'member', 'caller', 'parked', 'device'];

// Plural and singular spellings both map to the kind.
const KIND_ALIASES = {
  channels: 'channel', bridges: 'bridge', queues: 'queue', members: 'member',
  callers: 'caller', entries: 'caller', parked: 'parked', parkedcalls: 'parked',
  devices: 'device',
};

export function kindOf(name) {
  if (typeof name !== 'string') return null;
  const k = name.toLowerCase();
  if (KINDS.includes(k)) return k;
  return KIND_ALIASES[k] || null;
}

export function idOf(kind, o) {
  if (!o || typeof o !== 'object') return null;
  switch (kind) {
    case 'channel': return o.Uniqueid || null;
    case 'bridge': return o.BridgeUniqueid || null;
    case 'queue': return o.Queue || null;
    case 'member': return o.Queue && (o.Interface || o.Location) ? `${o.Queue}/${o.Interface || o.Location}` : null;
    case 'caller': return o.Queue && o.Uniqueid ? `${o.Queue}/${o.Uniqueid}` : null;
    case 'parked': return o.Parkinglot && o.ParkingSpace ? `${o.Parkinglot}/${o.ParkingSpace}` : null;
    case 'device': return o.Device || null;
    default: return null;
  }
}

export class ServerState {
  constructor(name) {
    this.name = name;
    this.maps = {};
    for (const k of KINDS) this.maps[k] = new Map();
    this.calls = new Map(); // Linkedid -> Set of Uniqueid
    this.queueOf = new Map(); // Linkedid -> queue name it came through
    this.synced = false;
    this.generation = 0;
  }

  clear() {
    for (const k of KINDS) this.maps[k].clear();
    this.calls.clear();
    this.queueOf.clear();
    this.synced = false;
  }

  // A whole snapshot: {"channels":[…],"bridges":[…],"queues":[{…,"members":[…],"callers":[…]}],"parked":[…],"devices":[…]}
  // Replaces everything: whatever the snapshot lacks is gone.
  reset(snap, now) {
    const seenBefore = new Map();
    for (const k of KINDS) for (const [id, e] of this.maps[k]) seenBefore.set(`${k}\0${id}`, e.seen);
    this.clear();
    const put = (kind, o) => {
      const id = idOf(kind, o);
      if (id === null) return;
      this.set(kind, id, o, seenBefore.get(`${kind}\0${id}`) ?? now, now);
    };
    const list = (v) => (Array.isArray(v) ? v : []);
    for (const c of list(snap.channels)) put('channel', c);
    for (const b of list(snap.bridges)) put('bridge', b);
    for (const q of list(snap.queues)) {
      const { members, callers, ...params } = q;
      put('queue', params);
      for (const m of list(members)) put('member', { Queue: q.Queue, ...m });
      for (const c of list(callers)) put('caller', { Queue: q.Queue, ...c });
    }
    for (const p of list(snap.parked)) put('parked', p);
    for (const d of list(snap.devices)) put('device', d);
    // Members and callers may also come flat.
    for (const m of list(snap.members)) put('member', m);
    for (const c of list(snap.callers)) put('caller', c);
    this.synced = true;
    this.generation++;
  }

  get(kind, id) {
    const e = this.maps[kind].get(id);
    return e ? e.o : undefined;
  }

  entry(kind, id) {
    return this.maps[kind].get(id);
  }

  // Returns what the change touched, for the views: {calls:Set, queues:Set, parked:bool}.
  set(kind, id, o, seen, now) {
    const map = this.maps[kind];
    const prev = map.get(id);
    const e = { o, seen: prev ? prev.seen : seen ?? now, at: now };
    map.set(id, e);
    if (kind === 'channel') {
      const oldL = prev && linkedOf(prev.o);
      const newL = linkedOf(o);
      if (oldL && oldL !== newL) this.unlink(oldL, id);
      if (newL) {
        let s = this.calls.get(newL);
        if (!s) this.calls.set(newL, (s = new Set()));
        s.add(id);
        const q = queueFromApp(o);
        if (q) this.queueOf.set(newL, q);
      }
    } else if (kind === 'caller') {
      // The queue a call came through: remembered for the call's life.
      const ch = this.get('channel', o.Uniqueid);
      const l = (ch && linkedOf(ch)) || o.Linkedid || o.Uniqueid;
      if (l && o.Queue) this.queueOf.set(l, o.Queue);
    }
    return prev;
  }

  remove(kind, id) {
    const map = this.maps[kind];
    const prev = map.get(id);
    if (!prev) return undefined;
    map.delete(id);
    if (kind === 'channel') {
      const l = linkedOf(prev.o);
      if (l) this.unlink(l, id);
    }
    return prev;
  }

  unlink(linkedid, uniqueid) {
    const s = this.calls.get(linkedid);
    if (!s) return;
    s.delete(uniqueid);
    if (s.size === 0) {
      this.calls.delete(linkedid);
      this.queueOf.delete(linkedid);
    }
  }

  // Channels of one call, the originating one (Uniqueid == Linkedid) first.
  callChannels(linkedid) {
    const s = this.calls.get(linkedid);
    if (!s) return [];
    const out = [];
    for (const u of s) {
      const e = this.maps.channel.get(u);
      if (e) out.push(e);
    }
    out.sort((a, b) => {
      if (a.o.Uniqueid === linkedid) return -1;
      if (b.o.Uniqueid === linkedid) return 1;
      return a.seen - b.seen || cmp(a.o.Uniqueid, b.o.Uniqueid);
    });
    return out;
  }

  parkedByUniqueid(uniqueid) {
    for (const e of this.maps.parked.values()) if (e.o.ParkeeUniqueid === uniqueid) return e;
    return undefined;
  }

  size() {
    let n = 0;
    for (const k of KINDS) n += this.maps[k].size;
    return n;
  }
}

function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function linkedOf(ch) {
  return (ch && (ch.Linkedid || ch.Uniqueid)) || null;
}

function queueFromApp(ch) {
  if (!ch || typeof ch.Application !== 'string' || ch.Application.toLowerCase() !== 'queue') return null;
  const data = ch.ApplicationData ?? ch.AppData ?? '';
  const q = String(data).split(',')[0].trim();
  return q || null;
}
