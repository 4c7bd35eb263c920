#!/usr/bin/env node
// Runs `junction convert` over HL7 inputs and checks what comes out:
//   - every Bundle passes validate.js (R4 schema, references, strict dates);
//   - converting the same file twice gives identical bytes (determinism);
//   - golden inputs and ../shared/corpus/fhir-converter (one message per file)
//     convert with exit 0 to exactly one Bundle; the edge-case corpus may be
//     refused (exit 1 with a reason on stderr) but never crashes.
//
//   node tests/fhir-validate/check-convert.js --junction build/test/apps/junction/junction \
//        --golden tests/golden/fhir/cases --corpus ../shared/corpus
//
// Exit 0 all good, 1 problems, 77 skipped (node_modules absent and CI unset;
// under CI=true a missing install is a failure).
'use strict';

const fs = require('fs');
const path = require('path');
const {spawnSync} = require('child_process');

const SKIP = 77;
const TIMEOUT_MS = 60_000;

function parseArgs(argv) {
  const out = {junction: null, golden: [], corpus: [], verbose: false};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--junction') out.junction = argv[++i];
    else if (a === '--golden') out.golden.push(argv[++i]);
    else if (a === '--corpus') out.corpus.push(argv[++i]);
    else if (a === '--verbose') out.verbose = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!out.junction) throw new Error('--junction BIN is required');
  return out;
}

function listFiles(dir, filter) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (filter(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(__dirname, 'node_modules', 'ajv'))) {
    const msg = 'check-convert: tests/fhir-validate/node_modules is absent; run tests/fhir-validate/install.sh';
    if (process.env.CI) {
      process.stderr.write(`${msg} (CI: failing, not skipping)\n`);
      return 1;
    }
    process.stdout.write(`SKIP: ${msg}\n`);
    return SKIP;
  }
  const {validateBundle, documents, loadSchema} = require('./validate.js');
  loadSchema();

  // [file, kind]: kind 'strict' must convert to one Bundle; 'edge' may be refused.
  const inputs = [];
  for (const d of args.golden) {
    for (const f of listFiles(d, (p) => p.endsWith('.hl7'))) inputs.push([f, 'strict']);
  }
  for (const d of args.corpus) {
    if (!fs.existsSync(d)) {
      process.stdout.write(`check-convert: corpus ${d} absent; skipping it\n`);
      continue;
    }
    for (const f of listFiles(d, (p) => /\.(hl7|bin)$/.test(p))) {
      inputs.push([f, f.includes(`${path.sep}fhir-converter${path.sep}`) ? 'strict' : 'edge']);
    }
  }
  if (inputs.length === 0) {
    process.stderr.write('check-convert: no input files\n');
    return 1;
  }

  let problems = 0;
  let bundles = 0;
  let refused = 0;
  const report = (file, msg) => {
    problems += 1;
    process.stdout.write(`${path.relative(process.cwd(), file)}: ${msg}\n`);
  };
  const run = (file) => spawnSync(args.junction, ['convert', file], {
    encoding: 'buffer', timeout: TIMEOUT_MS, maxBuffer: 256 << 20,
  });
  for (const [file, kind] of inputs) {
    const first = run(file);
    if (first.error) {
      report(file, `junction convert failed to run: ${first.error.message}`);
      continue;
    }
    const stderr = first.stderr.toString('utf8');
    if (first.signal) {
      report(file, `junction convert killed by ${first.signal}\n${stderr.slice(0, 2000)}`);
      continue;
    }
    if (first.status !== 0) {
      const allowed = kind === 'edge' && first.status === 1 && stderr.trim() !== '';
      if (!allowed) {
        report(file, `junction convert exited ${first.status}: ${stderr.trim().slice(0, 500)}`);
        continue;
      }
      refused += 1;
    }
    const second = run(file);
    if (!second.error && !first.stdout.equals(second.stdout)) {
      report(file, 'not deterministic: two conversions gave different bytes');
    }
    const docs = documents(first.stdout.toString('utf8'));
    if (kind === 'strict' && docs.length !== 1) {
      report(file, `expected one Bundle, got ${docs.length}`);
    }
    for (const doc of docs) {
      bundles += 1;
      const found = doc.error ? [{path: '$', message: doc.error}] : validateBundle(doc.value);
      for (const p of found.slice(0, 50)) report(file, `bundle at output line ${doc.line}: ${p.path}: ${p.message}`);
      if (found.length > 50) report(file, `... ${found.length - 50} more problems`);
    }
    if (args.verbose) process.stdout.write(`ok ${file}: ${docs.length} bundle(s)\n`);
  }
  process.stdout.write(`check-convert: ${inputs.length} file(s), ${bundles} bundle(s), ` +
                       `${refused} input(s) refused with a reason, ${problems} problem(s)\n`);
  return problems === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (e) {
  process.stderr.write(`check-convert: ${e.message}\n`);
  process.exitCode = 2;
}
