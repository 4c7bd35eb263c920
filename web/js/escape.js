// DOM building without HTML parsing. Every piece of data reaches the page as
// a text node or an attribute value set with setAttribute, never through
// innerHTML: message fields and FHIR resources may contain markup (<script>,
// "><img onerror=…>) and must show as the literal text they are.
// tests/browser/console.test.mjs checks that no web/js file uses an HTML sink.

const kSvgNs = 'http://www.w3.org/2000/svg';

function setProps(node, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.setAttribute('class', value);
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) {
      // Handlers are functions from code; an inline handler string is never set.
      if (typeof value === 'function') node.addEventListener(key.slice(2), value);
    } else if (key === 'href') node.setAttribute('href', safeHref(value));
    else node.setAttribute(key, value === true ? '' : String(value));
  }
}

function appendAll(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// el('a', {href: '#/x', class: 'k'}, 'text', otherNode): an HTML element.
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  setProps(node, props);
  appendAll(node, children);
  return node;
}

// svg('line', {x1: 0, ...}): an SVG element (for the chart).
export function svg(tag, props, ...children) {
  const node = document.createElementNS(kSvgNs, tag);
  setProps(node, props);
  appendAll(node, children);
  return node;
}

// Links only go to the console's own routes or to same-origin paths, so a
// value from data can never become a javascript: URL.
export function safeHref(value) {
  const s = String(value);
  return s.startsWith('#') || (s.startsWith('/') && !s.startsWith('//')) ? s : '#';
}

// A value for display: '—' for null, undefined and the empty string.
export function show(value) {
  return value === null || value === undefined || value === '' ? '—' : String(value);
}

// "2024-05-01T12:00:00.123Z" -> "2024-05-01 12:00:00" (UTC, as the API sends).
export function when(iso) {
  if (!iso) return '—';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)/.exec(String(iso));
  return m ? `${m[1]} ${m[2]}` : String(iso);
}

export function bytes(n) {
  if (typeof n !== 'number') return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

// A status line for errors and results, announced to screen readers.
export function notice(kind, text) {
  return el('p', {class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status'}, text);
}
