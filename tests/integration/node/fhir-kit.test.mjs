#!/usr/bin/env node
// fhir-kit-client (a FHIR client we did not write) against `junction serve`:
// CRUD, search with paging (nextPage/prevPage), conditional create, a
// transaction and a batch. Run by tests/integration/test_fhir_kit.py, which
// starts the server and passes FHIR_BASE_URL and FHIR_TOKEN; skipped when
// they are missing.  Usage: FHIR_BASE_URL=... FHIR_TOKEN=... node --test fhir-kit.test.mjs
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client } from 'fhir-kit-client';

const baseUrl = process.env.FHIR_BASE_URL;
const bearerToken = process.env.FHIR_TOKEN;
const skip = !baseUrl || !bearerToken ? 'FHIR_BASE_URL and FHIR_TOKEN are not set' : false;
const client = skip ? null : new Client({ baseUrl, bearerToken });
const uniq = (prefix) => prefix + crypto.randomBytes(6).toString('hex');
const kSystem = 'http://hospital.example/mrn';

function patient(family, extra = {}) {
  return { resourceType: 'Patient', name: [{ family, given: ['Kit'] }], gender: 'female',
    birthDate: '1985-05-05', ...extra };
}

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (err) {
    if (!err.response) throw err;
    return err.response.status;
  }
}

test('capability statement', { skip }, async () => {
  const cs = await client.capabilityStatement();
  assert.equal(cs.resourceType, 'CapabilityStatement');
  assert.equal(cs.fhirVersion, '4.0.1');
});

test('create, read, update, vread, delete', { skip }, async () => {
  const family = uniq('Kit');
  const created = await client.create({ resourceType: 'Patient', body: patient(family) });
  assert.equal(created.resourceType, 'Patient');
  assert.ok(created.id);
  assert.equal(created.meta.versionId, '1');

  const read = await client.read({ resourceType: 'Patient', id: created.id });
  assert.equal(read.name[0].family, family);

  const updated = await client.update({
    resourceType: 'Patient', id: created.id,
    body: { ...read, name: [{ family: family + 'X', given: ['Kit'] }] },
  });
  assert.equal(updated.meta.versionId, '2');
  assert.equal(updated.name[0].family, family + 'X');

  const v1 = await client.vread({ resourceType: 'Patient', id: created.id, version: '1' });
  assert.equal(v1.name[0].family, family);

  const history = await client.history({ resourceType: 'Patient', id: created.id });
  assert.equal(history.type, 'history');
  assert.equal(history.total, 2);

  await client.delete({ resourceType: 'Patient', id: created.id });
  assert.equal(await status(client.read({ resourceType: 'Patient', id: created.id })), 410);
  assert.equal(await status(client.read({ resourceType: 'Patient', id: uniq('none') })), 404);
});

test('search with paging', { skip }, async () => {
  const family = uniq('Page');
  const made = [];
  for (let i = 0; i < 5; i++) {
    made.push((await client.create({ resourceType: 'Patient', body: patient(family) })).id);
  }
  let bundle = await client.search({ resourceType: 'Patient',
    searchParams: { family, _count: 2 } });
  assert.equal(bundle.total, 5);
  const seen = [];
  const pages = [];
  for (;;) {
    pages.push(bundle);
    assert.ok((bundle.entry || []).length <= 2);
    for (const e of bundle.entry || []) seen.push(e.resource.id);
    const next = client.nextPage({ bundle });
    if (!next) break;
    assert.ok(pages.length < 5, 'paging does not end');
    bundle = await next;
  }
  assert.equal(pages.length, 3);
  assert.deepEqual([...seen].sort(), [...made].sort());
  // Back from the last page.
  const prev = client.prevPage({ bundle: pages[2] });
  assert.ok(prev, 'the last page has a previous link');
  const back = await prev;
  assert.deepEqual(back.entry.map((e) => e.resource.id), pages[1].entry.map((e) => e.resource.id));
  // POST _search gives the same total.
  const posted = await client.search({ resourceType: 'Patient', searchParams: { family },
    options: { postSearch: true } });
  assert.equal(posted.total, 5);
});

test('conditional create', { skip }, async () => {
  const mrn = uniq('kit');
  const body = patient(uniq('Cond'), { identifier: [{ system: kSystem, value: mrn }] });
  const options = { headers: { 'If-None-Exist': `identifier=${kSystem}|${mrn}` } };
  const first = await client.create({ resourceType: 'Patient', body, options });
  assert.ok(first.id);
  await client.create({ resourceType: 'Patient', body, options });
  const found = await client.search({ resourceType: 'Patient',
    searchParams: { identifier: `${kSystem}|${mrn}` } });
  assert.equal(found.total, 1);
  assert.equal(found.entry[0].resource.id, first.id);
});

test('transaction and batch', { skip }, async () => {
  const mrn = uniq('tx');
  const pUrn = 'urn:uuid:' + crypto.randomUUID();
  const response = await client.transaction({ body: {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { fullUrl: pUrn, resource: patient(uniq('Tx'), { identifier: [{ system: kSystem, value: mrn }] }),
        request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Observation', status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
        subject: { reference: pUrn }, valueQuantity: { value: 12.5, unit: 'g/dL' } },
        request: { method: 'POST', url: 'Observation' } },
    ],
  } });
  assert.equal(response.type, 'transaction-response');
  assert.equal(response.entry.length, 2);
  const pid = /Patient\/([^/]+)/.exec(response.entry[0].response.location)[1];
  const obs = await client.search({ resourceType: 'Observation', searchParams: { patient: pid } });
  assert.equal(obs.total, 1);
  assert.equal(obs.entry[0].resource.subject.reference, `Patient/${pid}`);

  const batch = await client.batch({ body: {
    resourceType: 'Bundle', type: 'batch',
    entry: [
      { resource: patient(uniq('Batch')), request: { method: 'POST', url: 'Patient' } },
      { request: { method: 'DELETE', url: `Patient/${pid}` } },
    ],
  } });
  assert.equal(batch.type, 'batch-response');
  assert.match(batch.entry[0].response.status, /^201/);
  assert.equal(await status(client.read({ resourceType: 'Patient', id: pid })), 410);
});

test('no token is refused', { skip }, async () => {
  const anonymous = new Client({ baseUrl });
  assert.equal(await status(anonymous.search({ resourceType: 'Patient' })), 401);
});
