// One message: summary, actions (reprocess, resend; operators and admins),
// the HL7 tree with field names from the dictionary, received vs transformed
// diff, deliveries, raw text and the FHIR output. Data: GET /api/messages/{id}.

import {api} from './api.js';
import {el, notice, show, when} from './escape.js';
import {patientLink, statusBadge} from './messages.js';
import {diffLines, diffTable} from './diff.js';

function canAct(session) {
  return session && (session.role === 'operator' || session.role === 'admin');
}

function splitSegments(text) {
  return typeof text === 'string' ? text.split(/\r\n|\r|\n/).filter((s) => s !== '') : [];
}

// The inspector shows the field under the pointer or the keyboard focus.
function inspector() {
  const box = el('div', {id: 'field-inspector', class: 'inspector', 'aria-live': 'polite'},
                 el('p', {class: 'hint'}, 'Hover over or focus a field to see its name and decoded value.'));
  box.showItem = (item) => {
    box.replaceChildren(
        el('p', {class: 'inspector-name'}, `${item.path} ${item.name || '(no name in the dictionary)'}`),
        el('dl', {class: 'facts'},
           el('dt', null, 'Raw'), el('dd', null, el('code', {class: 'raw'}, show(item.raw))),
           el('dt', null, 'Decoded'), el('dd', null, el('code', {class: 'value'}, show(item.value)))));
  };
  return box;
}

let describeSeq = 0;

// A field or component: a focusable line with its path, name, raw and decoded value.
function itemLine(item, box) {
  describeSeq += 1;
  const descId = `fd-${describeSeq}`;
  const label = `${item.path}${item.name ? ` ${item.name}` : ''}`;
  const decoded = item.value !== undefined && item.value !== item.raw;
  const title = `${label}\nraw: ${show(item.raw)}\ndecoded: ${show(item.value)}`;
  const node = el('span', {class: 'item', tabindex: '0', title, 'aria-describedby': descId,
                           dataset: {path: item.path}},
      el('span', {class: 'path'}, item.path), ' ',
      el('span', {class: 'name'}, item.name || ''), ' ',
      el('code', {class: 'raw'}, show(item.raw)),
      decoded ? [' ', el('span', {class: 'decoded'}, el('span', {'aria-hidden': 'true'}, '→ '),
                         el('code', null, show(item.value)))] : null,
      el('span', {id: descId, class: 'visually-hidden'}, `${label}, decoded value: ${show(item.value)}`));
  const showIt = () => box.showItem(item);
  node.addEventListener('mouseenter', showIt);
  node.addEventListener('focus', showIt);
  return node;
}

function treeView(tree, box) {
  if (!Array.isArray(tree) || tree.length === 0) return el('p', {class: 'empty'}, 'No parsed tree.');
  return el('ul', {class: 'tree', id: 'hl7-tree', 'aria-label': 'Segments'}, tree.map((seg) =>
      el('li', {class: 'segment', dataset: {segment: seg.segment}},
         el('details', {open: true},
            el('summary', null, el('strong', null, show(seg.segment)),
               seg.name ? ` ${seg.name}` : '', ` · #${show(seg.index)} · line ${show(seg.line)}`),
            el('ul', {class: 'fields'}, (seg.fields || []).map((f) =>
                el('li', null, itemLine(f, box),
                   Array.isArray(f.components) && f.components.length > 0 ?
                     el('ul', {class: 'components'}, f.components.map((c) =>
                         el('li', null, itemLine(c, box),
                            Array.isArray(c.subcomponents) && c.subcomponents.length > 0 ?
                              el('ul', {class: 'components'}, c.subcomponents.map((s) =>
                                  el('li', null, itemLine(s, box)))) : null))) : null)))))));
}

function deliveriesTable(detail, session, onResend) {
  const list = detail.deliveries || [];
  if (list.length === 0) return el('p', {class: 'empty'}, 'No deliveries.');
  const act = canAct(session);
  return el('table', {class: 'data', id: 'deliveries'},
      el('caption', {class: 'visually-hidden'}, 'Deliveries'),
      el('thead', null, el('tr', null, ['Destination', 'Status', 'Attempts', 'Updated', 'Next attempt',
                                        'Error', 'Response', act ? 'Action' : null]
          .filter(Boolean).map((h) => el('th', {scope: 'col'}, h)))),
      el('tbody', null, list.map((d) => el('tr', {dataset: {destination: d.destination}},
          el('th', {scope: 'row'}, show(d.destination)),
          el('td', null, statusBadge(d.status)),
          el('td', {class: 'num'}, show(d.attempts)),
          el('td', null, when(d.updated_at)),
          el('td', null, when(d.next_attempt_at)),
          el('td', {class: 'error-text'}, show(d.error)),
          el('td', null, el('code', null, show(d.response))),
          act ? el('td', null, el('button', {type: 'button', class: 'secondary resend',
                                              onclick: (e) => onResend(d.destination, e.currentTarget)},
                                   'Resend', el('span', {class: 'visually-hidden'}, ` to ${d.destination}`))) : null))));
}

function summary(m) {
  const rows = [
    ['Id', show(m.id)], ['Received (UTC)', when(m.received_at)], ['Channel', show(m.channel)],
    ['Type', show(m.type)], ['Control id', show(m.control_id)],
    ['Patient id', m.patient_id ? patientLink(m.patient_id) : '—'],
    ['Status', statusBadge(m.status)], ['Error', show(m.error)],
    ['Sending application', show(m.sending_application)], ['Bytes', show(m.size)],
  ];
  return el('dl', {class: 'facts', id: 'message-summary'},
            rows.map(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
}

export function renderMessageDetail(main, ctx, id) {
  const heading = el('h1', null, `Message ${id}`);
  const statusArea = el('div', {class: 'status-area', id: 'action-status'});
  const body = el('div', {id: 'message-body'}, el('p', {class: 'loading'}, 'Loading…'));
  main.append(el('p', {class: 'crumbs'}, el('a', {href: '#/messages'}, '← Messages')),
              heading, statusArea, body);
  let alive = true;

  async function act(label, fn, button) {
    if (!window.confirm(`${label}? The message will be delivered again.`)) return;
    button.disabled = true;
    statusArea.replaceChildren(notice('info', `${label}…`));
    try {
      const result = await fn();
      if (!alive) return;
      const text = result && Array.isArray(result.reprocessed) ?
          `Reprocessed: message ${result.reprocessed.join(', ')}.` :
          result && result.delivery ? `Resent to ${show(result.delivery.destination)}: ${show(result.delivery.status)}.` :
          `${label}: done.`;
      await load();
      statusArea.replaceChildren(notice('ok', text));
    } catch (err) {
      statusArea.replaceChildren(notice('error', `${label} failed: ${err.message}`));
    } finally {
      button.disabled = false;
    }
  }

  async function load() {
    let detail;
    try {
      detail = await api.message(id);
    } catch (err) {
      if (!alive) return;
      body.replaceChildren(notice('error', err.status === 404 ? `Message ${id} was not found.` :
                                               `Cannot load message ${id}: ${err.message}`));
      return;
    }
    if (!alive) return;
    const m = detail.message || {};
    const box = inspector();
    const actions = el('div', {class: 'actions'});
    if (canAct(ctx.session)) {
      const reprocess = el('button', {type: 'button', id: 'reprocess'}, 'Reprocess');
      reprocess.addEventListener('click', () => act('Reprocess', () => api.reprocess(id), reprocess));
      actions.append(reprocess);
    } else {
      actions.append(el('p', {class: 'hint'}, 'Reprocess and resend need the operator role.'));
    }
    const refresh = el('button', {type: 'button', class: 'secondary', onclick: () => load()}, 'Refresh');
    actions.append(refresh);

    const received = splitSegments(detail.raw);
    const transformed = detail.transformed === null || detail.transformed === undefined ? null :
                        splitSegments(detail.transformed);
    const fhirIssues = Array.isArray(detail.fhir_issues) ? detail.fhir_issues : [];

    body.replaceChildren(
        summary(m), actions,
        el('section', {'aria-labelledby': 'h-tree'},
           el('h2', {id: 'h-tree'}, 'Structure'),
           el('div', {class: 'tree-layout'}, treeView(detail.tree, box), box)),
        el('section', {'aria-labelledby': 'h-diff'},
           el('h2', {id: 'h-diff'}, 'Received vs transformed'),
           transformed === null ? el('p', {class: 'empty'}, 'No transformed version: the channel delivers the message as received.')
                                : diffTable(diffLines(received, transformed))),
        el('section', {'aria-labelledby': 'h-deliveries'},
           el('h2', {id: 'h-deliveries'}, 'Deliveries'),
           deliveriesTable(detail, ctx.session, (dest, button) =>
               act(`Resend to ${dest}`, () => api.resend(id, dest), button))),
        el('section', {'aria-labelledby': 'h-raw'},
           el('h2', {id: 'h-raw'}, 'Raw message'),
           el('pre', {class: 'raw-message', id: 'raw-message', tabindex: '0',
                      'aria-label': 'Raw message'}, received.join('\n'))),
        el('section', {'aria-labelledby': 'h-fhir'},
           el('h2', {id: 'h-fhir'}, 'FHIR output'),
           fhirIssues.length ? el('ul', {class: 'issues'}, fhirIssues.map((i) => el('li', null, show(i)))) : null,
           detail.fhir ? el('details', null, el('summary', null, 'FHIR Bundle (JSON)'),
                            el('pre', {class: 'json', tabindex: '0'}, JSON.stringify(detail.fhir, null, 2)))
                       : el('p', {class: 'empty'}, 'No FHIR output for this message.')));
  }
  load();
  return () => {
    alive = false;
  };
}
