// Small pure helpers: durations, numbers, party names, member status.

export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// "Name <number>", or whichever half exists; AMI writes an unknown caller
// id as "<unknown>" or leaves it empty.
export function party(num, name) {
  const n = clean(num);
  const nm = clean(name);
  if (n && nm && nm !== n) return { text: `${nm} ${n}`, num: n, name: nm };
  return { text: n || nm || 'unknown', num: n, name: nm };
}

export function clean(v) {
  if (v === undefined || v === null) return '';
  const s = String(v).trim();
  return s === '<unknown>' || s === '(null)' ? '' : s;
}

// Seconds since the epoch (AMI's LastCall/LastPause/LoginTime; 0 = never).
export function epochSeconds(v) {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

export function clock(epochSec) {
  if (!epochSec) return 'never';
  const d = new Date(epochSec * 1000);
  return d.toLocaleString(undefined, { hour12: false });
}

// Wall-clock start of an object, in ms since the epoch: amid's own times
// when it gives them (ms or s since the epoch), then AMI's Duration/Seconds
// (elapsed when the snapshot was taken), then when the panel first saw it.
export function startOf(o, seen, at, keys) {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'number' && v > 0) return v > 1e12 ? v : v * 1000;
    if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) && Number(v) > 1e9)
      return Number(v) > 1e12 ? Number(v) : Number(v) * 1000;
  }
  const el = elapsedSeconds(o.Duration ?? o.Seconds ?? o.Wait);
  if (el !== null) return at - el * 1000;
  return seen;
}

export function elapsedSeconds(v) {
  if (v === undefined || v === null || v === '') return null;
  const s = String(v);
  const hms = /^(\d+):(\d{2}):(\d{2})$/.exec(s);
  if (hms) return Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3]);
  if (/^\d+$/.test(s)) return Number(s);
  return null;
}

// Asterisk's device states as a queue member's Status (app_queue.c).
const MEMBER_STATUS = {
  0: 'unknown', 1: 'free', 2: 'in call', 3: 'in call', 4: 'unavailable',
  5: 'unavailable', 6: 'ringing', 7: 'ringing', 8: 'in call',
};

export function memberStatus(m) {
  const st = MEMBER_STATUS[Number(m.Status)] || 'unknown';
  if (st === 'free' && truthy(m.InCall)) return 'in call';
  return st;
}

export function truthy(v) {
  if (v === true || v === 1) return true;
  if (typeof v !== 'string') return false;
  const s = v.toLowerCase();
  return s === '1' || s === 'yes' || s === 'true' || s === 'on';
}
