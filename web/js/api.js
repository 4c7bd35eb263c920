// The console's only way to the server: the admin API (/api), the FHIR API
// (/fhir) and the token endpoint (/auth/token), all same-origin. The bearer
// token lives in sessionStorage (gone when the tab closes) and is sent in the
// Authorization header; the console never uses cookies.

const kTokenKey = 'junction.token';

export function getToken() {
  return sessionStorage.getItem(kTokenKey);
}

export function setToken(token) {
  sessionStorage.setItem(kTokenKey, token);
}

export function clearToken() {
  sessionStorage.removeItem(kTokenKey);
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function reasonOf(status, data, fallback) {
  if (data && typeof data === 'object') {
    if (typeof data.error === 'string') {
      return data.error_description ? `${data.error}: ${data.error_description}` : data.error;
    }
    if (data.resourceType === 'OperationOutcome' && Array.isArray(data.issue) && data.issue[0]) {
      const issue = data.issue[0];
      return issue.diagnostics || (issue.details && issue.details.text) || issue.code || fallback;
    }
  }
  return `HTTP ${status}${fallback ? ` ${fallback}` : ''}`;
}

// Fetches `path` (same origin) and returns the parsed JSON body; throws
// ApiError with the server's reason on any non-2xx answer. A 401 also tells
// the app (event 'junction:unauthorized') so it can return to the login page.
export async function request(path, {method = 'GET', body, headers = {}, accept} = {}) {
  const h = {Accept: accept || 'application/json', ...headers};
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  let payload = body;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof URLSearchParams)) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, {method, headers: h, body: payload, credentials: 'omit',
                             cache: 'no-store'});
  } catch (err) {
    throw new ApiError(0, 'the server cannot be reached', null);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (err) {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401 && token && !path.startsWith('/auth/')) {
      window.dispatchEvent(new CustomEvent('junction:unauthorized'));
    }
    throw new ApiError(res.status, reasonOf(res.status, data, res.statusText), data);
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

const seg = encodeURIComponent;

export const api = {
  whoami: () => request('/api/whoami'),
  channels: () => request('/api/channels'),
  status: () => request('/api/status'),
  rate: () => request('/api/stats/rate'),
  messages: (params) => request(`/api/messages${query(params)}`),
  message: (id) => request(`/api/messages/${seg(id)}`),
  reprocess: (id) => request(`/api/messages/${seg(id)}/reprocess`, {method: 'POST', body: {}}),
  resend: (id, destination) =>
    request(`/api/messages/${seg(id)}/resend`, {method: 'POST', body: {destination}}),
};

// OAuth2 client credentials: returns the access token.
export async function fetchToken(clientId, clientSecret, scope) {
  const form = new URLSearchParams({grant_type: 'client_credentials', client_id: clientId,
                                    client_secret: clientSecret});
  if (scope) form.set('scope', scope);
  const data = await request('/auth/token', {
    method: 'POST',
    body: form.toString(),
    headers: {'Content-Type': 'application/x-www-form-urlencoded'},
  });
  if (!data || typeof data.access_token !== 'string') {
    throw new ApiError(500, 'the token endpoint sent no access_token', data);
  }
  return data.access_token;
}

// GET on the FHIR API: `path` is relative to /fhir ("Patient/1/$everything")
// or a full link from a Bundle (only its path and query are used, so a
// link can never send the token to another origin).
export function fhir(path) {
  let target = path;
  if (/^https?:\/\//i.test(path)) {
    const url = new URL(path);
    target = url.pathname + url.search;
  } else if (!path.startsWith('/fhir')) {
    target = `/fhir/${path}`;
  }
  return request(target, {accept: 'application/fhir+json'});
}
