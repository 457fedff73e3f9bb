// amid WebSocket client: session cookie login, resume with since, gaps.
const $ = (id) => document.getElementById(id);
let last = null; // {epoch, seq} of the last message seen
let server = 'pbx1';

function show(text) {
  const li = document.createElement('li');
  li.textContent = text;
  $('events').prepend(li);
  while ($('events').children.length > 200) $('events').lastChild.remove();
}

function connect() {
  const since = last ? `&since=${encodeURIComponent(`${last.epoch}:${last.seq}`)}` : '';
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/v1/events?server=${encodeURIComponent(server)}${since}`);
  ws.onopen = () => { $('status').textContent = `connected to ${server}`; };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === 'gap') {
      show(msg.from !== undefined ? `GAP: events ${msg.from}..${msg.to} lost (${msg.reason})`
                                  : `GAP: the PBX connection was lost (${msg.reason})`);
    } else if (msg.event) {
      show(`#${msg.seq} ${msg.event.Event ?? ''} ${msg.event.Channel ?? ''}`);
    }
    if (msg.seq) last = { epoch: msg.epoch, seq: msg.seq };
  };
  ws.onclose = (e) => {
    $('status').textContent = `closed (${e.code} ${e.reason}); reconnecting`;
    setTimeout(connect, 1000);
  };
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  server = $('server').value;
  const r = await fetch('/v1/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: $('token').value }),
  });
  $('token').value = '';
  if (!r.ok) {
    $('status').textContent = `login refused: ${(await r.json()).error}`;
    return;
  }
  connect();
});
