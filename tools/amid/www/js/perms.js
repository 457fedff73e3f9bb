// What the logged-in token may see and do, from GET /v1/session (amid's
// [token] section: servers, actions, originate_context, channels, events).
// The page hides what the token may not do; amid still checks every action
// (the page is a convenience, never the guard).

function list(v) {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map(String).map((s) => s.trim()).filter(Boolean);
  return String(v).split(',').map((s) => s.trim()).filter(Boolean);
}

// Glob as amid's config uses it: `*` any run, `?` one character.
export function globMatch(glob, s) {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's').test(s);
}

export class Perms {
  // info: amid's session object, or null when amid does not tell.
  constructor(info, serverNames) {
    this.known = !!info;
    const tok = info && (info.token && typeof info.token === 'object' ? info.token : info);
    this.name = (tok && (tok.name || (typeof tok.token === 'string' ? tok.token : null) || tok.id)) || '';
    this.servers = list(tok && tok.servers) || serverNames.slice();
    this.actions = list(tok && tok.actions);
    this.contexts = list(tok && (tok.originate_context ?? tok.originate_contexts ?? tok.contexts)) || [];
    this.channels = list(tok && tok.channels);
    this.events = list(tok && tok.events);
    this.expires = tok && (tok.expires || tok.expires_at || null);
  }

  mayServer(server) {
    return this.servers.includes('*') || this.servers.includes(server);
  }

  // Unknown permissions (amid did not say): show the control; amid decides.
  may(action) {
    if (!this.actions) return true;
    const a = action.toLowerCase();
    return this.actions.some((x) => x === '*' || x.toLowerCase() === a);
  }

  mayChannel(channel) {
    if (!this.channels || this.channels.length === 0) return true;
    return this.channels.some((g) => g === '*' || globMatch(g, channel));
  }

  // Contexts offered for Originate and transfers: the token's own. An
  // empty list with anyContext() true means any context (amid's "*", or
  // no originate_context in the token).
  originateContexts() {
    return this.contexts.filter((c) => c !== '*');
  }

  anyContext() {
    return this.contexts.includes('*') || (!this.known && this.contexts.length === 0);
  }
}
