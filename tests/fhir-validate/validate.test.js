// Self-test of validate.js on hand-written Bundles: `node --test validate.test.js`.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const {spawnSync} = require('child_process');

// Without node_modules (tests/fhir-validate/install.sh not run) the tests skip,
// except under CI, where that is a setup failure.
let haveDeps = true;
try {
  require.resolve('ajv');
} catch (_) {
  haveDeps = false;
  if (process.env.CI) throw new Error('tests/fhir-validate/node_modules absent under CI: run install.sh');
}
const skip = haveDeps ? false : 'node_modules absent: run tests/fhir-validate/install.sh';
const {validateBundle, checkTemporal, documents} = require('./validate.js');

const data = (name) => fs.readFileSync(path.join(__dirname, 'testdata', name), 'utf8');

test('hand-written valid Bundles have no problem', {skip}, () => {
  const docs = documents(data('valid.ndjson'));
  assert.strictEqual(docs.length, 2);
  for (const d of docs) assert.deepStrictEqual(validateBundle(d.value), []);
});

test('each planted fault is reported at its path', {skip}, () => {
  const [first, second] = documents(data('invalid.ndjson')).map((d) => d.value);
  const got = validateBundle(first).map((p) => `${p.path}: ${p.message}`);
  const expect = [
    ['$.entry[0].resource: ', "unknown element 'foo'"],
    ['$.entry[0].resource.gender: ', 'allowed values'],
    ['$.entry[0].resource.birthDate: ', 'no such day'],
    ['$.entry[1].fullUrl: ', 'duplicate fullUrl'],
    ['$.entry[1].resource.subject.reference: ', 'matches no entry fullUrl'],
    ['$.entry[1].resource.effectiveDateTime: ', 'needs a time zone'],
    ['$.entry[1].resource.issued: ', 'instant'],
    ['$.entry[1].resource.performer[0].reference: ', 'matches no entry'],
    ['$.entry[1].resource.performer[1].reference: ', 'no contained resource'],
    ['$.entry[2]: ', 'without request'],
    ['$.entry[2].resource.subject.reference: ', 'has type Group'],
    ['$.entry[2].resource.period.start: ', 'month out of range'],
    ['$.entry[2].resource.period.end: ', 'time out of range'],
  ];
  for (const [where, what] of expect) {
    assert.ok(got.some((g) => g.startsWith(where) && g.includes(what)), `${where}${what} not in\n${got.join('\n')}`);
  }
  // The strict date check replaces the schema's pattern error for the same element.
  assert.strictEqual(got.filter((g) => g.startsWith('$.entry[1].resource.effectiveDateTime:')).length, 1);
  assert.strictEqual(got.length, expect.length, got.join('\n'));
  const conditional = validateBundle(second);
  assert.strictEqual(conditional.length, 1);
  assert.match(conditional[0].message, /conditional reference in a collection Bundle/);
});

test('strict temporal values', () => {
  const ok = [
    ['date', '2024'], ['date', '2024-02'], ['date', '2024-02-29'], ['date', '2000-02-29'],
    ['dateTime', '2024-03-01T10:15:00Z'], ['dateTime', '2024-03-01T10:15:00.5-05:00'],
    ['dateTime', '2024-03-01T10:15:00+14:00'], ['dateTime', '2024-06'],
    ['instant', '2024-03-01T10:15:00.000+01:00'], ['time', '23:59:59'], ['time', '00:00:00.25'],
  ];
  for (const [kind, v] of ok) assert.strictEqual(checkTemporal(kind, v), null, `${kind} ${v}`);
  const bad = [
    ['date', '1900-02-29'], ['date', '2024-04-31'], ['date', '2024-00'], ['date', '0000'],
    ['date', '2024-01-01T00:00:00Z'], ['date', '20240101'],
    ['dateTime', '2024-03-01T10:15Z'], ['dateTime', '2024-03-01T10:15:00'],
    ['dateTime', '2024-03-01T10:15:00+14:30'], ['dateTime', '2024-03-01T10:15:00+0100'],
    ['dateTime', '2024-03-01T10:61:00Z'], ['dateTime', '2024-03-01T10:15:60Z'],
    ['instant', '2024-03-01T10:15Z'], ['instant', '2024-03-01'], ['instant', '2024-03-01T10:15:00'],
    ['time', '24:00:00'], ['time', '10:15'], ['time', '10:15:00Z'],
  ];
  for (const [kind, v] of bad) assert.notStrictEqual(checkTemporal(kind, v), null, `${kind} ${v}`);
});

test('command line: exit codes and output format', {skip}, () => {
  const run = (args, input) => spawnSync(process.execPath, [path.join(__dirname, 'validate.js'), ...args],
                                         {input, encoding: 'utf8'});
  const good = run([path.join(__dirname, 'testdata', 'valid.ndjson')]);
  assert.strictEqual(good.status, 0, good.stdout + good.stderr);
  const bad = run(['-'], data('invalid.ndjson'));
  assert.strictEqual(bad.status, 1);
  assert.match(bad.stdout, /^<stdin>:1: \$\.entry\[0\]\.resource: unknown element 'foo'$/m);
  assert.match(bad.stdout, /^<stdin>:3: \$: invalid JSON/m);
  assert.match(bad.stdout, /^<stdin>:4: \$\.resourceType: expected Bundle/m);
  // A pretty-printed single Bundle is read whole.
  const pretty = JSON.stringify(documents(data('valid.ndjson'))[0].value, null, 2);
  assert.strictEqual(run([], pretty).status, 0);
  assert.strictEqual(run([], '').status, 1);
  assert.strictEqual(run(['--allow-empty'], '').status, 0);
  assert.strictEqual(run(['--bogus'], '').status, 2);
  assert.strictEqual(run(['/nonexistent/file'], '').status, 2);
});
