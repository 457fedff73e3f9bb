// Benchmark (not a test): time from the sim's event to the panel's DOM
// change, at a steady 100 and 1,000 events/s.
//
//   (cd tests/browser && npm ci) && AMI_BIN_DIR=build/gcc/tools node bench/panel/latency.mjs [seconds]
//
// Calls are originated in ami-sim at the rate that gives the event rate
// (each call is about 30 events: Newchannel ... Hangup, Cdr); a client on
// the sim's AMI port stamps the Newchannel of each call's first channel and
// the Hangup of its last as the sim writes them; a MutationObserver in the
// page stamps the row's appearance and removal. Both clocks are this
// machine's (performance.timeOrigin + now()). Path: ami-sim -> amid
// (its /v1/state) -> chromium.
import path from 'node:path';
import { startSim } from '../../tests/browser/lib/sim.mjs';
import { startAmid, newToken } from '../../tests/browser/lib/amid.mjs';
import { AmiClient } from '../../tests/browser/lib/ami.mjs';
import { launch, waitFor } from '../../tests/browser/lib/browser.mjs';

const SECONDS = Number(process.argv[2] || 10);
const EVENTS_PER_CALL = 30;
const WWW = path.resolve(import.meta.dirname, '../../tools/amid/www');
const now = () => performance.timeOrigin + performance.now();

function pct(a, p) {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const tokens = {
  bench: { ...newToken(), servers: '*', actions: '*', events: '*', originate_context: 'test' },
};
const sim = await startSim({ callDuration: 1000 });
const amid = await startAmid({ staticDir: WWW, servers: [{ name: 'pbx1', port: sim.port }], tokens });
const b = await launch();
const results = [];
try {
  const page = b.ctx.pages()[0];
  await page.goto(amid.url);
  await page.getByLabel('Token', { exact: true }).fill(tokens.bench.token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#servers [data-state="up"]').waitFor({ timeout: 10000 });
  await page.evaluate(() => {
    window.benchSeen = { added: {}, removed: {} };
    const body = document.getElementById('calls-body');
    new MutationObserver((muts) => {
      const t = performance.timeOrigin + performance.now();
      for (const m of muts) {
        for (const n of m.addedNodes) if (n.dataset && n.dataset.linkedid) window.benchSeen.added[n.dataset.linkedid] ??= t;
        for (const n of m.removedNodes) if (n.dataset && n.dataset.linkedid) window.benchSeen.removed[n.dataset.linkedid] ??= t;
      }
    }).observe(body, { childList: true });
  });
  for (const rate of [100, 1000]) {
    const simSeen = { added: {}, removed: {}, open: {} };
    let events = 0;
    const watcher = new AmiClient({
      port: sim.port,
      onEvent: (e) => {
        events++;
        const l = e.Linkedid;
        if (e.Event === 'Newchannel' && l && !(l in simSeen.added)) simSeen.added[l] = now();
        if (e.Event === 'Newchannel' && l) simSeen.open[l] = (simSeen.open[l] || 0) + 1;
        if (e.Event === 'Hangup' && l && --simSeen.open[l] === 0) simSeen.removed[l] = now();
      },
    });
    await watcher.connect();
    const origin = new AmiClient({ port: sim.port });
    await origin.connect();
    const callsPerSec = rate / EVENTS_PER_CALL;
    const total = Math.round(callsPerSec * SECONDS);
    const t0 = now();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / callsPerSec;
      const wait = due - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      origin.action({ Action: 'Originate', Channel: 'Local/100@test', Context: 'test', Exten: '101', Priority: '1', CallerID: `<${i}>`, Async: 'true' }).catch(() => {});
    }
    const elapsed = (now() - t0) / 1000;
    await waitFor('every call gone from the page', () => page.evaluate(() => document.querySelectorAll('#calls-body tr.call').length === 0), 60000, 100);
    const seen = await page.evaluate(() => window.benchSeen);
    const add = [];
    const rem = [];
    for (const [l, t] of Object.entries(simSeen.added)) if (seen.added[l]) add.push(seen.added[l] - t);
    for (const [l, t] of Object.entries(simSeen.removed)) if (seen.removed[l]) rem.push(seen.removed[l] - t);
    results.push({ rate, measured: Math.round(events / elapsed), calls: total, add, rem });
    await page.evaluate(() => { window.benchSeen = { added: {}, removed: {} }; });
    watcher.close();
    origin.close();
  }
} finally {
  await b.close();
  await amid.stop();
  await sim.stop();
}
console.log('| target events/s | measured events/s | calls | appear p50 | appear p99 | disappear p50 | disappear p99 |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  const f = (v) => `${v.toFixed(1)} ms`;
  console.log(`| ${r.rate} | ${r.measured} | ${r.calls} (${r.add.length}/${r.rem.length} seen) | ${f(pct(r.add, 50))} | ${f(pct(r.add, 99))} | ${f(pct(r.rem, 50))} | ${f(pct(r.rem, 99))} |`);
}
