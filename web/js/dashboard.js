// Dashboard: channels with live counters (GET /api/channels every 2 s), the
// message rate chart (GET /api/stats/rate), queues and recent errors
// (GET /api/status). Rows are updated in place so keyboard focus survives.

import {api} from './api.js';
import {bytes, el, notice, show, when} from './escape.js';
import {rateChart} from './chart.js';

const kPollMs = 2000;
const kRateEveryPolls = 3;  // the chart's buckets are 10 s wide

function sum(list, key) {
  return (list || []).reduce((a, d) => a + (Number(d.counts && d.counts[key]) || 0), 0);
}

const kColumns = [
  ['received', 'Received'], ['filtered', 'Filtered'], ['processed', 'Processed'],
  ['waiting', 'Waiting'], ['sent', 'Sent'], ['errored', 'Errored'], ['queued', 'Queued'],
];

function channelCounts(ch) {
  const c = ch.counts || {};
  return {
    received: c.received, filtered: c.filtered, processed: c.processed, waiting: c.waiting,
    sent: typeof c.sent === 'number' ? c.sent : sum(ch.destinations, 'sent'), errored: c.errored,
    queued: sum(ch.destinations, 'queued'),
  };
}

function destCounts(d) {
  const c = d.counts || {};
  return {received: null, filtered: c.filtered, processed: null, waiting: null, sent: c.sent,
          errored: c.errored, queued: c.queued};
}

function stateBadge(state, blocked) {
  return el('span', {class: `badge state-${blocked ? 'error' : state || 'unknown'}`},
            blocked ? `${show(state)}, blocked` : show(state));
}

function counterCells(counts, scope) {
  return kColumns.map(([key]) => el('td', {class: 'num', dataset: {count: key, scope}},
                                     counts[key] === null ? '' : show(counts[key])));
}

// One <tbody> per channel: the channel row, then a row per destination.
function channelBody(ch) {
  const body = el('tbody', {dataset: {channel: ch.name}});
  const src = ch.source ? `${show(ch.source.kind)} ${ch.source.address || ''}`.trim() : '—';
  body.append(el('tr', {class: 'channel-row'},
      el('th', {scope: 'row'}, el('a', {href: `#/messages?channel=${encodeURIComponent(ch.name)}`,
                                        'aria-label': `Messages of channel ${ch.name}`}, ch.name)),
      el('td', null, stateBadge(ch.state)),
      el('td', null, src),
      counterCells(channelCounts(ch), 'channel')));
  for (const d of ch.destinations || []) {
    body.append(el('tr', {class: 'dest-row', dataset: {destination: d.name}},
        el('th', {scope: 'row', class: 'dest-name'}, el('span', {'aria-hidden': 'true'}, '↳ '), d.name),
        el('td', null, stateBadge(d.state, d.blocked)),
        el('td', null, show(d.kind)),
        counterCells(destCounts(d), 'destination')));
  }
  return body;
}

function updateBody(body, ch) {
  const rows = body.rows;
  const wanted = 1 + (ch.destinations || []).length;
  if (rows.length !== wanted) return false;
  const all = [[ch, channelCounts(ch)], ...(ch.destinations || []).map((d) => [d, destCounts(d)])];
  for (let i = 0; i < all.length; i += 1) {
    const [item, counts] = all[i];
    if (i > 0 && rows[i].dataset.destination !== item.name) return false;
    const badge = rows[i].querySelector('.badge');
    const fresh = stateBadge(item.state, item.blocked);
    if (badge.textContent !== fresh.textContent) badge.replaceWith(fresh);
    for (const cell of rows[i].querySelectorAll('td[data-count]')) {
      const v = counts[cell.dataset.count];
      const text = v === null ? '' : show(v);
      if (cell.textContent !== text) {
        cell.textContent = text;
        cell.classList.add('changed');
        setTimeout(() => cell.classList.remove('changed'), 800);
      }
    }
  }
  return true;
}

function syncChannels(table, channels) {
  const bodies = new Map([...table.tBodies].map((b) => [b.dataset.channel, b]));
  const names = channels.map((c) => c.name);
  const same = names.length === bodies.size && names.every((n, i) => table.tBodies[i].dataset.channel === n);
  if (same && channels.every((ch) => updateBody(bodies.get(ch.name), ch))) return;
  for (const b of [...table.tBodies]) b.remove();
  for (const ch of channels) table.append(channelBody(ch));
}

function queuesTable(queues) {
  if (!queues || queues.length === 0) return el('p', {class: 'empty'}, 'No destination queues.');
  return el('table', {class: 'data'},
      el('caption', {class: 'visually-hidden'}, 'Destination queues'),
      el('thead', null, el('tr', null, ['Channel', 'Destination', 'Queued', 'Oldest queued',
                                        'Blocked / paused', 'Last error'].map((h) => el('th', {scope: 'col'}, h)))),
      el('tbody', null, queues.map((q) => el('tr', {class: q.blocked ? 'blocked' : null},
          el('td', null, show(q.channel)), el('td', null, show(q.destination)),
          el('td', {class: 'num'}, show(q.queued)), el('td', null, when(q.oldest_queued_at)),
          el('td', null, q.blocked ? el('strong', {class: 'badge state-error'}, 'blocked') :
                         q.paused ? el('span', {class: 'badge state-paused'}, 'paused') : 'no'),
          el('td', null, show(q.last_error))))));
}

function errorsList(errors) {
  if (!errors || errors.length === 0) return el('p', {class: 'empty'}, 'No recent errors.');
  return el('ul', {class: 'errors'}, errors.map((e) => el('li', null,
      el('a', {href: `#/messages/${encodeURIComponent(e.id)}`}, `Message ${e.id}`),
      ` · ${show(e.channel)} · ${when(e.at)}: `,
      el('span', {class: 'error-text'}, show(e.error)))));
}

function storeSummary(st) {
  const items = [
    ['Up for', typeof st.uptime_s === 'number' ? `${Math.floor(st.uptime_s / 60)} min ${st.uptime_s % 60} s` : '—'],
    ['Messages stored', st.store ? show(st.store.messages) : '—'],
    ['Message store size', st.store ? bytes(st.store.bytes) : '—'],
    ['FHIR store size', st.fhir_store ? bytes(st.fhir_store.bytes) : '—'],
    ['Last pruning', st.retention ? `${when(st.retention.last_run_at)} (${show(st.retention.last_deleted)} deleted)` : '—'],
  ];
  return el('dl', {class: 'facts'}, items.map(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
}

export function renderDashboard(main, ctx) {
  const table = el('table', {class: 'data channels', id: 'channels'},
      el('caption', null, 'Channels and destinations (updated every 2 s). A channel\'s Queued adds up its destinations.'),
      el('thead', null, el('tr', null,
          el('th', {scope: 'col'}, 'Name'), el('th', {scope: 'col'}, 'State'),
          el('th', {scope: 'col'}, 'Source / kind'),
          kColumns.map(([, label]) => el('th', {scope: 'col', class: 'num'}, label)))));
  const channelsStatus = el('div', {class: 'status-area'});
  const chartBox = el('div', {id: 'rate-chart', class: 'chart-box'}, el('p', {class: 'loading'}, 'Loading…'));
  const queuesBox = el('div', {id: 'queues'});
  const errorsBox = el('div', {id: 'recent-errors'});
  const storeBox = el('div', {id: 'store'});
  const updated = el('p', {class: 'hint', 'aria-live': 'off'});

  main.append(
      el('h1', null, 'Dashboard'),
      el('section', {'aria-labelledby': 'h-channels'},
         el('h2', {id: 'h-channels'}, 'Channels'), channelsStatus,
         el('div', {class: 'table-scroll'}, table), updated),
      el('section', {'aria-labelledby': 'h-rate'}, el('h2', {id: 'h-rate'}, 'Message rate'), chartBox),
      el('div', {class: 'columns'},
         el('section', {'aria-labelledby': 'h-queues'}, el('h2', {id: 'h-queues'}, 'Queues'), queuesBox),
         el('section', {'aria-labelledby': 'h-errors'}, el('h2', {id: 'h-errors'}, 'Recent errors'), errorsBox)),
      el('section', {'aria-labelledby': 'h-store'}, el('h2', {id: 'h-store'}, 'Store'), storeBox));

  let stopped = false;
  let timer = null;
  let polls = 0;

  async function refresh() {
    const wantRate = polls % kRateEveryPolls === 0;
    polls += 1;
    const [channels, status, rate] = await Promise.allSettled([
      api.channels(), api.status(), wantRate ? api.rate() : Promise.resolve(null)]);
    if (stopped) return;
    if (channels.status === 'fulfilled') {
      channelsStatus.replaceChildren();
      syncChannels(table, (channels.value && channels.value.channels) || []);
      updated.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
    } else {
      channelsStatus.replaceChildren(notice('error', `Channels: ${channels.reason.message}`));
    }
    if (status.status === 'fulfilled') {
      const st = status.value || {};
      queuesBox.replaceChildren(queuesTable(st.queues));
      if (!errorsBox.contains(document.activeElement)) errorsBox.replaceChildren(errorsList(st.recent_errors));
      storeBox.replaceChildren(storeSummary(st));
    } else {
      queuesBox.replaceChildren(notice('error', `Status: ${status.reason.message}`));
    }
    if (rate.status === 'fulfilled' && rate.value) {
      chartBox.replaceChildren(rateChart(rate.value));
    } else if (rate.status === 'rejected') {
      chartBox.replaceChildren(notice('error', `Rate: ${rate.reason.message}`));
    }
  }

  // One refresh at a time; the next is scheduled whatever this one did.
  async function poll() {
    if (stopped) return;
    try {
      if (!document.hidden) await refresh();
    } catch (err) {
      channelsStatus.replaceChildren(notice('error', `Cannot show the dashboard data: ${err.message}`));
      console.error(err);
    } finally {
      if (!stopped) timer = setTimeout(poll, kPollMs);
    }
  }
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
