// Display helpers for FHIR R4 datatypes (plain strings; the caller puts them
// into text nodes).

export function codeText(cc) {
  if (!cc) return '';
  if (cc.text) return String(cc.text);
  const c = (cc.coding || []).find((x) => x && (x.display || x.code));
  return c ? String(c.display || c.code) : '';
}

export function codesText(list) {
  return (Array.isArray(list) ? list : []).map(codeText).filter(Boolean).join(', ');
}

export function humanName(names) {
  const list = Array.isArray(names) ? names : [];
  const n = list.find((x) => x && x.use === 'official') || list[0];
  if (!n) return '';
  if (n.text) return String(n.text);
  return [...(n.prefix || []), ...(n.given || []), n.family || '', ...(n.suffix || [])]
      .filter(Boolean).join(' ');
}

export function quantity(q) {
  if (!q || (q.value === undefined && !q.unit)) return '';
  return `${q.comparator || ''}${q.value === undefined ? '' : q.value}${q.unit || q.code ? ` ${q.unit || q.code}` : ''}`;
}

export function period(p) {
  if (!p) return '';
  const s = p.start ? dateText(p.start) : '';
  const e = p.end ? dateText(p.end) : '';
  return s && e ? `${s} – ${e}` : s || (e ? `until ${e}` : '');
}

// FHIR dates keep their precision: "2024", "2024-05", "2024-05-01T10:00:00+02:00".
export function dateText(d) {
  if (!d) return '';
  const m = /^(\d{4}(?:-\d{2}(?:-\d{2})?)?)(?:T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(String(d));
  if (!m) return String(d);
  return m[2] ? `${m[1]} ${m[2]}${m[3] && m[3] !== 'Z' && m[3] !== '+00:00' ? ` (${m[3]})` : m[3] ? ' UTC' : ''}` : m[1];
}

function valueOf(x) {
  if (!x) return '';
  if (x.valueQuantity) return quantity(x.valueQuantity);
  if (x.valueCodeableConcept) return codeText(x.valueCodeableConcept);
  if (x.valueString !== undefined) return String(x.valueString);
  if (x.valueBoolean !== undefined) return x.valueBoolean ? 'yes' : 'no';
  if (x.valueInteger !== undefined) return String(x.valueInteger);
  if (x.valueRange) return `${quantity(x.valueRange.low)} – ${quantity(x.valueRange.high)}`;
  if (x.valueRatio) return `${quantity(x.valueRatio.numerator)} / ${quantity(x.valueRatio.denominator)}`;
  if (x.valueDateTime) return dateText(x.valueDateTime);
  if (x.valueTime) return String(x.valueTime);
  if (x.valuePeriod) return period(x.valuePeriod);
  return '';
}

export function observationValue(o) {
  const own = valueOf(o);
  if (own) return own;
  if (Array.isArray(o.component) && o.component.length) {
    return o.component.map((c) => `${codeText(c.code)}: ${valueOf(c)}`).join('; ');
  }
  if (o.dataAbsentReason) return `(${codeText(o.dataAbsentReason)})`;
  return '';
}

export function referenceRange(o) {
  return (Array.isArray(o.referenceRange) ? o.referenceRange : []).map((r) => {
    if (r.text) return String(r.text);
    const low = quantity(r.low);
    const high = quantity(r.high);
    if (low && high) return `${low} – ${high}`;
    if (low) return `≥ ${low}`;
    if (high) return `≤ ${high}`;
    return '';
  }).filter(Boolean).join('; ');
}

// HL7 table 0078 (v2-0078 / v3 ObservationInterpretation) codes in words, for
// results whose interpretation carries only the code.
const kInterpretation = {
  N: 'Normal', A: 'Abnormal', AA: 'Critical abnormal', H: 'High', HH: 'Critical high', HU: 'Very high',
  L: 'Low', LL: 'Critical low', LU: 'Very low', '>': 'Above absolute high', '<': 'Below absolute low',
  POS: 'Positive', NEG: 'Negative', R: 'Resistant', S: 'Susceptible', I: 'Intermediate',
};

// Returns {text, abnormal}: abnormal unless every interpretation code is N (normal).
export function interpretation(o) {
  const list = Array.isArray(o.interpretation) ? o.interpretation : [];
  const codes = list.flatMap((cc) => (cc.coding || []).map((c) => c.code)).filter(Boolean);
  const text = list.map((cc) => {
    const c = (cc.coding || [])[0] || {};
    const display = c.display || kInterpretation[c.code];
    if (c.code && display) return `${display} (${c.code})`;
    return codeText(cc);
  }).filter(Boolean).join(', ');
  return {text, abnormal: codes.some((c) => c !== 'N')};
}

export function observationDate(o) {
  return o.effectiveDateTime || (o.effectivePeriod && o.effectivePeriod.start) ||
         o.effectiveInstant || o.issued || '';
}
