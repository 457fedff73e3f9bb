// Parked calls: space, lot, who, time parked and time left. ParkedCall
// carries ParkingDuration (seconds parked) and ParkingTimeout (seconds
// left) as of the event; the times tick from there.

import { h, setCells } from './dom.js';
import { party, elapsedSeconds } from './format.js';

export class ParkedView {
  constructor(app) {
    this.app = app;
    this.body = document.getElementById('parked-body');
    this.count = document.getElementById('parked-count');
    this.empty = document.getElementById('parked-empty');
    this.rows = new Map();
  }

  rebuild(server, st) {
    for (const [k, tr] of this.rows) {
      if (tr.dataset.server === server && !st.maps.parked.has(tr.dataset.id)) {
        tr.remove();
        this.rows.delete(k);
      }
    }
    for (const id of st.maps.parked.keys()) this.update(server, st, id);
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

  update(server, st, id) {
    const k = `${server}\0${id}`;
    const e = st.entry('parked', id);
    let tr = this.rows.get(k);
    if (!e) {
      if (tr) {
        tr.remove();
        this.rows.delete(k);
        this.summary();
      }
      return;
    }
    if (!tr) {
      tr = h('tr', { class: 'parked-call', dataset: { server, id } });
      this.rows.set(k, tr);
      this.body.append(tr);
      this.summary();
    }
    const p = e.o;
    const who = party(p.ParkeeCallerIDNum, p.ParkeeCallerIDName);
    const parkedFor = elapsedSeconds(p.ParkingDuration);
    const left = elapsedSeconds(p.ParkingTimeout);
    const t0 = Math.round(parkedFor !== null ? e.at - parkedFor * 1000 : e.seen);
    const until = left !== null ? Math.round(e.at + left * 1000) : undefined;
    setCells(tr, [
      { text: server },
      { text: String(p.ParkingSpace ?? ''), th: true, class: 'num' },
      { text: String(p.Parkinglot ?? '') },
      { text: who.text, class: 'party' },
      { text: '', t0, key: `t0:${t0}`, class: 'num' },
      until !== undefined ? { text: '', until, key: `u:${until}`, class: 'num' } : { text: 'no timeout' },
    ]);
  }

  summary() {
    const n = this.rows.size;
    this.count.textContent = n ? `(${n})` : '';
    this.empty.hidden = n > 0;
  }
}
