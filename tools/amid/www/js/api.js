// amid's REST API, as issue 12 spells it. Every call goes with the session
// cookie (same origin, HttpOnly: the page never sees it); the token itself
// is only ever sent once, to POST /v1/session.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function request(method, path, body, extraHeaders) {
  const headers = { Accept: 'application/json', ...(extraHeaders || {}) };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'amid cannot be reached (is it running?)', null);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, plainError(res.status, data), data);
  return data;
}

// The reason amid gave, whatever it called the field.
function reasonOf(data) {
  if (!data || typeof data !== 'object') return '';
  for (const k of ['error', 'message', 'reason', 'rule']) {
    if (typeof data[k] === 'string' && data[k]) return data[k];
    if (data[k] && typeof data[k].message === 'string') return data[k].message;
  }
  return '';
}

// Status codes of issue 12, said the way an operator would want to hear them.
export function plainError(status, data) {
  const why = reasonOf(data);
  const add = (s) => (why ? `${s}: ${why}` : s);
  switch (status) {
    case 400: return add('amid refused the request as invalid (nothing was sent to the PBX)');
    case 401: return add('Not logged in, or the session has expired — log in again');
    case 403: return add('This token is not allowed to do that');
    case 404: return add('No such server');
    case 429: return add('Too many requests for this token — wait a moment and try again');
    case 502: return add('The PBX is not connected, or the connection was lost during the action');
    case 504: return add('The PBX did not answer in time');
    default: return add(`amid answered with HTTP ${status}`);
  }
}

export function login(token) {
  // Both spellings: the JSON body and the bearer header (issue 12 says a
  // token is traded for the cookie; either form names it).
  return request('POST', '/v1/session', { token }, { Authorization: `Bearer ${token}` });
}

export function logout() {
  return request('DELETE', '/v1/session');
}

// The session's permissions, when amid tells them (GET /v1/session);
// null when it does not (404/405): the caller then derives what it can.
export async function session() {
  try {
    return await request('GET', '/v1/session');
  } catch (e) {
    if (e.status === 404 || e.status === 405) return null;
    throw e;
  }
}

export function servers() {
  return request('GET', '/v1/servers');
}

// One AMI action. Resolves with amid's {"response":{…},"events":[…]}, and
// rejects with a plain-words ApiError when amid or the PBX refused.
export async function action(server, headers) {
  const data = await request('POST', `/v1/servers/${encodeURIComponent(server)}/actions`, headers);
  const r = data && data.response;
  if (r && typeof r.Response === 'string' && r.Response.toLowerCase() === 'error') {
    const msg = r.Message || 'the PBX refused the action';
    throw new ApiError(200, `The PBX refused ${headers.Action}: ${msg}`, data);
  }
  return data;
}
