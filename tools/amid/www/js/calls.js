// The calls table: one row per call (channels grouped by Linkedid) per
// server, keyed so that a change rewrites only its own row.

import { h, setCells } from './dom.js';
import { party, clean, startOf, truthy } from './format.js';

export class CallsView {
  constructor(app) {
    this.app = app;
    this.body = document.getElementById('calls-body');
    this.count = document.getElementById('calls-count');
    this.empty = document.getElementById('calls-empty');
    this.rows = new Map(); // "server\0linkedid" -> tr
  }

  key(server, linkedid) {
    return `${server}\0${linkedid}`;
  }

  // Rebuild one server's rows from its store (after a snapshot).
  rebuild(server, st) {
    for (const [k, tr] of this.rows) {
      if (tr.dataset.server === server && !st.calls.has(tr.dataset.linkedid)) {
        tr.remove();
        this.rows.delete(k);
      }
    }
    for (const l of st.calls.keys()) this.update(server, st, l);
    this.summary();
  }

  drop(server) {
    for (const [k, tr] of this.rows) {
      if (tr.dataset.server === server) {
        tr.remove();
        this.rows.delete(k);
      }
    }
    this.summary();
  }

  update(server, st, linkedid) {
    const k = this.key(server, linkedid);
    const chans = st.callChannels(linkedid);
    let tr = this.rows.get(k);
    if (chans.length === 0) {
      if (tr) {
        tr.remove();
        this.rows.delete(k);
      }
      return;
    }
    if (!tr) {
      tr = h('tr', { class: 'call', dataset: { server, linkedid } });
      this.rows.set(k, tr);
      this.body.append(tr);
    }
    this.fill(tr, server, st, linkedid, chans);
  }

  fill(tr, server, st, linkedid, chans) {
    const a = chans[0].o;
    const b = chans.find((e) => e !== chans[0] && clean(e.o.CallerIDNum) && e.o.CallerIDNum !== a.CallerIDNum)?.o;
    const caller = party(a.CallerIDNum, a.CallerIDName);
    let conn = party(a.ConnectedLineNum, a.ConnectedLineName);
    // The connected line repeats the caller until the far end answers (and
    // always on a Local pair): then the other party is the far channel's
    // caller id, or else the extension the call went to.
    if (!conn.num || conn.num === caller.num) {
      if (b) conn = party(b.CallerIDNum, b.CallerIDName);
      else if (clean(a.Exten)) conn = party(a.Exten, '');
    }

    const up = chans.some((e) => e.o.ChannelStateDesc === 'Up' || e.o.ChannelState === '6');
    const state = up ? 'Up' : clean(a.ChannelStateDesc) || clean(a.ChannelState) || '?';
    const t0 = Math.round(startOf(a, chans[0].seen, chans[0].at, ['answered', 'created', 'CreatedTime', 'Created']));
    const bridge = chans.map((e) => clean(e.o.BridgeId || e.o.BridgeUniqueid)).find(Boolean) || '';
    const queue = st.queueOf.get(linkedid) || '';
    const hold = chans.some((e) => isOnHold(e.o));
    const parked = chans.map((e) => st.parkedByUniqueid(e.o.Uniqueid)).find(Boolean);
    const holdText = parked ? `parked ${parked.o.ParkingSpace || ''}`.trim() : hold ? 'on hold' : '';
    const names = chans.map((e) => e.o.Channel).filter(Boolean);
    tr.dataset.channels = names.join(' ');
    tr.dataset.caller = caller.num;
    tr.dataset.connected = conn.num;

    const label = `call from ${caller.text} to ${conn.text}`;
    const acts = this.app.callActions(server, a.Channel, label);
    setCells(tr, [
      { text: server },
      { text: caller.text, class: 'party', th: true },
      { text: conn.text, class: 'party' },
      { text: state, class: `state state-${state.toLowerCase().replace(/[^a-z]/g, '')}` },
      { text: '', t0, key: `t0:${t0}`, class: 'num' },
      { text: bridge ? shortId(bridge) : '', key: `b:${bridge}` },
      { text: queue },
      { text: holdText, class: holdText ? 'flag' : '' },
      { nodes: acts.nodes, key: `a:${acts.key}`, class: 'acts' },
    ]);
    const bcell = tr.cells[5];
    if (bridge) bcell.title = bridge;
  }

  summary() {
    const n = this.rows.size;
    this.count.textContent = n ? `(${n})` : '';
    this.empty.hidden = n > 0;
  }
}

// docs/state.md: `OnHold: Yes` between Hold and Unhold, `MusicOnHold: CLASS`
// while hold music plays.
function isOnHold(ch) {
  return truthy(ch.OnHold) || !!clean(ch.MusicOnHold);
}

function shortId(id) {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}
