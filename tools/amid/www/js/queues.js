// Queues: per server and queue, its figures, its members and the callers
// waiting. Each queue is one <article>; members and callers are keyed rows.

import { h, setCells } from './dom.js';
import { party, clean, clock, epochSeconds, memberStatus, startOf, truthy, duration } from './format.js';

export class QueuesView {
  constructor(app) {
    this.app = app;
    this.body = document.getElementById('queues-body');
    this.empty = document.getElementById('queues-empty');
    this.cards = new Map(); // "server\0queue" -> card
  }

  rebuild(server, st) {
    const names = this.queueNames(st);
    for (const [k, c] of this.cards) {
      if (c.server === server && !names.has(c.queue)) {
        c.el.remove();
        this.cards.delete(k);
      }
    }
    for (const q of names) this.update(server, st, q);
    this.summary();
  }

  drop(server) {
    for (const [k, c] of this.cards) {
      if (c.server === server) {
        c.el.remove();
        this.cards.delete(k);
      }
    }
    this.summary();
  }

  queueNames(st) {
    const s = new Set(st.maps.queue.keys());
    for (const e of st.maps.member.values()) if (e.o.Queue) s.add(e.o.Queue);
    for (const e of st.maps.caller.values()) if (e.o.Queue) s.add(e.o.Queue);
    return s;
  }

  update(server, st, queue) {
    const k = `${server}\0${queue}`;
    const members = [...st.maps.member.values()].filter((e) => e.o.Queue === queue);
    const callers = [...st.maps.caller.values()].filter((e) => e.o.Queue === queue);
    const params = st.entry('queue', queue);
    let c = this.cards.get(k);
    if (!params && members.length === 0 && callers.length === 0) {
      if (c) {
        c.el.remove();
        this.cards.delete(k);
        this.summary();
      }
      return;
    }
    if (!c) {
      c = this.card(server, queue);
      this.cards.set(k, c);
      // Keep queues in name order: a wall screen should not reshuffle.
      const after = [...this.body.children].find((el) => el.dataset.sort > c.el.dataset.sort);
      this.body.insertBefore(c.el, after || null);
      this.summary();
    }
    this.figures(c, params ? params.o : {}, members, callers);
    this.fillRows(c.members, c.memberRows, members, (tr, e) => this.memberRow(tr, server, queue, e));
    callers.sort((x, y) => Number(x.o.Position) - Number(y.o.Position));
    this.fillRows(c.callers, c.callerRows, callers, (tr, e) => this.callerRow(tr, e));
    c.callersEmpty.hidden = callers.length > 0;
    c.addBtn.hidden = !this.app.perms.may('QueueAdd');
  }

  card(server, queue) {
    const id = `q-${server}-${queue}`.replace(/[^A-Za-z0-9_-]/g, '_');
    const figures = h('dl', { class: 'figures' });
    const members = h('tbody');
    const callers = h('tbody');
    const addBtn = h('button', {
      type: 'button',
      'aria-label': `Add a member to queue ${queue}`,
      onclick: () => this.app.addMember(server, queue),
    }, 'Add member');
    const callersEmpty = h('p', { class: 'empty' }, 'Nobody waiting.');
    const el = h('article', { class: 'queue', 'aria-labelledby': `${id}-h`, dataset: { server, queue, sort: `${queue}\0${server}` } },
      h('h3', { id: `${id}-h` }, queue, h('span', { class: 'server-tag' }, ` on ${server}`)),
      figures,
      h('table', { class: 'members' },
        h('caption', {}, `Members of ${queue}`),
        h('thead', {}, h('tr', {},
          ...['Member', 'Interface', 'Status', 'Paused', 'Calls taken', 'Last call', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        members),
      addBtn,
      h('table', { class: 'callers' },
        h('caption', {}, `Callers waiting in ${queue}`),
        h('thead', {}, h('tr', {},
          ...['Position', 'Caller', 'Waiting'].map((t) => h('th', { scope: 'col' }, t)))),
        callers),
      callersEmpty);
    return { server, queue, el, figures, members, callers, memberRows: new Map(), callerRows: new Map(), addBtn, callersEmpty };
  }

  fillRows(tbody, rows, entries, fill) {
    const live = new Set();
    let prev = null;
    for (const e of entries) {
      const id = e.o.Interface || e.o.Location || e.o.Uniqueid;
      live.add(id);
      let tr = rows.get(id);
      if (!tr) {
        tr = h('tr');
        rows.set(id, tr);
      }
      fill(tr, e);
      // Keep the order of `entries` (position for callers).
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== tr) tbody.insertBefore(tr, want);
      prev = tr;
    }
    for (const [id, tr] of rows) {
      if (!live.has(id)) {
        tr.remove();
        rows.delete(id);
      }
    }
  }

  memberRow(tr, server, queue, e) {
    const m = e.o;
    const iface = m.Interface || m.Location || '';
    const name = clean(m.MemberName || m.Name) || iface;
    const status = memberStatus(m);
    const paused = truthy(m.Paused);
    const since = epochSeconds(m.LastPause);
    const reason = clean(m.PausedReason);
    tr.className = `member status-${status.replace(/ /g, '-')}${paused ? ' paused' : ''}`;
    tr.dataset.interface = iface;
    const pausedCell = paused
      ? { nodes: [`paused${reason ? `: ${reason}` : ''}`, since ? h('span', { class: 'since' }, ' for ', h('span', { 'data-t0': String(since * 1000) }, duration(Date.now() - since * 1000))) : null],
          key: `p:${reason}:${since}` }
      : { text: 'no' };
    const acts = this.app.memberActions(server, queue, iface, name, paused);
    setCells(tr, [
      { text: name, th: true },
      { text: iface },
      { text: status, class: 'status' },
      pausedCell,
      { text: String(Number(m.CallsTaken) || 0), class: 'num' },
      { text: clock(epochSeconds(m.LastCall)) },
      { nodes: acts.nodes, key: `a:${acts.key}`, class: 'acts' },
    ]);
  }

  callerRow(tr, e) {
    const c = e.o;
    const who = party(c.CallerIDNum, c.CallerIDName);
    const t0 = Math.round(startOf(c, e.seen, e.at, ['joined', 'Joined']));
    tr.dataset.uniqueid = c.Uniqueid || '';
    setCells(tr, [
      { text: String(c.Position ?? ''), class: 'num', th: true },
      { text: who.text },
      { text: '', t0, key: `t0:${t0}`, class: 'num' },
    ]);
  }

  // QueueParams figures from the state, and QueueSummary's (logged in,
  // available, callers, longest wait) counted from the live members and
  // callers, so they change exactly when the state does.
  figures(c, p, members, callers) {
    const loggedIn = members.filter((e) => memberStatus(e.o) !== 'unavailable').length;
    const available = members.filter((e) => memberStatus(e.o) === 'free' && !truthy(e.o.Paused)).length;
    let longest = null;
    for (const e of callers) {
      const t0 = startOf(e.o, e.seen, e.at, ['joined', 'Joined']);
      if (longest === null || t0 < longest) longest = t0;
    }
    const fig = [
      ['Strategy', clean(p.Strategy)],
      ['Waiting', String(callers.length)],
      ['Logged in', String(loggedIn)],
      ['Available', String(available)],
      ['Longest wait', null, longest],
      ['Hold time', p.Holdtime !== undefined ? `${Number(p.Holdtime) || 0} s` : ''],
      ['Talk time', p.TalkTime !== undefined ? `${Number(p.TalkTime) || 0} s` : ''],
      ['Completed', clean(p.Completed)],
      ['Abandoned', clean(p.Abandoned)],
      ['Service level', p.ServicelevelPerf !== undefined ? `${clean(p.ServicelevelPerf)} %${Number(p.ServiceLevel) ? ` within ${p.ServiceLevel} s` : ''}` : ''],
    ];
    const key = JSON.stringify(fig);
    if (c.figures.dataset.key === key) return;
    c.figures.dataset.key = key;
    // One <div> per term and value (allowed in a <dl>), so they wrap as pairs.
    c.figures.replaceChildren(...fig.filter(([, v, t]) => v || t !== undefined).map(([k, v, t]) => h('div', {},
      h('dt', {}, k),
      t !== undefined
        ? h('dd', t === null ? {} : { 'data-t0': String(Math.round(t)) }, t === null ? '—' : duration(Date.now() - t))
        : h('dd', {}, v))));
  }

  summary() {
    this.empty.hidden = this.cards.size > 0;
  }
}
