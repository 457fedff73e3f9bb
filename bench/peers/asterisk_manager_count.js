// Count firehose events with the npm package asterisk-manager
// (install: cd bench/peers && npm install).
//
// usage: node asterisk_manager_count.js PORT N
// Logs in as admin/amp111 with events on, counts events until
// Event: SimDone, checks SimDone's Count and the number of firehose events
// (those with a linkedid), then prints events, seconds and events_per_s.
'use strict';

const path = require('path');
const AsteriskManager = require(path.join(__dirname, 'node_modules', 'asterisk-manager'));

const port = Number(process.argv[2]);
const want = Number(process.argv[3]);
let firehose = 0;
let t0 = null;

const ami = new AsteriskManager(port, '127.0.0.1', 'admin', 'amp111', true);
ami.on('response', (res) => {
  if (t0 === null && res.response === 'Success') t0 = process.hrtime.bigint();
});
ami.on('managerevent', (evt) => {
  if (evt.event === 'SimDone') {
    const t1 = process.hrtime.bigint();
    if (Number(evt.count) !== want || firehose !== want) {
      process.stderr.write(`asterisk-manager: counted ${firehose} firehose events, expected ${want}\n`);
      process.exit(1);
    }
    const secs = Number(t1 - (t0 === null ? t1 : t0)) / 1e9;
    process.stdout.write(`events ${want}\nseconds ${secs.toFixed(6)}\nevents_per_s ${(want / secs).toFixed(0)}\n`);
    process.exit(0);
  } else if (evt.linkedid !== undefined) {
    firehose++;
  }
});
ami.on('error', (err) => {
  process.stderr.write(`asterisk-manager: ${err}\n`);
  process.exit(1);
});
