// Not a test: the two screenshots of docs/panel.md (calls, queues), taken
// from a live panel over ami-sim and amid with a few calls set up.
//   AMI_BIN_DIR=build/gcc/tools node tests/browser/screenshots.mjs docs
import path from 'node:path';
import { startSim } from './lib/sim.mjs';
import { startAmid, newToken } from './lib/amid.mjs';
import { AmiClient } from './lib/ami.mjs';
import { launch, waitFor } from './lib/browser.mjs';

const out = path.resolve(process.argv[2] || '.');
const WWW = path.resolve(import.meta.dirname, '../../tools/amid/www');
const tokens = {
  supervisor: { ...newToken(), servers: '*', actions: '*', events: '*', originate_context: 'test' },
};
const sim = await startSim({ callDuration: 600000 });
const amid = await startAmid({ staticDir: WWW, servers: [{ name: 'pbx1', port: sim.port }], tokens });
const b = await launch();
try {
  const page = b.ctx.pages()[0];
  await page.setViewportSize({ width: 1500, height: 1000 });
  await page.goto(amid.url);
  await page.getByLabel('Token', { exact: true }).fill(tokens.supervisor.token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#servers [data-state="up"]').waitFor({ timeout: 10000 });
  const ami = new AmiClient({ port: sim.port });
  await ami.connect();
  const call = (cid, extra) => ami.action({ Action: 'Originate', CallerID: cid, Async: 'true', ...extra });
  await call('Anna Berg <4930111>', { Channel: 'Local/100@test', Context: 'test', Exten: '101', Priority: '1' });
  await call('Ole Hansen <4722333>', { Channel: 'Local/100@test', Context: 'test', Exten: '102', Priority: '1' });
  await call('Caller One <5551001>', { Channel: 'Local/300@test', Application: 'Wait', Data: '600' });
  await call('Caller Two <5551002>', { Channel: 'Local/301@test', Application: 'Wait', Data: '600' });
  await call('Caller Three <5551003>', { Channel: 'Local/301@test', Application: 'Wait', Data: '600' });
  await page.waitForFunction(() => document.querySelectorAll('#calls-body tr.call').length >= 5, null, { timeout: 10000 });
  const row = page.locator('#calls-body tr[data-caller="4722333"]');
  await row.getByRole('button', { name: /^Park/ }).click();
  await page.locator('#parked-body tr').first().waitFor({ timeout: 10000 });
  // Let the durations tick a little.
  await page.waitForFunction(() => [...document.querySelectorAll('#calls-body td[data-t0]')].some((td) => td.textContent >= '0:03'), null, { timeout: 15000 });
  await page.locator('#calls').screenshot({ path: path.join(out, 'panel-calls.png') });
  await page.locator('#queues').screenshot({ path: path.join(out, 'panel-queues.png') });
  ami.close();
} finally {
  await b.close();
  await amid.stop();
  await sim.stop();
}
console.log(`wrote ${out}/panel-calls.png and panel-queues.png`);
