// The patient record assembled from FHIR (GET /fhir/Patient/{id}/$everything,
// following `next` links): demographics, results, encounters, immunizations
// and allergies. Staff reach it from a message's patient id (looked up with
// Patient?identifier=) or by FHIR id; a patient token sees its own record at
// #/me. The FHIR API limits a patient token to its own compartment, so any
// other id answers 404 or nothing: the page then says "Nothing found".

import {ApiError, fhir} from './api.js';
import {el, notice, show} from './escape.js';
import {codeText, codesText, dateText, humanName, interpretation, observationDate,
        observationValue, period, referenceRange} from './fhir_format.js';

const kMaxPages = 40;
const kPageCount = 200;

function escapeSearch(value) {
  return String(value).replace(/[\\,$|]/g, (c) => `\\${c}`);
}

async function everything(id) {
  const byKey = new Map();
  let link = `Patient/${encodeURIComponent(id)}/$everything?_count=${kPageCount}`;
  for (let page = 0; link && page < kMaxPages; page += 1) {
    const bundle = await fhir(link);
    for (const entry of (bundle && bundle.entry) || []) {
      const r = entry && entry.resource;
      if (r && r.resourceType) byKey.set(`${r.resourceType}/${r.id}`, r);
    }
    const next = ((bundle && bundle.link) || []).find((l) => l.relation === 'next');
    link = next ? next.url : null;
  }
  const groups = {};
  for (const r of byKey.values()) (groups[r.resourceType] ||= []).push(r);
  return groups;
}

function section(id, title, items, build, emptyText) {
  const count = items.length;
  return el('section', {'aria-labelledby': `h-${id}`, id},
      el('h2', {id: `h-${id}`}, title, el('span', {class: 'count'}, ` (${count})`)),
      count === 0 ? el('p', {class: 'empty'}, emptyText) : build(items));
}

function table(caption, headers, rows) {
  return el('div', {class: 'table-scroll'}, el('table', {class: 'data'},
      el('caption', {class: 'visually-hidden'}, caption),
      el('thead', null, el('tr', null, headers.map((h) => el('th', {scope: 'col'}, h)))),
      el('tbody', null, rows)));
}

function demographics(p) {
  const ids = (p.identifier || []).map((i) => `${i.value || ''}${i.system ? ` (${i.system})` : ''}`);
  const addr = (p.address || []).map((a) => a.text ||
      [...(a.line || []), a.city, a.state, a.postalCode, a.country].filter(Boolean).join(', '));
  const telecom = (p.telecom || []).map((t) => `${t.value || ''}${t.system ? ` (${t.system})` : ''}`);
  const rows = [
    ['Name', humanName(p.name)], ['Birth date', dateText(p.birthDate)], ['Gender', p.gender],
    ['Identifiers', ids.join('; ')], ['Address', addr.join('; ')], ['Contact', telecom.join('; ')],
    ['Deceased', p.deceasedBoolean ? 'yes' : p.deceasedDateTime ? dateText(p.deceasedDateTime) : ''],
    ['FHIR id', p.id],
  ];
  return el('section', {'aria-labelledby': 'h-demographics', id: 'demographics'},
      el('h2', {id: 'h-demographics'}, 'Demographics'),
      el('dl', {class: 'facts'}, rows.filter(([, v]) => v).map(([k, v]) =>
          [el('dt', null, k), el('dd', null, show(v))])));
}

function resultsTable(list) {
  const sorted = [...list].sort((a, b) => String(observationDate(b)).localeCompare(String(observationDate(a))));
  return table('Results, newest first',
      ['Date', 'Test', 'Value', 'Reference range', 'Flag', 'Status'],
      sorted.map((o) => {
        const flag = interpretation(o);
        return el('tr', {class: flag.abnormal ? 'abnormal' : null, dataset: {id: o.id}},
            el('td', null, show(dateText(observationDate(o)))),
            el('th', {scope: 'row'}, show(codeText(o.code))),
            el('td', {class: 'value'}, show(observationValue(o))),
            el('td', null, show(referenceRange(o))),
            el('td', null, flag.text ? el('span', {class: flag.abnormal ? 'badge flag-abnormal' : 'badge flag-normal'},
                                          flag.abnormal ? `Abnormal: ${flag.text}` : flag.text) : '—'),
            el('td', null, show(o.status)));
      }));
}

function encountersTable(list) {
  return table('Encounters', ['Period', 'Class', 'Type', 'Status', 'Location'], list.map((e) =>
      el('tr', null,
         el('td', null, show(period(e.period))),
         el('td', null, show(e.class ? e.class.display || e.class.code : '')),
         el('td', null, show(codesText(e.type))),
         el('td', null, show(e.status)),
         el('td', null, show((e.location || []).map((l) => l.location && (l.location.display || l.location.reference))
                             .filter(Boolean).join(', '))))));
}

function immunizationsTable(list) {
  return table('Immunizations', ['Date', 'Vaccine', 'Status', 'Lot', 'Dose'], list.map((i) =>
      el('tr', null,
         el('td', null, show(dateText(i.occurrenceDateTime) || i.occurrenceString)),
         el('th', {scope: 'row'}, show(codeText(i.vaccineCode))),
         el('td', null, show(i.status)),
         el('td', null, show(i.lotNumber)),
         el('td', null, show(i.doseQuantity ? `${i.doseQuantity.value ?? ''} ${i.doseQuantity.unit || ''}`.trim() : '')))));
}

function allergiesTable(list) {
  return table('Allergies and intolerances', ['Substance', 'Clinical status', 'Verification', 'Criticality',
                                              'Reactions', 'Recorded'], list.map((a) =>
      el('tr', null,
         el('th', {scope: 'row'}, show(codeText(a.code))),
         el('td', null, show(codeText(a.clinicalStatus))),
         el('td', null, show(codeText(a.verificationStatus))),
         el('td', null, show(a.criticality)),
         el('td', null, show((a.reaction || []).map((r) => codesText(r.manifestation)).filter(Boolean).join('; '))),
         el('td', null, show(dateText(a.recordedDate))))));
}

function nothingFound(box, text) {
  box.replaceChildren(el('p', {class: 'notice empty', id: 'nothing-found', role: 'status'}, text));
}

async function showRecord(box, heading, id, own) {
  box.replaceChildren(el('p', {class: 'loading', role: 'status'}, 'Loading the record…'));
  let groups;
  try {
    groups = await everything(id);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 410)) {
      nothingFound(box, 'Nothing found: there is no record for this patient id.');
    } else {
      box.replaceChildren(notice('error', `Cannot load the record: ${err.message}`));
    }
    return;
  }
  const patient = (groups.Patient || []).find((p) => p.id === id);
  if (!patient) {
    nothingFound(box, 'Nothing found: there is no record for this patient id.');
    return;
  }
  const name = humanName(patient.name);
  heading.textContent = own ? `My results${name ? `: ${name}` : ''}` : `Patient: ${name || id}`;
  const shown = new Set(['Patient', 'Observation', 'Encounter', 'Immunization', 'AllergyIntolerance']);
  const others = Object.entries(groups).filter(([t]) => !shown.has(t));
  box.replaceChildren(
      demographics(patient),
      section('results', 'Results', groups.Observation || [], resultsTable, 'No results.'),
      section('encounters', 'Encounters', groups.Encounter || [], encountersTable, 'No encounters.'),
      section('immunizations', 'Immunizations', groups.Immunization || [], immunizationsTable, 'No immunizations.'),
      section('allergies', 'Allergies', groups.AllergyIntolerance || [], allergiesTable, 'No allergies recorded.'),
      others.length ? el('p', {class: 'hint'}, `Also in the record: ${others.map(([t, l]) => `${t} ${l.length}`).join(', ')}.`) : '');
}

// #/patient/{id}, #/patient?identifier=MRN and #/me.
export function renderPatientPage(main, ctx, {id, identifier, own}) {
  const heading = el('h1', null, own ? 'My results' : 'Patient');
  const box = el('div', {id: 'patient-record'});
  if (!own && !ctx.session.patient) {
    main.append(el('p', {class: 'crumbs'}, el('a', {href: '#/patient'}, '← Find a patient')));
  }
  main.append(heading, box);
  if (own && !id) {
    nothingFound(box, 'Nothing found: this token names no patient.');
    return null;
  }
  if (id) {
    showRecord(box, heading, id, own);
    return null;
  }
  heading.textContent = `Patient ${identifier}`;
  box.replaceChildren(el('p', {class: 'loading', role: 'status'}, 'Looking up the patient…'));
  fhir(`Patient?identifier=${encodeURIComponent(escapeSearch(identifier))}&_count=20`).then((bundle) => {
    const found = ((bundle && bundle.entry) || []).map((e) => e.resource).filter((r) => r && r.resourceType === 'Patient');
    if (found.length === 0) {
      nothingFound(box, `Nothing found: no patient has the identifier ${identifier}.`);
    } else if (found.length === 1) {
      showRecord(box, heading, found[0].id, false);
    } else {
      box.replaceChildren(el('p', null, `${found.length} patients have the identifier ${identifier}:`),
          el('ul', null, found.map((p) => el('li', null,
              el('a', {href: `#/patient/${encodeURIComponent(p.id)}`}, humanName(p.name) || p.id),
              ` · born ${show(dateText(p.birthDate))} · FHIR id ${p.id}`))));
    }
  }).catch((err) => {
    box.replaceChildren(notice('error', `Cannot look up the patient: ${err.message}`));
  });
  return null;
}

// #/patient: a lookup form for staff.
export function renderPatientLookup(main, ctx) {
  const form = el('form', {class: 'card', id: 'patient-lookup', role: 'search', 'aria-label': 'Find a patient'},
      el('label', {for: 'lookup-identifier'}, 'Patient identifier (e.g. the MRN in PID-3)'),
      el('input', {id: 'lookup-identifier', name: 'identifier', autocomplete: 'off'}),
      el('p', {class: 'hint'}, 'or'),
      el('label', {for: 'lookup-id'}, 'FHIR Patient id'),
      el('input', {id: 'lookup-id', name: 'id', autocomplete: 'off', pattern: '[A-Za-z0-9.\\-]{1,64}'}),
      el('button', {type: 'submit'}, 'Open record'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const fhirId = String(data.get('id') || '').trim();
    const ident = String(data.get('identifier') || '').trim();
    if (fhirId) ctx.navigate(`#/patient/${encodeURIComponent(fhirId)}`);
    else if (ident) ctx.navigate(`#/patient?identifier=${encodeURIComponent(ident)}`);
  });
  main.append(el('h1', null, 'Patients'),
              el('p', {class: 'lead'}, 'Open a patient record assembled from the FHIR store. Message lists link here from each patient id.'),
              form);
  return null;
}
