// The operator panel: log in, open one state stream per server the token
// may see, keep a store per server, and render what changed — nothing is
// polled. Text from the PBX is always set as text, never parsed as HTML.

import * as api from './api.js';
import { ServerState, linkedOf, idOf } from './store.js';
import { StateStream } from './stream.js';
import { Perms } from './perms.js';
import { CallsView } from './calls.js';
import { QueuesView } from './queues.js';
import { ParkedView } from './parked.js';
import { h } from './dom.js';
import { duration } from './format.js';

const MAX_NOTICES = 6;
const MAX_ERRORS = 4;

const $ = (id) => document.getElementById(id);

class App {
  constructor() {
    this.states = new Map(); // server -> ServerState
    this.streams = new Map(); // server -> StateStream
    this.status = new Map(); // server -> {state, note}
    this.dirty = new Map(); // server -> {calls:Set, queues:Set, parked:Set}
    this.flushScheduled = false;
    this.perms = new Perms(null, []);
    this.calls = new CallsView(this);
    this.queues = new QueuesView(this);
    this.parked = new ParkedView(this);
    this.tick = 0;
    // Counters a test or a curious operator can read (window.panel.stats).
    this.stats = { snapshots: 0, changes: 0, gaps: 0, renders: 0 };
  }

  async boot() {
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.login();
    });
    $('logout').addEventListener('click', () => this.logout());
    $('dial-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.dial(ev.target);
    });
    try {
      const info = await api.session();
      if (info) return this.start(info);
    } catch (e) {
      if (e.status !== 401) this.loginError(e.message);
    }
    this.showLogin();
  }

  showLogin() {
    this.stopAll();
    $('panel').hidden = true;
    $('who').hidden = true;
    $('login').hidden = false;
    $('servers').replaceChildren();
    $('token').focus();
  }

  loginError(msg) {
    $('login-error').textContent = msg || '';
  }

  async login() {
    const input = $('token');
    const token = input.value.trim();
    input.value = ''; // never left in the page
    this.loginError('');
    if (!token) {
      this.loginError('Enter a token.');
      return;
    }
    try {
      const res = await api.login(token);
      let info = null;
      try {
        info = await api.session();
      } catch (e) {
        info = null;
      }
      await this.start(info || (res && typeof res === 'object' && Object.keys(res).length ? res : null));
    } catch (e) {
      this.loginError(e.status === 401 ? 'That token is not valid.' : e.message);
      input.focus();
    }
  }

  async logout() {
    try {
      await api.logout();
    } catch (e) {
      /* the cookie is dropped by amid; nothing else to do here */
    }
    this.showLogin();
  }

  async start(info) {
    let list = [];
    try {
      list = (await api.servers()) || [];
    } catch (e) {
      if (e.status === 401) return this.showLogin();
      this.error(e.message);
    }
    if (!Array.isArray(list)) list = Array.isArray(list.servers) ? list.servers : [];
    const names = list.map((s) => (typeof s === 'string' ? s : s.name)).filter(Boolean);
    this.perms = new Perms(info, names);
    $('login').hidden = true;
    $('panel').hidden = false;
    $('who').hidden = false;
    $('who-name').textContent = this.perms.name ? `Token: ${this.perms.name}` : 'Logged in';
    this.serverList = list.filter((s) => this.perms.mayServer(typeof s === 'string' ? s : s.name));
    for (const s of this.serverList) {
      const name = typeof s === 'string' ? s : s.name;
      this.status.set(name, { state: (s && s.state) || 'connecting', note: '' });
      const st = new ServerState(name);
      this.states.set(name, st);
      const stream = new StateStream(name, this.handlers());
      this.streams.set(name, stream);
      stream.start();
    }
    this.renderServers();
    this.renderAccess();
    this.renderDialForm();
    this.startTicking();
  }

  stopAll() {
    for (const s of this.streams.values()) s.stop();
    for (const name of this.states.keys()) {
      this.calls.drop(name);
      this.queues.drop(name);
      this.parked.drop(name);
    }
    this.streams.clear();
    this.states.clear();
    this.status.clear();
    this.dirty.clear();
    clearInterval(this.tick);
    this.tick = 0;
  }

  handlers() {
    return {
      onOpen: (server) => this.setStatus(server, undefined, ''),
      onSnapshot: (server, snap, msg, n) => this.snapshot(server, snap, msg, n),
      onChange: (server, kind, change, id, obj) => this.change(server, kind, change, id, obj),
      onGap: (server, m) => this.gap(server, m),
      onStatus: (server, state, m) => this.serverStatus(server, state, m),
      onLost: (server, why) => {
        this.setStatus(server, 'connecting', 'connection to amid lost, reconnecting');
        this.notice(`${server}: connection to amid lost (${why}); reconnecting`, 'gap');
        // amid refuses an expired session's WebSocket with an HTTP 401,
        // which a page cannot read: ask once per loss whether we are
        // still logged in.
        api.session().catch((e) => {
          if (e.status === 401 && this.streams.size) {
            this.error('The session has ended — log in again');
            this.showLogin();
          }
        });
      },
      onAuth: (server, why) => {
        this.error(`Logged out: ${why}`);
        this.showLogin();
      },
    };
  }

  // ------------------------------------------------------------ the stream

  snapshot(server, snap, msg, n) {
    const st = this.states.get(server);
    if (!st) return;
    st.reset(snap || {}, Date.now());
    this.dirty.delete(server);
    this.stats.snapshots++;
    // A snapshot is the live state of a connected PBX, unless amid says
    // otherwise (a snapshot taken while it is down is empty).
    // amid's `synced: false`: the store has not caught up with its PBX yet.
    this.setStatus(server, (msg && (msg.server_state || (msg.synced === false ? 'connecting' : null))) || 'up', '');
    this.calls.rebuild(server, st);
    this.queues.rebuild(server, st);
    this.parked.rebuild(server, st);
    if (n > 1 || st.generation > 1) this.notice(`${server}: state rebuilt from a fresh snapshot`, 'resync');
    document.body.dataset.synced = String(this.stats.snapshots);
  }

  change(server, kind, change, id, obj) {
    const st = this.states.get(server);
    if (!st) return;
    this.stats.changes++;
    const d = this.dirtyOf(server);
    const now = Date.now();
    let prev;
    let cur;
    if (change === 'removed') {
      prev = st.remove(kind, id ?? idFrom(kind, obj));
    } else {
      const oid = id ?? idFrom(kind, obj);
      if (oid === null || oid === undefined || !obj) return;
      prev = st.set(kind, oid, obj, now, now);
      cur = obj;
    }
    const objs = [prev && prev.o, cur].filter(Boolean);
    switch (kind) {
      case 'channel':
        for (const o of objs) d.calls.add(linkedOf(o));
        break;
      case 'bridge': {
        const b = objs.map((o) => o.BridgeUniqueid).find(Boolean);
        if (b) for (const e of st.maps.channel.values()) if (e.o.BridgeId === b) d.calls.add(linkedOf(e.o));
        break;
      }
      case 'queue':
      case 'member':
        for (const o of objs) if (o.Queue) d.queues.add(o.Queue);
        if (kind === 'queue' && id) d.queues.add(id);
        break;
      case 'caller':
        for (const o of objs) {
          if (o.Queue) d.queues.add(o.Queue);
          const ch = st.get('channel', o.Uniqueid);
          if (ch) d.calls.add(linkedOf(ch));
        }
        break;
      case 'parked':
        d.parked.add(id ?? idFrom(kind, obj));
        for (const o of objs) {
          const ch = st.get('channel', o.ParkeeUniqueid);
          if (ch) d.calls.add(linkedOf(ch));
        }
        break;
      default:
        break;
    }
    this.scheduleFlush();
  }

  gap(server, m) {
    this.stats.gaps++;
    const range = m && (m.from !== undefined || m.to !== undefined) ? ` (events ${m.from ?? '?'}–${m.to ?? '?'} lost)` : '';
    const why = m && m.reason ? `: ${m.reason}` : '';
    this.notice(`${server}: gap in the event stream${range}${why}; rebuilding from a fresh snapshot`, 'gap');
    this.setStatus(server, undefined, 'resyncing');
  }

  serverStatus(server, state, m) {
    if (!state) return;
    const prev = this.status.get(server)?.state;
    this.setStatus(server, state, '');
    if (state !== 'up' && prev === 'up') {
      // The PBX is gone: what it had is unknown now, so it is not shown.
      const st = this.states.get(server);
      if (st) st.clear();
      this.calls.drop(server);
      this.queues.drop(server);
      this.parked.drop(server);
      this.notice(`${server}: PBX ${state}${m && m.reason ? ` (${m.reason})` : ''}; its calls are hidden until it is back`, 'down');
    } else if (state === 'up' && prev && prev !== 'up') {
      this.notice(`${server}: PBX connected again`, 'up');
    }
  }

  dirtyOf(server) {
    let d = this.dirty.get(server);
    if (!d) this.dirty.set(server, (d = { calls: new Set(), queues: new Set(), parked: new Set() }));
    return d;
  }

  // Render at the next frame, or within 50 ms when frames do not come (a
  // hidden tab): a burst of changes costs one layout, and one change shows
  // well within the 200 ms the panel promises.
  scheduleFlush() {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const run = () => {
      if (!this.flushScheduled) return;
      this.flushScheduled = false;
      cancelAnimationFrame(raf);
      clearTimeout(to);
      this.flush();
    };
    const raf = requestAnimationFrame(run);
    const to = setTimeout(run, 50);
  }

  flush() {
    this.stats.renders++;
    for (const [server, d] of this.dirty) {
      const st = this.states.get(server);
      if (!st) continue;
      for (const l of d.calls) if (l) this.calls.update(server, st, l);
      for (const q of d.queues) this.queues.update(server, st, q);
      for (const p of d.parked) if (p) this.parked.update(server, st, p);
    }
    this.dirty.clear();
    this.calls.summary();
  }

  // ------------------------------------------------------------ rendering

  setStatus(server, state, note) {
    const s = this.status.get(server) || { state: 'connecting', note: '' };
    if (state !== undefined) s.state = state;
    if (note !== undefined) s.note = note;
    this.status.set(server, s);
    this.renderServers();
  }

  renderServers() {
    const ul = $('servers');
    const items = [...this.status].map(([name, s]) => {
      const text = `${name}: ${s.state === 'up' ? 'connected' : s.state === 'down' ? 'not connected' : s.state}${s.note ? ` — ${s.note}` : ''}`;
      return h('li', { class: `server server-${s.state}`, dataset: { server: name, state: s.state } }, text);
    });
    ul.replaceChildren(...items);
  }

  renderAccess() {
    const p = this.perms;
    const dl = $('access-body');
    const row = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
    const all = (l) => (!l ? 'not told by amid' : l.includes('*') ? 'all' : l.length ? l.join(', ') : 'none');
    dl.replaceChildren(
      ...row('Token', p.name || '(unnamed)'),
      ...row('Servers', all(p.servers)),
      ...row('Actions', all(p.actions)),
      ...row('Originate into', p.anyContext() ? 'any context' : p.contexts.length ? p.contexts.join(', ') : 'no context'),
      ...row('Channels', p.channels ? all(p.channels) : 'any'),
      ...row('Events', all(p.events)),
      ...(p.known ? [] : row('Note', 'amid did not report this token’s permissions: every control is shown and amid refuses what the token may not do')),
    );
  }

  renderDialForm() {
    const contexts = this.perms.originateContexts();
    const any = this.perms.anyContext();
    const ok = this.perms.may('Originate') && (contexts.length > 0 || any);
    $('dial').hidden = !ok;
    $('nav-dial').hidden = !ok;
    if (!ok) return;
    const f = $('dial-form');
    f.elements.server.replaceChildren(...[...this.states.keys()].map((n) => h('option', { value: n }, n)));
    // The token's contexts to choose from, or any context typed in.
    const old = f.elements.context;
    const field = any
      ? h('input', { name: 'context', required: true, spellcheck: 'false', value: contexts[0] || '' })
      : h('select', { name: 'context', required: true }, ...contexts.map((c) => h('option', { value: c }, c)));
    old.replaceWith(field);
  }

  startTicking() {
    clearInterval(this.tick);
    const run = () => {
      const now = Date.now();
      for (const el of document.querySelectorAll('[data-t0]')) el.textContent = duration(now - Number(el.dataset.t0));
      for (const el of document.querySelectorAll('[data-until]')) {
        const left = Number(el.dataset.until) - now;
        el.textContent = left > 0 ? duration(left) : 'timed out';
      }
    };
    run();
    this.tick = setInterval(run, 1000);
  }

  notice(text, kind) {
    const box = $('notices');
    const t = new Date().toLocaleTimeString(undefined, { hour12: false });
    box.prepend(h('p', { class: `notice notice-${kind}`, dataset: { kind } }, `${t} ${text}`));
    while (box.children.length > MAX_NOTICES) box.lastChild.remove();
  }

  error(text) {
    const box = $('errors');
    const p = h('p', { class: 'error' }, text, ' ',
      h('button', { type: 'button', class: 'dismiss', 'aria-label': `Dismiss: ${text}`, onclick: () => p.remove() }, 'Dismiss'));
    box.prepend(p);
    while (box.children.length > MAX_ERRORS) box.lastChild.remove();
  }

  // -------------------------------------------------------------- actions

  async run(server, headers, button) {
    if (button) button.disabled = true;
    try {
      await api.action(server, headers);
      return true;
    } catch (e) {
      if (e.status === 401) {
        this.error(e.message);
        this.showLogin();
      } else {
        this.error(`${headers.Action} on ${server}: ${e.message}`);
      }
      return false;
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  }

  // The buttons of one call row, and a key that changes when they would.
  callActions(server, channel, label) {
    const p = this.perms;
    const okCh = !!channel && p.mayChannel(channel);
    const can = {
      hangup: okCh && p.may('Hangup'),
      transfer: okCh && p.may('BlindTransfer'),
      park: okCh && p.may('Park'),
    };
    const nodes = [];
    if (can.hangup)
      nodes.push(h('button', { type: 'button', class: 'danger', 'data-act': 'hangup', 'aria-label': `Hang up ${label}`,
        onclick: (ev) => this.run(server, { Action: 'Hangup', Channel: channel }, ev.currentTarget) }, 'Hang up'));
    if (can.transfer)
      nodes.push(h('button', { type: 'button', 'data-act': 'transfer', 'aria-label': `Transfer ${label}`,
        onclick: (ev) => this.transfer(server, channel, label, ev.currentTarget) }, 'Transfer'));
    if (can.park)
      nodes.push(h('button', { type: 'button', 'data-act': 'park', 'aria-label': `Park ${label}`,
        onclick: (ev) => this.run(server, { Action: 'Park', Channel: channel }, ev.currentTarget) }, 'Park'));
    return { nodes, key: `${channel}|${label}|${can.hangup}${can.transfer}${can.park}` };
  }

  memberActions(server, queue, iface, name, paused) {
    const p = this.perms;
    const nodes = [];
    const who = `${name} in ${queue}`;
    if (p.may('QueuePause')) {
      if (paused)
        nodes.push(h('button', { type: 'button', 'data-act': 'unpause', 'aria-label': `Unpause ${who}`,
          onclick: (ev) => this.run(server, { Action: 'QueuePause', Queue: queue, Interface: iface, Paused: 'false' }, ev.currentTarget) }, 'Unpause'));
      else
        nodes.push(h('button', { type: 'button', 'data-act': 'pause', 'aria-label': `Pause ${who}`,
          onclick: (ev) => this.pause(server, queue, iface, who, ev.currentTarget) }, 'Pause'));
    }
    if (p.may('QueueRemove'))
      nodes.push(h('button', { type: 'button', class: 'danger', 'data-act': 'remove', 'aria-label': `Remove ${who}`,
        onclick: (ev) => this.run(server, { Action: 'QueueRemove', Queue: queue, Interface: iface }, ev.currentTarget) }, 'Remove'));
    return { nodes, key: `${iface}|${paused}|${p.may('QueuePause')}${p.may('QueueRemove')}` };
  }

  async transfer(server, channel, label, button) {
    const contexts = this.perms.originateContexts();
    const v = await this.ask(`Transfer ${label}`, [
      { name: 'exten', label: 'Extension', required: true },
      contexts.length && !this.perms.anyContext()
        ? { name: 'context', label: 'Context', options: contexts }
        : { name: 'context', label: 'Context', required: true, value: contexts[0] || '' },
    ]);
    if (!v) return;
    await this.run(server, { Action: 'BlindTransfer', Channel: channel, Context: v.context, Exten: v.exten }, button);
  }

  async pause(server, queue, iface, who, button) {
    const v = await this.ask(`Pause ${who}`, [{ name: 'reason', label: 'Reason' }]);
    if (!v) return;
    const a = { Action: 'QueuePause', Queue: queue, Interface: iface, Paused: 'true' };
    if (v.reason) a.Reason = v.reason;
    await this.run(server, a, button);
  }

  async addMember(server, queue) {
    const v = await this.ask(`Add a member to ${queue}`, [
      { name: 'iface', label: 'Interface', required: true, placeholder: 'PJSIP/201' },
      { name: 'name', label: 'Name' },
      { name: 'penalty', label: 'Penalty', type: 'number', value: '0' },
      { name: 'paused', label: 'Paused', type: 'checkbox' },
    ]);
    if (!v) return;
    const a = { Action: 'QueueAdd', Queue: queue, Interface: v.iface, Penalty: String(Number(v.penalty) || 0) };
    if (v.name) a.MemberName = v.name;
    if (v.paused) a.Paused = 'true';
    await this.run(server, a);
  }

  async dial(form) {
    const server = form.elements.server.value;
    const from = form.elements.from.value.trim();
    const exten = form.elements.exten.value.trim();
    const context = form.elements.context.value;
    if (!from || !exten) return;
    // A number rings through the token's context; a channel is used as is.
    const channel = from.includes('/') ? from : `Local/${from}@${context}`;
    const ok = await this.run(server, {
      Action: 'Originate', Channel: channel, Context: context, Exten: exten, Priority: '1', Async: 'true',
    }, form.querySelector('button[type=submit]'));
    if (ok) this.notice(`${server}: calling ${from} → ${exten}`, 'action');
  }

  // A small modal form; resolves with the values, or null when cancelled.
  ask(title, fields) {
    const dlg = $('ask');
    $('ask-h').textContent = title;
    const box = $('ask-fields');
    box.replaceChildren(...fields.map((f, i) => {
      const id = `ask-${i}`;
      let input;
      if (f.options) {
        input = h('select', { id, name: f.name }, ...f.options.map((o) => h('option', { value: o }, o)));
      } else {
        input = h('input', { id, name: f.name, type: f.type || 'text', required: f.required || null,
          placeholder: f.placeholder || null, value: f.value ?? null, spellcheck: 'false' });
      }
      return h('div', { class: f.type === 'checkbox' ? 'field check' : 'field' }, h('label', { for: id }, f.label), input);
    }));
    return new Promise((resolve) => {
      const close = () => {
        dlg.removeEventListener('close', close);
        if (dlg.returnValue !== 'ok') return resolve(null);
        const out = {};
        for (const f of fields) {
          const el = box.querySelector(`[name="${f.name}"]`);
          out[f.name] = f.type === 'checkbox' ? el.checked : el.value.trim();
        }
        resolve(out);
      };
      dlg.returnValue = '';
      dlg.addEventListener('close', close);
      dlg.showModal();
      box.querySelector('input, select')?.focus();
    });
  }
}

function idFrom(kind, obj) {
  return idOf(kind, obj);
}

const app = new App();
window.panel = app;
app.boot();
