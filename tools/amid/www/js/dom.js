import { duration } from './format.js';

// DOM helpers. Text goes in as text (never as HTML): every value on the
// page came from a PBX or a caller and is hostile.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replace an element's children, keeping keyboard focus on the control
// that had it (same data-act) so a live update never steals the focus.
export function refill(el, children) {
  const a = document.activeElement;
  const act = a && el.contains(a) && a.dataset ? a.dataset.act : null;
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  if (act) {
    const again = el.querySelector(`[data-act="${CSS.escape(act)}"]`);
    if (again) again.focus();
  }
}

// Fill a <tr>'s cells from specs {text | nodes, key?, t0?, until?, class?,
// th?}. A cell is rewritten only when its key (its text, or the caller's
// key for nodes and ticking cells) changed, so the DOM changes exactly where
// the state did and focus stays where it was.
export function setCells(tr, cells) {
  while (tr.cells.length > cells.length) tr.deleteCell(-1);
  cells.forEach((c, i) => {
    let td = tr.cells[i];
    if (!td) {
      td = document.createElement(c.th ? 'th' : 'td');
      if (c.th) td.scope = 'row';
      tr.append(td);
    }
    const key = c.key ?? `t:${c.text ?? ''}`;
    if (td.dataset.key === key) return;
    td.dataset.key = key;
    td.className = c.class || '';
    if (c.t0 !== undefined) td.dataset.t0 = String(c.t0);
    else delete td.dataset.t0;
    if (c.until !== undefined) td.dataset.until = String(c.until);
    else delete td.dataset.until;
    if (c.nodes) refill(td, c.nodes);
    else if (c.t0 !== undefined) td.textContent = duration(Date.now() - c.t0);
    else if (c.until !== undefined) td.textContent = c.until > Date.now() ? duration(c.until - Date.now()) : 'timed out';
    else td.textContent = c.text ?? '';
  });
}
