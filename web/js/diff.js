// Line diff (longest common subsequence) of the received and transformed
// message, one line per segment. Messages have tens to hundreds of segments;
// beyond kMaxCells the table shows both versions side by side unaligned.

import {el} from './escape.js';

const kMaxCells = 4000000;

// Returns [{op: ' '|'-'|'+', a: lineNo|null, b: lineNo|null, text}].
export function diffLines(a, b) {
  const n = a.length;
  const m = b.length;
  if (n * m > kMaxCells) {
    return [...a.map((t, i) => ({op: '-', a: i + 1, b: null, text: t})),
            ...b.map((t, j) => ({op: '+', a: null, b: j + 1, text: t}))];
  }
  const lcs = Array.from({length: n + 1}, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push({op: ' ', a: i + 1, b: j + 1, text: a[i]});
      i += 1;
      j += 1;
    } else if (j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({op: '-', a: i + 1, b: null, text: a[i]});
      i += 1;
    } else {
      out.push({op: '+', a: null, b: j + 1, text: b[j]});
      j += 1;
    }
  }
  return out;
}

const kOpNames = {' ': 'unchanged', '-': 'removed', '+': 'added'};

export function diffTable(rows) {
  const changed = rows.filter((r) => r.op !== ' ').length;
  return el('div', null,
      el('p', {class: 'hint', id: 'diff-summary'}, changed === 0 ? 'The transform changed nothing.' :
         `${rows.filter((r) => r.op === '-').length} segment line(s) removed, ${rows.filter((r) => r.op === '+').length} added.`),
      el('div', {class: 'table-scroll'}, el('table', {class: 'diff', id: 'diff'},
          el('caption', {class: 'visually-hidden'}, 'Received versus transformed, line by line'),
          el('thead', null, el('tr', null, el('th', {scope: 'col'}, 'Change'), el('th', {scope: 'col'}, 'Received line'),
                                       el('th', {scope: 'col'}, 'Transformed line'), el('th', {scope: 'col'}, 'Segment'))),
          el('tbody', null, rows.map((r) => el('tr', {class: `diff-${kOpNames[r.op]}`},
              el('td', {class: 'op'}, el('span', {'aria-hidden': 'true'}, r.op === ' ' ? '' : r.op),
                 el('span', {class: 'visually-hidden'}, kOpNames[r.op])),
              el('td', {class: 'num'}, r.a === null ? '' : String(r.a)),
              el('td', {class: 'num'}, r.b === null ? '' : String(r.b)),
              el('td', null, el('code', null, r.text))))))));
}
