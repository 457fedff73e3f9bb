// The operator panel in headless Debian chromium against the real amid
// (tools/amid: REST, session cookie, WS /v1/state) in front of ami-sim.
// Every wait is bounded; a failing test leaves a screenshot in
// $PANEL_ARTIFACTS (default: a temp dir).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSim } from './lib/sim.mjs';
import { startAmid, newToken } from './lib/amid.mjs';
import { AmiClient } from './lib/ami.mjs';
import { launch, waitFor } from './lib/browser.mjs';

const WWW = path.resolve(import.meta.dirname, '../../tools/amid/www');
const ARTIFACTS = process.env.PANEL_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'ami-panel-artifacts-'));
fs.mkdirSync(ARTIFACTS, { recursive: true });
const T = 10000; // generous bound for one UI condition on a loaded machine
const T_RECONNECT = 30000; // amid's reconnect to a restarted PBX (backoff)
const MEMORY_CALLS = Number(process.env.PANEL_MEMORY_CALLS || 10000);
const RECORD = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ami-panel-sim-')), 'actions.record');

const TOKENS = {
  supervisor: { ...newToken(), servers: '*', actions: '*', events: '*', originate_context: 'test' },
  viewer: { ...newToken(), servers: 'pbx1', actions: ['Originate', 'QueuePause'], events: '*', originate_context: 'test' },
};
const SUPERVISOR = TOKENS.supervisor.token;
const VIEWER = TOKENS.viewer.token;

// The actions the sim received (ami-sim --record), as header objects.
function received() {
  let text = '';
  try { text = fs.readFileSync(RECORD, 'utf8'); } catch (e) { return []; }
  return text.split('\n\n').filter(Boolean).map((b) => Object.fromEntries(b.split('\n').map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()];
  })));
}

let sim;
let amid;
let panelUrl;
let browser;
let page;
let ami; // the sim "from outside"

async function outside() {
  if (ami && ami.sock && !ami.sock.destroyed) return ami;
  ami = new AmiClient({ port: sim.port });
  await ami.connect();
  return ami;
}

async function simChannels() {
  const r = await (await outside()).action({ Action: 'CoreShowChannels' });
  return r.events.filter((e) => e.Event === 'CoreShowChannel').map((e) => e.Channel);
}

// Every test starts from a sim without calls.
async function hangupAll() {
  // A dialog a failed test left open would block the next one.
  if (await page.locator('dialog[open]').count()) await page.keyboard.press('Escape');
  await (await outside()).action({ Action: 'Hangup', Channel: '/Local/' });
  await waitFor('the sim to have no channel', async () => (await simChannels()).length === 0, T);
  await page.waitForFunction(() => document.querySelectorAll('#calls-body tr.call').length === 0, null, { timeout: T });
}

// exten: where the ;1 half goes; app: instead, the ;2 half runs the
// channel's extension (Queue for 300/301) and the ;1 runs this application.
async function originate(callerNum, exten = '101', channel = 'Local/100@test', app = null) {
  const dest = app ? { Application: app, Data: '600' } : { Context: 'test', Exten: exten, Priority: '1' };
  const r = await (await outside()).action({
    Action: 'Originate', Channel: channel, ...dest,
    CallerID: `Caller ${callerNum} <${callerNum}>`, Async: 'true',
  });
  assert.equal(r.response.Response, 'Success');
}

// One test, with a screenshot when it fails.
function check(name, fn, { fresh = false } = {}) {
  test(name, async () => {
    try {
      if (!fresh) {
        if (!page.url().startsWith('http') || !(await page.locator('#panel').isVisible())) await login(SUPERVISOR);
        await hangupAll();
      }
      await fn();
    } catch (e) {
      const file = path.join(ARTIFACTS, `${name.replace(/[^A-Za-z0-9]+/g, '_')}.png`);
      await page?.screenshot({ path: file, fullPage: true }).catch(() => {});
      e.message += `\n(screenshot: ${file})`;
      throw e;
    }
  });
}

async function login(token) {
  await page.goto(panelUrl);
  await page.getByLabel('Token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#servers [data-server="pbx1"][data-state="up"]').waitFor({ timeout: T });
}

async function logout() {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Token', { exact: true }).waitFor({ timeout: T });
}

const callRow = (num) => page.locator(`#calls-body tr[data-caller="${num}"]`);

before(async () => {
  sim = await startSim({ callDuration: 600000, record: RECORD });
  amid = await startAmid({ staticDir: WWW, servers: [{ name: 'pbx1', port: sim.port }], tokens: TOKENS });
  panelUrl = amid.url;
  browser = await launch();
  page = browser.ctx.pages()[0] || (await browser.ctx.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  ami?.close();
  await browser?.close();
  const r = await amid?.stop();
  await sim?.stop();
  fs.rmSync(path.dirname(RECORD), { recursive: true, force: true });
  // An artifacts directory of our own that stayed empty goes too.
  if (!process.env.PANEL_ARTIFACTS && fs.readdirSync(ARTIFACTS).length === 0) fs.rmdirSync(ARTIFACTS);
  else console.log(`screenshots of failures: ${ARTIFACTS}`);
  // amid drains and exits 0 on SIGTERM (under ASan: with no leak).
  if (r && r.code !== 0) throw new Error(`amid exit ${JSON.stringify(r)}: ${amid.log().slice(-2000)}`);
});

check('a wrong token is refused in plain words, the right one logs in and shows what it may do', async () => {
  await page.goto(panelUrl);
  await page.getByLabel('Token', { exact: true }).fill('amid_not_a_token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('That token is not valid.').waitFor({ timeout: T });
  // By keyboard alone: the page focuses the Token field; Enter submits.
  await page.goto(panelUrl);
  // The page focuses the field once it knows there is no session (after its
  // GET /v1/session answers): wait for that, do not sample it once.
  await page
    .waitForFunction(() => document.activeElement && document.activeElement.id === 'token', null, { timeout: T })
    .catch(() => {});
  assert.equal(await page.evaluate(() => document.activeElement.id), 'token');
  await page.keyboard.type(SUPERVISOR);
  await page.keyboard.press('Enter');
  await page.locator('#servers [data-server="pbx1"][data-state="up"]').waitFor({ timeout: T });
  await page.locator('#access-body').getByText('supervisor').waitFor({ timeout: T });
  assert.match(await page.locator('#servers').innerText(), /pbx1: connected/);
  // The token never stays in the page.
  assert.equal(await page.getByLabel('Token', { exact: true }).inputValue(), '');
}, { fresh: true });

check('every control has an accessible name, every table its headers, and a call is hung up by keyboard', async () => {
  await originate('5551010');
  await callRow('5551010').waitFor({ timeout: T });
  const bad = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('button, input, select, a[href]')) {
      if (el.closest('[hidden]') || el.offsetParent === null) continue;
      const named = (el.getAttribute('aria-label') || '').trim() || (el.labels && [...el.labels].some((l) => l.textContent.trim())) || (el.textContent || '').trim();
      if (!named) out.push(`unnamed ${el.tagName} ${el.outerHTML.slice(0, 80)}`);
    }
    for (const t of document.querySelectorAll('table')) {
      if (t.closest('[hidden]')) continue;
      if (!t.querySelector('thead th[scope="col"]') || !t.querySelector('caption')) out.push(`table without headers or caption: ${t.className}`);
      for (const tr of t.tBodies[0]?.rows || []) if (!tr.querySelector('th[scope="row"]')) out.push(`row without a row header in ${t.className}`);
    }
    return out;
  });
  assert.deepEqual(bad, []);
  // Tab to the call's own Hang up button (bounded), Enter: the sim ends it.
  await page.locator('body').focus();
  let found = false;
  for (let i = 0; i < 200 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => {
      const a = document.activeElement;
      return !!a && a.dataset.act === 'hangup' && a.closest('tr')?.dataset.caller === '5551010';
    });
  }
  assert.ok(found, 'the Hang up button cannot be reached with Tab');
  await page.keyboard.press('Enter');
  await waitFor('the sim to end the call', async () => (await simChannels()).length === 0, T);
  await callRow('5551010').waitFor({ state: 'detached', timeout: T });
});

check('a call originated in the sim from outside appears with both parties and is gone after its hangup', async () => {
  await originate('5551001');
  const row = callRow('5551001');
  await row.waitFor({ timeout: T });
  await page.waitForFunction(() => {
    const tr = document.querySelector('#calls-body tr[data-caller="5551001"]');
    return tr && /5551001/.test(tr.cells[1].textContent) && /101/.test(tr.cells[2].textContent) && tr.cells[3].textContent === 'Up' && tr.cells[5].textContent !== '';
  }, null, { timeout: T });
  assert.ok(await row.getByRole('button', { name: /^Hang up call from .*5551001.* to 101$/ }).isVisible());
  // Hang it up from outside: the row goes.
  const chans = (await simChannels()).filter((c) => c.startsWith('Local/100@test'));
  assert.ok(chans.length >= 2);
  const r = await (await outside()).action({ Action: 'Hangup', Channel: chans[0] });
  assert.equal(r.response.Response, 'Success');
  await row.waitFor({ state: 'detached', timeout: T });
  await waitFor('the sim to end the call', async () => (await simChannels()).length === 0, T);
});

check('hang up from the page ends the channel in the sim', async () => {
  await originate('5551002');
  const row = callRow('5551002');
  await row.waitFor({ timeout: T });
  await waitFor('the call in the sim', async () => (await simChannels()).length === 2, T);
  await row.getByRole('button', { name: /^Hang up/ }).click();
  await waitFor('the sim to have no channel left', async () => (await simChannels()).length === 0, T);
  await row.waitFor({ state: 'detached', timeout: T });
  const hang = received().filter((a) => a.Action === 'Hangup').at(-1);
  assert.ok(hang && hang.Channel.startsWith('Local/100@test'), 'the Hangup did not reach the sim');
});

check('click to call originates into the token\'s context and the call appears', async () => {
  const form = page.locator('#dial-form');
  await form.getByLabel('From (number or channel)').fill('100');
  await form.getByLabel('To extension').fill('101');
  await form.getByRole('button', { name: 'Call' }).click();
  await page.locator('#calls-body tr.call').first().waitFor({ timeout: T });
  const sent = received().filter((a) => a.Action === 'Originate').at(-1);
  assert.deepEqual([sent.Channel, sent.Context, sent.Exten], ['Local/100@test', 'test', '101']);
  await (await outside()).action({ Action: 'Hangup', Channel: '/Local/' });
  await page.locator('#calls-body tr.call').first().waitFor({ state: 'detached', timeout: T });
});

check('park from the page: the parked call shows its space, lot, time parked and time left', async () => {
  await originate('5551007');
  const row = callRow('5551007');
  await row.waitFor({ timeout: T });
  await row.getByRole('button', { name: /^Park call from/ }).click();
  const parked = page.locator('#parked-body tr.parked-call');
  await parked.first().waitFor({ timeout: T });
  await page.waitForFunction(() => {
    const tr = document.querySelector('#parked-body tr.parked-call');
    const c = tr && [...tr.cells].map((x) => x.textContent);
    return c && c[1] === '701' && c[2] === 'default' && /5551007/.test(c[3]) && /^\d+:\d\d$/.test(c[4]) && /^\d+:\d\d$/.test(c[5]);
  }, null, { timeout: T });
  await row.getByText('parked 701').waitFor({ timeout: T });
  const park = received().filter((a) => a.Action === 'Park').at(-1);
  assert.ok(park && park.Channel.startsWith('Local/100@test'));
  await hangupAll();
  await parked.first().waitFor({ state: 'detached', timeout: T });
});

check('a call on hold music shows "on hold"', async () => {
  await originate('5551008', null, 'Local/moh@test', 'Wait');
  const row = callRow('5551008');
  await row.waitFor({ timeout: T });
  await row.getByRole('cell', { name: 'on hold' }).waitFor({ timeout: T });
});

check('blind transfer from the page sends BlindTransfer into the chosen context and extension', async () => {
  await originate('5551009');
  const row = callRow('5551009');
  await row.waitFor({ timeout: T });
  const errorsBefore = await page.locator('#errors .error').count();
  await row.getByRole('button', { name: /^Transfer call from/ }).click();
  const dlg = page.getByRole('dialog');
  await dlg.getByLabel('Extension').fill('wait');
  await dlg.getByLabel('Context').selectOption('test'); // the token's only context
  await dlg.getByRole('button', { name: 'OK' }).click();
  await waitFor('the BlindTransfer in the sim', () => received().some((a) => a.Action === 'BlindTransfer'), T);
  const sent = received().filter((a) => a.Action === 'BlindTransfer').at(-1);
  assert.deepEqual([sent.Context, sent.Exten, sent.Channel.startsWith('Local/100@test')], ['test', 'wait', true]);
  assert.equal(await page.locator('#errors .error').count(), errorsBefore, await page.locator('#errors').innerText());
});

const card = (q) => page.locator(`#queues-body article[data-queue="${q}"]`);
const member = (q, name) => card(q).locator('table.members tbody tr').filter({ hasText: name });

check('a queue caller waits, then is answered by a member', async () => {
  // The sim's queues: support (Alice, Bob) and sales (Carol, paused).
  await member('sales', 'Agent Carol').getByText(/^paused/).waitFor({ timeout: T });
  await member('support', 'Agent Alice').getByRole('cell', { name: 'free' }).waitFor({ timeout: T });
  // A caller into sales waits: Carol is paused.
  await originate('5552001', null, 'Local/301@test', 'Wait');
  const waiting = card('sales').locator('table.callers tbody tr');
  await waiting.first().waitFor({ timeout: T });
  assert.match(await waiting.first().innerText(), /^1\s+Caller 5552001 5552001\s+0:\d\d$/);
  await page.waitForFunction(() => /Waiting\s*1/.test(document.querySelector('#queues-body article[data-queue="sales"] dl.figures').innerText), null, { timeout: T });
  // Carol is unpaused from the page and takes the caller.
  await member('sales', 'Agent Carol').getByRole('button', { name: 'Unpause Agent Carol in sales' }).click();
  await waiting.first().waitFor({ state: 'detached', timeout: T });
  await member('sales', 'Agent Carol').getByRole('cell', { name: 'in call' }).waitFor({ timeout: T });
  assert.ok(await card('sales').getByText('Nobody waiting.').isVisible());
  const call = page.locator('#calls-body tr.call').filter({ hasText: '5552001' });
  await call.first().waitFor({ timeout: T });
  assert.equal(await call.first().locator('td').nth(5).innerText(), 'sales');
  const unpause = received().filter((a) => a.Action === 'QueuePause').at(-1);
  assert.deepEqual([unpause.Queue, unpause.Interface, unpause.Paused], ['sales', 'Local/202@test', 'false']);
});

check('pause a member with a reason', async () => {
  await member('support', 'Agent Alice').getByRole('button', { name: 'Pause Agent Alice in support' }).click();
  const dlg = page.getByRole('dialog');
  await dlg.getByLabel('Reason').fill('lunch');
  await dlg.getByRole('button', { name: 'OK' }).click();
  await member('support', 'Agent Alice').getByText(/^paused: lunch for \d+:\d\d$/).waitFor({ timeout: T });
  await member('support', 'Agent Alice').getByRole('button', { name: 'Unpause Agent Alice in support' }).waitFor({ timeout: T });
  const sent = received().filter((a) => a.Action === 'QueuePause').at(-1);
  assert.deepEqual([sent.Queue, sent.Interface, sent.Paused, sent.Reason], ['support', 'Local/200@test', 'true', 'lunch']);
});

check('an error from the PBX is shown in plain words', async () => {
  // Alice is paused already: unpausing a member of a queue that does not exist fails at the PBX.
  const status = await page.evaluate(async () => {
    const { action } = await import('/js/api.js');
    try {
      await action('pbx1', { Action: 'QueuePause', Queue: 'nosuchqueue', Interface: 'Local/200@test', Paused: 'false' });
      return 'accepted';
    } catch (e) {
      return e.message;
    }
  });
  assert.match(status, /^The PBX refused QueuePause: /);
});

check('a token without Hangup sees no hang-up control, and the REST call is refused (403)', async () => {
  await logout();
  await login(VIEWER);
  await originate('5551003');
  const row = callRow('5551003');
  await row.waitFor({ timeout: T });
  assert.equal(await row.getByRole('button', { name: /Hang up/ }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /Hang up/ }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /Remove/ }).count(), 0);
  const channel = (await simChannels())[0];
  const status = await page.evaluate(async (ch) => {
    const r = await fetch('/v1/servers/pbx1/actions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Action: 'Hangup', Channel: ch }) });
    return r.status;
  }, channel);
  const hangups = received().filter((a) => a.Action === 'Hangup').length;
  assert.equal(status, 403);
  assert.equal((await simChannels()).length, 2, 'the refused Hangup ended the call');
  assert.equal(received().filter((a) => a.Action === 'Hangup').length, hangups, 'the refused Hangup reached the sim');
  await (await outside()).action({ Action: 'Hangup', Channel: '/Local/' });
  await row.waitFor({ state: 'detached', timeout: T });
  await logout();
  await login(SUPERVISOR);
});

check('the sim killed and restarted: a notice, then the state is right again', async () => {
  await originate('5551004');
  await callRow('5551004').waitFor({ timeout: T });
  const port = sim.port;
  ami?.close();
  ami = null;
  await sim.stop('SIGKILL');
  sim = await startSim({ port, callDuration: 600000, record: RECORD });
  // amid reconnects and reports a gap; the panel says so and rebuilds.
  await page.locator('#notices [data-kind="gap"]').first().waitFor({ timeout: T_RECONNECT });
  await page.locator('#notices [data-kind="resync"]').first().waitFor({ timeout: T });
  await callRow('5551004').waitFor({ state: 'detached', timeout: T });
  await page.locator('#servers [data-server="pbx1"][data-state="up"]').waitFor({ timeout: T });
  await originate('5551005');
  await callRow('5551005').waitFor({ timeout: T });
  assert.equal(await callRow('5551004').count(), 0, 'a call of the killed sim is still shown');
  assert.equal(await page.locator('#calls-body tr.call').count(), 1);
  await (await outside()).action({ Action: 'Hangup', Channel: '/Local/' });
  await callRow('5551005').waitFor({ state: 'detached', timeout: T });
});

check('a hole in the stream\'s sequence numbers makes the panel rebuild from a fresh snapshot', async () => {
  // amid numbers only its event stream; the panel also checks `seq` on
  // state messages when a server sends it. Two messages with a hole,
  // handed to the page's stream as if they came off the socket:
  const before = await page.evaluate(() => window.panel.stats.snapshots);
  await page.evaluate(() => {
    const s = window.panel.streams.get('pbx1');
    const ch = { Channel: 'Local/ghost@test-1;1', Uniqueid: 'ghost.1', Linkedid: 'ghost.1', CallerIDNum: '5550666', ChannelStateDesc: 'Up' };
    s.message(JSON.stringify({ type: 'change', seq: 1000, kind: 'channel', change: 'added', id: 'ghost.1', object: ch }));
    s.message(JSON.stringify({ type: 'change', seq: 1005, kind: 'channel', change: 'changed', id: 'ghost.1', object: ch }));
  });
  await page.waitForFunction((n) => window.panel.stats.snapshots > n, before, { timeout: T });
  await page.locator('#notices [data-kind="gap"]').first().waitFor({ timeout: T });
  // The fresh snapshot from amid has no such channel: the ghost row is gone.
  await callRow('5550666').waitFor({ state: 'detached', timeout: T });
  await originate('5551006');
  await callRow('5551006').waitFor({ timeout: T });
});

check(`a page left open through ${MEMORY_CALLS} calls keeps its memory bounded`, async () => {
  const cdp = await browser.ctx.newCDPSession(page);
  const measure = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    const dom = await cdp.send('Memory.getDOMCounters');
    return { heap: heap.usedSize, nodes: dom.nodes, listeners: dom.jsEventListeners };
  };
  // Calls through the real sim: ten at a time, each hung up once it shows.
  const a = await outside();
  const batch = 10;
  let done = 0;
  let base = null;
  let baseDevices = 0;
  const t0 = Date.now();
  while (done < MEMORY_CALLS) {
    const n = Math.min(batch, MEMORY_CALLS - done);
    await Promise.all(Array.from({ length: n }, () => a.action({ Action: 'Originate', Channel: 'Local/100@test', Context: 'test', Exten: '101', Priority: '1', CallerID: '<5559999>', Async: 'true' })));
    await page.waitForFunction((k) => document.querySelectorAll('#calls-body tr.call').length >= k, n, { timeout: T });
    await a.action({ Action: 'Hangup', Channel: '/Local/' });
    await page.waitForFunction(() => document.querySelectorAll('#calls-body tr.call').length === 0, null, { timeout: T });
    done += n;
    if (base === null && done >= Math.min(500, MEMORY_CALLS)) {
      base = await measure();
      baseDevices = await page.evaluate(() => window.panel.states.get('pbx1').maps.device.size);
    }
  }
  const end = await measure();
  const state = await page.evaluate(() => [...window.panel.states.values()].map((s) => Object.fromEntries(
    [...Object.entries(s.maps).map(([k, m]) => [k, m.size]), ['calls', s.calls.size], ['queueOf', s.queueOf.size]])));
  console.log(`memory: ${MEMORY_CALLS} calls in ${Date.now() - t0} ms; after ${Math.min(500, MEMORY_CALLS)} calls heap ${base.heap} B, ${base.nodes} DOM nodes; after all: heap ${end.heap} B, ${end.nodes} DOM nodes, ${end.listeners} listeners; store objects left ${JSON.stringify(state)}`);
  // No call is left; what stays is the sim's own furniture: its 2 queues
  // and 3 members, its device states (as many as after the first calls,
  // not one per call), and the parking lot's holding bridge once a Park made
  // it (Asterisk keeps it too).
  const [st] = state;
  assert.deepEqual([st.channel, st.caller, st.parked, st.calls, st.queueOf, st.queue, st.member], [0, 0, 0, 0, 0, 2, 3], JSON.stringify(st));
  assert.ok(st.bridge <= 1, JSON.stringify(st));
  assert.ok(st.device <= baseDevices, `device states grew from ${baseDevices} to ${st.device}`);
  assert.ok(end.nodes <= base.nodes + 200, `DOM grew from ${base.nodes} to ${end.nodes} nodes`);
  assert.ok(end.heap <= base.heap + 2 * 1024 * 1024, `heap grew from ${base.heap} to ${end.heap} bytes`);
});
