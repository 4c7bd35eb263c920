// Browser test of the web console (issue 7): a real `junction serve` with a
// temporary config and store, Debian's chromium driven headless by
// playwright-core (the browser is never downloaded). Node's test runner:
//   node --test tests/browser/console.test.mjs     (tests/browser/run.sh for ctest)
// Environment: JUNCTION_BIN (default build/test/apps/junction/junction),
// CHROMIUM_BIN (default /usr/bin/chromium), JUNCTION_TIME_SCALE (timeouts),
// JUNCTION_UPDATE_SCREENSHOTS=1 also copies the screenshots to docs/screenshots/.
// Without chromium the browser test is skipped (the static checks still run).

import {test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  sourceDir, outDir, chromiumBin, junctionBin, startServe, mllpSend, tokenFor, mintToken, fhirGet,
  apiGet, scaled,
} from './harness.mjs';

const kWebDir = path.join(sourceDir, 'web');
const kShots = path.join(sourceDir, 'docs', 'screenshots');

// ---------------------------------------------------------------------------
// Static check: no HTML sink anywhere in the console's code.

test('web/js builds the DOM without HTML sinks', () => {
  const sinks = /\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\s*\(|new\s+Function\s*\(|setAttribute\(\s*['"]on/;
  const files = fs.readdirSync(path.join(kWebDir, 'js')).filter((f) => f.endsWith('.js'));
  assert.ok(files.length >= 5, 'web/js has the console modules');
  for (const f of files) {
    const text = fs.readFileSync(path.join(kWebDir, 'js', f), 'utf8');
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      assert.doesNotMatch(line, sinks, `${f}:${i + 1} uses an HTML sink: ${line.trim()}`);
    });
  }
  const html = fs.readFileSync(path.join(kWebDir, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'index.html has no inline script');
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//, 'index.html loads nothing from another origin');
});

// ---------------------------------------------------------------------------
// The browser test against the real server.

const chromium = chromiumBin();
const skipReason = !chromium ? `SKIP: chromium not found (${process.env.CHROMIUM_BIN || '/usr/bin/chromium'}); apt-get install chromium` :
                   !junctionBin() ? `SKIP: no junction binary at ${process.env.JUNCTION_BIN || 'build/test/apps/junction/junction'}` : null;
if (skipReason) console.log(skipReason);

const kOru = (controlId, mrn, name, obx) => [
  `MSH|^~\\&|LAB|HOSP|JUNCTION|HOSP|20240501120000||ORU^R01^ORU_R01|${controlId}|P|2.5`,
  `PID|1||${mrn}^^^HOSP^MR||${name}||19800101|F`,
  'PV1|1|O',
  'OBR|1|ORD-' + controlId + '|FIL-' + controlId + '|2345-7^Glucose^LN|||20240501115500',
  ...obx,
].join('\r') + '\r';

const kMrn = 'BRW1001';
const kOtherMrn = 'BRW666';
const kScript = '<script>window.__xss=1</script>';
const kImg = '"><img src=x onerror="window.__xss=1">';

test('the console against junction serve', {skip: skipReason || false, timeout: scaled(240000)}, async (t) => {
  const {chromium: pw} = await import('playwright-core');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-browser-'));
  fs.mkdirSync(outDir, {recursive: true});
  const server = await startServe(tmp, kWebDir);
  const browser = await pw.launch({executablePath: chromium, headless: true,
                                   args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
  const shots = [];
  const pageErrors = [];
  t.after(async () => {
    await browser.close().catch(() => {});
    await server.stop();
    if (process.env.JUNCTION_KEEP_TMP !== '1') fs.rmSync(tmp, {recursive: true, force: true});
  });
  const context = await browser.newContext({viewport: {width: 1280, height: 900}});
  const page = await context.newPage();
  page.setDefaultTimeout(scaled(20000));
  page.on('pageerror', (e) => {
    pageErrors.push(String(e));
    console.error(`page error: ${e && e.stack ? e.stack : e}`);
  });
  page.on('console', (m) => {
    // (a 404 from /fhir for another patient's id is expected and logged by the browser)
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      console.error(`page console: ${m.text()}`);
    }
  });
  page.on('dialog', (d) => d.accept());
  async function shot(name) {
    const file = path.join(outDir, `${name}.png`);
    await page.screenshot({path: file, fullPage: true});
    shots.push(file);
  }
  const base = server.baseUrl;

  // --- login with client credentials -> dashboard
  await page.goto(`${base}/`);
  await page.locator('#client-id').waitFor();
  await shot('login');
  await page.fill('#client-id', 'demo-app');
  await page.fill('#client-secret', 'demo-secret');
  await page.click('#login-client button[type=submit]');
  await page.waitForURL(/#\/dashboard$/);
  const received = page.locator('tbody[data-channel="inbound"] tr.channel-row td[data-count="received"]');
  await received.waitFor();
  await page.waitForFunction(() => {
    const c = document.querySelector('tbody[data-channel="inbound"] td[data-count="received"]');
    return c && /^\d+$/.test(c.textContent);
  });
  const before = Number(await received.textContent());

  // --- an ORU^R01 over MLLP: the counter moves without a reload
  const ack = await mllpSend(server.mllpPort('inbound'), kOru('BRW-ORU-1', kMrn, 'DOE^JANE^Q', [
    'OBX|1|NM|2345-7^Glucose^LN||182|mg/dL^mg/dL^UCUM|70-99|H|||F|||20240501115500',
  ]));
  assert.match(ack, /MSA\|AA\|BRW-ORU-1/);
  await page.waitForFunction((n) => {
    const c = document.querySelector('tbody[data-channel="inbound"] td[data-count="received"]');
    return c && Number(c.textContent) === n;
  }, before + 1, {timeout: scaled(15000)});
  // the rate chart picks the message up once its 10 s bucket is closed
  await assertText(page.locator('#rate-chart .legend'), /Received: 1 in the last hour/, scaled(40000));
  assert.ok(await page.locator('#rate-chart polyline[data-series="received"]').getAttribute('points'));
  await shot('dashboard');

  // --- the message browser finds it; the detail shows PID-5 with name and value
  await page.click('nav >> text=Messages');
  await page.fill('#f-control_id', 'BRW-ORU-1');
  await page.click('#message-filters button[type=submit]');
  const row = page.locator('#message-list tbody tr', {hasText: 'BRW-ORU-1'});
  await row.waitFor();
  assert.equal(await page.locator('#message-list tbody tr').count(), 1, 'the control id filter narrows the list');
  await shot('messages');
  const messageId = await row.getAttribute('data-id');
  await row.locator('a').first().click();
  await page.waitForURL(new RegExp(`#/messages/${messageId}$`));
  const pid5 = page.locator('#hl7-tree [data-path="PID-5"]');
  await pid5.waitFor();
  await pid5.hover();
  const inspector = page.locator('#field-inspector');
  await assertText(inspector, /PID-5 Patient Name/);
  await assertText(inspector, /DOE\^JANE\^Q/);
  assert.match(await pid5.getAttribute('title'), /^PID-5 Patient Name\n/);
  // keyboard: focusing a field shows it as well
  await page.locator('#hl7-tree [data-path="PID-3"]').focus();
  await assertText(inspector, /PID-3 /);
  await assertText(page.locator('#hl7-tree [data-path="PID-5.1"]'), /DOE/);
  await page.locator('#deliveries tbody tr').first().waitFor();

  // --- reprocess
  await page.click('#reprocess');
  await assertText(page.locator('#action-status'), new RegExp(`Reprocessed: message .*\\b${messageId}\\b`));
  await shot('message-detail');

  // --- the patient view (operator token) has the observation
  await page.click(`#message-summary a[href="#/patient?identifier=${kMrn}"]`);
  const results = page.locator('#results tbody tr', {hasText: 'Glucose'});
  await results.first().waitFor({timeout: scaled(20000)});
  await assertText(results.first(), /182 mg\/dL/);
  await assertText(results.first(), /70-99/);
  await assertText(results.first(), /Abnormal/);
  await assertText(page.locator('#demographics'), /JANE/i);
  await shot('patient');

  // --- XSS: markup in PID-5 and OBX-5 renders as inert text
  const xssAck = await mllpSend(server.mllpPort('inbound'), kOru('BRW-XSS-1', kOtherMrn, `${kScript}^${kImg}`, [
    `OBX|1|ST|8251-1^Comment^LN||${kImg}||||||F|||20240501115500`,
    `OBX|2|ST|8251-2^Note^LN||${kScript}||||||F|||20240501115500`,
  ]));
  assert.match(xssAck, /MSA\|AA\|BRW-XSS-1/);
  await page.click('nav >> text=Messages');
  const xssRow = page.locator('#message-list tbody tr', {hasText: 'BRW-XSS-1'});
  await xssRow.waitFor({timeout: scaled(15000)});
  const xssId = await xssRow.getAttribute('data-id');
  await page.goto(`${base}/#/messages/${xssId}`);
  await page.locator('#hl7-tree [data-path="PID-5"]').waitFor();
  await assertText(page.locator('#hl7-tree [data-path="PID-5"]'), kScript);
  await assertText(page.locator('#hl7-tree [data-path="OBX-5"]').first(), kImg);
  await assertInert(page);
  await page.goto(`${base}/#/patient?identifier=${kOtherMrn}`);
  await page.locator('#results tbody tr').first().waitFor({timeout: scaled(20000)});
  await assertText(page.locator('#results'), kImg);
  await assertText(page.locator('#demographics'), kScript);
  await assertInert(page);
  await shot('patient-xss');

  // --- the patient's own page: only their results; another id gives nothing
  const opToken = await tokenFor(base, 'demo-app', 'demo-secret');
  const mine = await fhirGet(base, opToken, `Patient?identifier=${kMrn}`);
  const other = await fhirGet(base, opToken, `Patient?identifier=${kOtherMrn}`);
  assert.equal(mine.entry.length, 1, 'one FHIR Patient for the first MRN');
  assert.equal(other.entry.length, 1, 'one FHIR Patient for the second MRN');
  const myId = mine.entry[0].resource.id;
  const otherId = other.entry[0].resource.id;
  assert.notEqual(myId, otherId);
  const patientToken = mintToken(server.configPath, tmp, ['--client', 'demo-app', '--scope', 'patient/*.rs',
                                                          '--patient', myId]);
  await page.click('text=Sign out');
  await page.waitForURL(/#\/login$/);
  await page.fill('#token', patientToken);
  await page.click('#login-token button[type=submit]');
  await page.waitForURL(/#\/me$/);
  await page.locator('#results tbody tr').first().waitFor({timeout: scaled(20000)});
  await assertText(page.locator('h1'), /My results/);
  await assertText(page.locator('#results'), /182 mg\/dL/);
  const ownText = await page.locator('main').textContent();
  assert.ok(!ownText.includes(kImg) && !ownText.includes('Comment'), 'the other patient\'s results are not shown');
  assert.deepEqual(await page.locator('nav a').allTextContents(), ['My results'], 'a patient only gets their own page');
  assert.equal(await page.locator('input:not([type=hidden])').count(), 0, 'the patient cannot type another id');
  await shot('my-results');
  await page.goto(`${base}/#/patient/${otherId}`);
  await page.locator('#nothing-found').waitFor();
  assert.equal(await page.locator('#results').count(), 0);
  assert.ok(!(await page.locator('main').textContent()).includes(kImg));
  // and the staff pages send a patient back to their own page
  await page.goto(`${base}/#/messages`);
  await page.waitForURL(/#\/me$/);

  // --- a viewer sees messages but no reprocess/resend buttons
  const viewerToken = mintToken(server.configPath, tmp, ['--client', 'demo-app', '--scope', 'viewer']);
  await page.click('text=Sign out');
  await page.fill('#token', viewerToken);
  await page.click('#login-token button[type=submit]');
  await page.waitForURL(/#\/dashboard$/);
  await page.goto(`${base}/#/messages/${messageId}`);
  await page.locator('#hl7-tree').waitFor();
  assert.equal(await page.locator('#reprocess').count(), 0, 'no reprocess button for a viewer');
  assert.equal(await page.locator('button.resend').count(), 0, 'no resend buttons for a viewer');
  // the API agrees: a viewer may not reprocess
  const refused = await fetch(`${base}/api/messages/${messageId}/reprocess`, {
    method: 'POST', headers: {Authorization: `Bearer ${viewerToken}`, 'Content-Type': 'application/json'}, body: '{}'});
  assert.equal(refused.status, 403);

  // the static route serves no directory listing
  const listing = await fetch(`${base}/js/`);
  assert.notEqual(listing.status, 200, '/js/ is not listed');

  assert.deepEqual(pageErrors, [], 'no script errors in the page');
  const status = await apiGet(base, opToken, `/api/messages/${messageId}`);
  assert.ok(status.message && status.message.id === Number(messageId));

  // the server stops cleanly (and, in sanitizer builds, reports nothing)
  await browser.close();
  const end = await server.stop();
  assert.equal(end.code, 0, `junction serve exit on SIGTERM\n${server.logs()}`);
  assert.doesNotMatch(end.stderr, /ERROR: AddressSanitizer|runtime error:|LeakSanitizer/);

  if (process.env.JUNCTION_UPDATE_SCREENSHOTS === '1') {
    fs.mkdirSync(kShots, {recursive: true});
    for (const f of shots) fs.copyFileSync(f, path.join(kShots, path.basename(f)));
  }
});

async function assertText(locator, expected, timeoutMs = scaled(10000)) {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await locator.textContent()) || '';
    if (typeof expected === 'string' ? text.includes(expected) : expected.test(text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`expected ${expected} in ${JSON.stringify(text.slice(0, 500))}`);
}

async function assertInert(page) {
  const state = await page.evaluate(() => ({
    xss: window.__xss,
    imgs: document.querySelectorAll('img').length,
    scripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
  }));
  assert.equal(state.xss, undefined, 'no injected script ran');
  assert.equal(state.imgs, 0, 'no <img> element was created from data');
  assert.equal(state.scripts, 0, 'no inline <script> element was created from data');
}
