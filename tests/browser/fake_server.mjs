#!/usr/bin/env node
// A stand-in for `junction serve` while developing the console: serves web/
// and canned answers shaped as docs/admin-api.md and docs/fhir-api.md say.
// Not used by the tests (they run the real binary).
// Usage: node tests/browser/fake_server.mjs [PORT]   (default 8090)
// With JUNCTION_UPSTREAM=http://127.0.0.1:PORT, /auth and /fhir go to a real
// junction serve (its tokens work here: the fake reads their claims unchecked).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');
const port = Number(process.argv[2] || 8090);
const types = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css',
               '.png': 'image/png', '.svg': 'image/svg+xml'};
const started = Date.now();
let received = 3;
const xss = '<script>window.__xss=1</script>^"><img src=x onerror="window.__xss=1">';
const raw = [
  'MSH|^~\\&|LAB|HOSP|JUNCTION|HOSP|20240501120000||ORU^R01|MSG1|P|2.5',
  'PID|1||MRN1^^^HOSP^MR||Doe^Jane||19800101|F',
  'OBR|1||ORD1|2345-7^Glucose^LN',
  `OBX|1|NM|2345-7^Glucose^LN||182|mg/dL|70-99|H|||F|||20240501115500`,
  `NTE|1||${xss}`,
].join('\r');
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const tokenFor = (claims) => `${b64({alg: 'none'})}.${b64(claims)}.x`;

function claimsOf(req) {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
  if (!m) return null;
  try {
    return JSON.parse(Buffer.from(m[1].split('.')[1], 'base64url').toString());
  } catch {
    return null;
  }
}

function tree(text) {
  return text.split('\r').map((line, i) => {
    const parts = line.split('|');
    const name = parts[0];
    const fields = parts.slice(1).map((f, j) => {
      const n = name === 'MSH' ? j + 2 : j + 1;
      const comps = f.split('^');
      return {path: `${name}-${n}`, name: name === 'PID' && n === 5 ? 'Patient Name' : `Field ${n}`, raw: f,
              value: f.replace(/\\T\\/g, '&'),
              components: comps.length > 1 ? comps.map((c, k) => ({path: `${name}-${n}.${k + 1}`,
                name: k === 0 ? 'Family Name' : 'Given Name', raw: c, value: c})) : undefined};
    }).filter((f) => f.raw !== '');
    return {segment: name, index: 1, line: i + 1, fields};
  });
}

const patient = {resourceType: 'Patient', id: 'p1', name: [{family: 'Doe', given: ['Jane', xss]}],
                 gender: 'female', birthDate: '1980-01-01', identifier: [{system: 'urn:junction:id:HOSP', value: 'MRN1'}]};
const obs = {resourceType: 'Observation', id: 'o1', status: 'final',
             code: {coding: [{system: 'http://loinc.org', code: '2345-7', display: 'Glucose'}]},
             valueQuantity: {value: 182, unit: 'mg/dL'}, referenceRange: [{low: {value: 70, unit: 'mg/dL'}, high: {value: 99, unit: 'mg/dL'}}],
             interpretation: [{coding: [{code: 'H', display: 'High'}]}], effectiveDateTime: '2024-05-01T11:55:00Z'};
const obs2 = {resourceType: 'Observation', id: 'o2', status: 'final', code: {text: 'Comment'}, valueString: xss,
              effectiveDateTime: '2024-05-01T11:55:00Z'};
const enc = {resourceType: 'Encounter', id: 'e1', status: 'finished', class: {code: 'IMP', display: 'inpatient'},
             period: {start: '2024-05-01T08:00:00Z', end: '2024-05-02T10:00:00Z'}};
const imm = {resourceType: 'Immunization', id: 'i1', status: 'completed', vaccineCode: {text: 'Influenza'},
             occurrenceDateTime: '2023-10-01', lotNumber: 'L123'};
const alg = {resourceType: 'AllergyIntolerance', id: 'a1', code: {text: 'Penicillin'}, criticality: 'high',
             clinicalStatus: {coding: [{code: 'active'}]}, reaction: [{manifestation: [{text: 'Rash'}]}]};

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, {'Content-Type': type});
  res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
}

const upstream = process.env.JUNCTION_UPSTREAM;

function proxy(req, res) {
  const target = new URL(req.url, upstream);
  const headers = {...req.headers, host: target.host};
  const up = http.request(target, {method: req.method, headers}, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', () => send(res, 502, {error: 'upstream unreachable'}));
  req.pipe(up);
}

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  if (upstream && (p.startsWith('/fhir') || p.startsWith('/auth/'))) return proxy(req, res);
  if (p === '/auth/token' && req.method === 'POST') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const f = new URLSearchParams(body);
      if (f.get('client_id') !== 'demo-app' || f.get('client_secret') !== 'demo-secret') {
        send(res, 401, {error: 'invalid_client'});
        return;
      }
      send(res, 200, {access_token: tokenFor({sub: 'demo-app', scope: 'admin user/*.cruds'}), token_type: 'Bearer'});
    });
    return;
  }
  if (p.startsWith('/api') || p.startsWith('/fhir')) {
    const c = claimsOf(req);
    if (!c) return send(res, 401, {error: 'missing bearer token'});
    const role = /\badmin\b/.test(c.scope || '') ? 'admin' : /\boperator\b/.test(c.scope || '') ? 'operator' :
                 /\bviewer\b/.test(c.scope || '') ? 'viewer' : null;
    if (p === '/api/whoami') return send(res, 200, {subject: c.sub, client_id: c.sub, scopes: (c.scope || '').split(' '), role, patient: c.patient || null});
    if (p === '/api/channels') {
      received += 1;
      return send(res, 200, {channels: [{name: 'inbound', state: 'running', source: {kind: 'mllp', address: '127.0.0.1:2575'},
        counts: {received, filtered: 1, processed: received - 1, errored: 0, waiting: 0},
        destinations: [{name: 'archive', kind: 'file', state: 'running', counts: {queued: 0, sent: received - 1, errored: 0, filtered: 0}, blocked: false},
                       {name: 'ehr', kind: 'mllp', state: 'running', counts: {queued: 3, sent: 2, errored: 1, filtered: 0}, blocked: true, last_error: 'connection refused'}]}]});
    }
    if (p === '/api/status') return send(res, 200, {uptime_s: Math.round((Date.now() - started) / 1000),
      queues: [{channel: 'inbound', destination: 'ehr', queued: 3, oldest_queued_at: '2024-05-01T12:00:00.000Z', blocked: true, last_error: 'connection refused'}],
      recent_errors: [{id: 7, channel: 'inbound', at: '2024-05-01T12:00:00.000Z', error: xss}],
      store: {path: './var/junction.db', bytes: 1048576, messages: 1234}, fhir_store: {path: 'x', bytes: 524288}, retention: {last_run_at: null, last_deleted: 0}});
    if (p === '/api/stats/rate') {
      const r = Array.from({length: 360}, (_, i) => Math.max(0, Math.round(20 + 15 * Math.sin(i / 20))));
      return send(res, 200, {bucket_s: 10, start: '2024-05-01T11:00:00.000Z', received: r, sent: r.map((v) => v - 2), errored: r.map((v, i) => (i % 50 === 0 ? 3 : 0))});
    }
    if (p === '/api/messages') {
      const cursor = Number(url.searchParams.get('cursor') || 120);
      const limit = Number(url.searchParams.get('limit') || 50);
      const ids = [];
      for (let id = cursor; id > Math.max(0, cursor - limit); id -= 1) ids.push(id);
      return send(res, 200, {messages: ids.map((id) => ({id, received_at: '2024-05-01T12:00:00.000Z', channel: 'inbound', type: 'ORU^R01',
        control_id: `MSG${id}`, patient_id: 'MRN1', status: id % 10 === 0 ? 'error' : 'processed', error: id % 10 === 0 ? xss : null, size: 812})),
        ...(ids.length && ids[ids.length - 1] > 1 ? {next_cursor: String(ids[ids.length - 1] - 1)} : {})});
    }
    const md = /^\/api\/messages\/(\d+)(\/(reprocess|resend))?$/.exec(p);
    if (md && md[3] === 'reprocess') return send(res, 200, {reprocessed: [Number(md[1])]});
    if (md && md[3] === 'resend') return send(res, 200, {delivery: {destination: 'archive', status: 'queued'}});
    if (md) {
      const transformed = raw.replace('JUNCTION|HOSP', 'EHR|HOSP').replace(/NTE.*$/, 'ZZZ|1');
      return send(res, 200, {message: {id: Number(md[1]), received_at: '2024-05-01T12:00:00.000Z', channel: 'inbound', type: 'ORU^R01',
        control_id: 'MSG1', patient_id: 'MRN1', status: 'processed', error: null, size: raw.length, sending_application: 'LAB'},
        raw, transformed, tree: tree(raw),
        deliveries: [{destination: 'archive', status: 'sent', attempts: 1, updated_at: '2024-05-01T12:00:01.000Z', next_attempt_at: null, error: null, response: 'written MSG1.hl7'}],
        fhir: {resourceType: 'Bundle', type: 'transaction', entry: []}, fhir_issues: ['PV1-44: not mapped']});
    }
    if (p === '/fhir/Patient' && url.searchParams.get('identifier')) {
      const hit = url.searchParams.get('identifier') === 'MRN1' && (!c.patient || c.patient === 'p1');
      return send(res, 200, {resourceType: 'Bundle', type: 'searchset', total: hit ? 1 : 0, entry: hit ? [{resource: patient}] : []});
    }
    const ev = /^\/fhir\/Patient\/([^/]+)\/\$everything$/.exec(p);
    if (ev) {
      if (ev[1] !== 'p1' || (c.patient && c.patient !== 'p1')) return send(res, 404, {resourceType: 'OperationOutcome', issue: [{code: 'not-found'}]});
      return send(res, 200, {resourceType: 'Bundle', type: 'searchset', entry: [patient, obs, obs2, enc, imm, alg].map((r) => ({resource: r}))});
    }
    return send(res, 404, {error: 'not found'});
  }
  const rel = p === '/' ? 'index.html' : path.normalize(decodeURIComponent(p)).replace(/^\/+/, '');
  const file = path.join(webDir, rel);
  if (!file.startsWith(webDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return send(res, 404, 'not found', 'text/plain');
  send(res, 200, fs.readFileSync(file), types[path.extname(file)] || 'application/octet-stream');
}).listen(port, '127.0.0.1', () => console.log(`fake junction on http://127.0.0.1:${port}`));
