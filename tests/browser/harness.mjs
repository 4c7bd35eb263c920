// Helpers for the browser test: start a real `junction serve` on ephemeral
// loopback ports with a temporary config and store (as
// tests/integration/harness.py does), send HL7 over MLLP, get tokens.
// Nothing here talks to anything but 127.0.0.1.

import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sourceDir = process.env.JUNCTION_SOURCE_DIR || path.resolve(here, '..', '..');
export const outDir = path.join(here, 'out');
const timeScale = Number(process.env.JUNCTION_TIME_SCALE || '1') || 1;

export function scaled(ms) {
  return ms * timeScale;
}

export function chromiumBin() {
  const bin = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
  try {
    fs.accessSync(bin, fs.constants.X_OK);
    return bin;
  } catch {
    return null;
  }
}

export function junctionBin() {
  const bin = process.env.JUNCTION_BIN || path.join(sourceDir, 'build/test/apps/junction/junction');
  try {
    fs.accessSync(bin, fs.constants.X_OK);
    return bin;
  } catch {
    return null;
  }
}

// The demo client of conf/junction.yaml (secret "demo-secret").
const kDemoSecretSha256 = 'cd577fe2561ebff23505db0bb006300c7cdecbd46bc0e03c449afafaca2c25bf';

function configText(tmp, webDir) {
  const q = JSON.stringify;  // a JSON string is a valid YAML scalar
  return `log:
  level: info
server:
  io_threads: 2
store:
  sqlite: ${q(path.join(tmp, 'store', 'junction.db'))}
  max_batch: 512
  max_delay_us: 0
fhir_store:
  sqlite: ${q(path.join(tmp, 'store', 'junction-fhir.db'))}
http:
  listen: 127.0.0.1:0
  ui_dir: ${q(webDir)}
auth:
  issuer: junction-browser-test
  audience: junction
  hs256_secret: "browser-test-only-hs256-secret-0123456789abcdef"
  clients:
    - id: demo-app
      secret_sha256: ${kDemoSecretSha256}
      scopes: ["user/*.cruds", "system/*.cruds", "admin", "hl7"]
channels:
  - name: inbound
    source:
      mllp:
        listen: 127.0.0.1:0
        ack: after-store
    destinations:
      - name: archive
        file: { dir: ${q(path.join(tmp, 'out'))}, name: "{MSH-10}.hl7" }
      - name: record
        fhir-store: {}
`;
}

// Starts `junction serve` and resolves once it prints "junction: ready".
export async function startServe(tmp, webDir) {
  fs.mkdirSync(path.join(tmp, 'store'), {recursive: true});
  const configPath = path.join(tmp, 'junction.yaml');
  fs.writeFileSync(configPath, configText(tmp, webDir));
  const stderrPath = path.join(tmp, 'serve.stderr');
  const stderr = fs.openSync(stderrPath, 'w');
  const proc = spawn(junctionBin(), ['serve', '--config', configPath],
                     {cwd: tmp, stdio: ['ignore', 'pipe', stderr],
                      env: {ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', ...process.env}});
  fs.closeSync(stderr);
  const mllp = {};
  let httpPort = null;
  const lines = [];
  const logs = () => `--- serve stdout ---\n${lines.join('\n')}\n--- serve stderr ---\n${
    fs.existsSync(stderrPath) ? fs.readFileSync(stderrPath, 'utf8').slice(-6000) : ''}`;
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({code, signal})));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`junction serve was not ready in time\n${logs()}`));
    }, scaled(90000));
    exited.then(({code, signal}) => {
      clearTimeout(timer);
      reject(new Error(`junction serve exited (${code ?? signal}) before it was ready\n${logs()}`));
    });
    readline.createInterface({input: proc.stdout}).on('line', (line) => {
      lines.push(line);
      let m = /^junction: listening mllp (\S+) (\S+):(\d+)\s*$/.exec(line);
      if (m) mllp[m[1]] = Number(m[3]);
      m = /^junction: listening http (\S+):(\d+)\s*$/.exec(line);
      if (m) httpPort = Number(m[2]);
      if (line.trim() === 'junction: ready') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  if (!httpPort) throw new Error(`no "listening http" line\n${logs()}`);
  return {
    configPath,
    baseUrl: `http://127.0.0.1:${httpPort}`,
    logs,
    mllpPort(channel) {
      if (!(channel in mllp)) throw new Error(`no MLLP listener for ${channel}\n${logs()}`);
      return mllp[channel];
    },
    // SIGTERM, then the exit code and stderr (sanitizer reports end up there).
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), scaled(60000));
        await exited;
        clearTimeout(timer);
      }
      const {code, signal} = await exited;
      return {code, signal, stderr: fs.existsSync(stderrPath) ? fs.readFileSync(stderrPath, 'utf8') : ''};
    },
  };
}

// Sends one message framed as MLLP (0x0B … 0x1C 0x0D) and resolves with the ACK's text.
export function mllpSend(port, message) {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({host: '127.0.0.1', port});
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no ACK in time'));
    }, scaled(20000));
    sock.on('connect', () => {
      sock.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(message, 'utf8'), Buffer.from([0x1c, 0x0d])]));
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const start = buf.indexOf(0x0b);
      const end = buf.indexOf(Buffer.from([0x1c, 0x0d]));
      if (start >= 0 && end > start) {
        clearTimeout(timer);
        sock.end();
        resolve(buf.subarray(start + 1, end).toString('utf8').replace(/\r/g, '\n'));
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function tokenFor(base, clientId, secret, scope) {
  const form = new URLSearchParams({grant_type: 'client_credentials', client_id: clientId, client_secret: secret});
  if (scope) form.set('scope', scope);
  const res = await fetch(`${base}/auth/token`, {method: 'POST', body: form,
    headers: {'Content-Type': 'application/x-www-form-urlencoded'}});
  if (!res.ok) throw new Error(`/auth/token: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

// `junction token --config F ARGS`: the token is the last line of stdout.
export function mintToken(configPath, cwd, args) {
  const r = spawnSync(junctionBin(), ['token', '--config', configPath, ...args], {cwd, encoding: 'utf8'});
  if (r.status !== 0) throw new Error(`junction token failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1].trim();
}

async function getJson(url, token, accept) {
  const res = await fetch(url, {headers: {Authorization: `Bearer ${token}`, Accept: accept}});
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

export function fhirGet(base, token, rel) {
  return getJson(`${base}/fhir/${rel}`, token, 'application/fhir+json');
}

export function apiGet(base, token, p) {
  return getJson(`${base}${p}`, token, 'application/json');
}
