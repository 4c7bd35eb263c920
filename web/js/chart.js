// A small SVG line chart for /api/stats/rate: messages per bucket (10 s) over
// the last hour, one line per series. Lines differ in colour and dash pattern
// (not colour alone); <title>/<desc> give screen readers a summary.

import {el, svg} from './escape.js';

export const kSeries = [
  {key: 'received', label: 'Received', cls: 'series-received'},
  {key: 'sent', label: 'Sent', cls: 'series-sent'},
  {key: 'errored', label: 'Errored', cls: 'series-errored'},
];

const kWidth = 720;
const kHeight = 220;
const kPad = {left: 48, right: 12, top: 12, bottom: 28};

function niceMax(v) {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

function numbers(list) {
  return Array.isArray(list) ? list.map((v) => (Number.isFinite(v) ? v : 0)) : [];
}

// Returns a <figure> with the chart for `data` ({bucket_s, start, received[], sent[], errored[]}).
export function rateChart(data) {
  const bucket = Number(data && data.bucket_s) || 10;
  const series = kSeries.map((s) => ({...s, values: numbers(data && data[s.key])}));
  const n = Math.max(0, ...series.map((s) => s.values.length));
  // Always an hour wide; a server up for less than that has fewer buckets,
  // drawn at the right (the last bucket is the most recent).
  const frame = Math.max(Math.round(3600 / bucket), n, 2);
  const offset = frame - n;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = kWidth - kPad.left - kPad.right;
  const plotH = kHeight - kPad.top - kPad.bottom;
  const x = (i) => kPad.left + ((offset + i) / (frame - 1)) * plotW;
  const y = (v) => kPad.top + plotH - (v / max) * plotH;

  const totals = series.map((s) => `${s.label.toLowerCase()} ${s.values.reduce((a, b) => a + b, 0)}`);
  const minutes = Math.round((n * bucket) / 60);
  const desc = n === 0 ? 'No data yet: the first bucket is recorded after 10 seconds.' :
      `Messages per ${bucket} seconds over the last ${minutes || 1} minute(s). Totals: ${totals.join(', ')}.`;

  const grid = [];
  for (let i = 0; i <= 4; i += 1) {
    const v = (max * i) / 4;
    grid.push(svg('line', {class: 'grid', x1: kPad.left, x2: kWidth - kPad.right, y1: y(v), y2: y(v)}));
    grid.push(svg('text', {class: 'axis', x: kPad.left - 6, y: y(v) + 4, 'text-anchor': 'end'},
                  String(Math.round(v * 10) / 10)));
  }
  for (let minute = 0; minute <= 60; minute += 15) {
    const i = Math.max(0, frame - 1 - Math.round((minute * 60) / bucket)) - offset;
    grid.push(svg('text', {class: 'axis', x: x(i), y: kHeight - 8, 'text-anchor': 'middle'},
                  minute === 0 ? 'now' : `−${minute} min`));
  }
  const lines = series.map((s) => {
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    // Dots mark the non-zero buckets of a short history (a single bucket draws no line).
    const dots = n > 90 ? [] : s.values.map((v, i) => (v > 0 ?
        svg('circle', {class: `dot ${s.cls}`, cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 3}) : null));
    return [svg('polyline', {class: `line ${s.cls}`, points: pts, 'data-series': s.key}), dots];
  });

  const chart = svg('svg', {viewBox: `0 0 ${kWidth} ${kHeight}`, role: 'img',
                            'aria-labelledby': 'rate-title rate-desc', class: 'chart'},
      svg('title', {id: 'rate-title'}, 'Message rate'),
      svg('desc', {id: 'rate-desc'}, desc),
      grid, lines);
  const legend = el('ul', {class: 'legend'}, series.map((s) =>
      el('li', null, el('span', {class: `swatch ${s.cls}`, 'aria-hidden': 'true'}),
         `${s.label}: ${s.values.reduce((a, b) => a + b, 0)} in the last hour`)));
  return el('figure', {class: 'rate'}, chart,
            el('figcaption', null, `Per ${bucket} s over the last hour: messages received; deliveries sent and errored (one per destination).`), legend);
}
