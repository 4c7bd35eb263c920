// HL7 v2 datatypes -> FHIR datatypes, and the shared resources (Practitioner,
// Organization, Location) that many segments point at.
#include <algorithm>
#include <array>
#include <cstring>

#include "fhir/internal/builder.h"
#include "fhir/internal/hash.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/message.h"

namespace junction::fhir::internal {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) return false;
  return true;
}

// Keeps valid UTF-8; a byte that is not part of a valid sequence is read as
// Latin-1 (the usual reality of undeclared 8-bit HL7 text). Control characters
// other than tab/CR/LF are dropped: FHIR strings cannot carry them.
std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    int len = (c >= 0xc2 && c <= 0xdf)   ? 2
              : (c >= 0xe0 && c <= 0xef) ? 3
              : (c >= 0xf0 && c <= 0xf4) ? 4
                                         : 0;
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0xc0) == 0x80;
    if (ok && len == 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && len == 4) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s.substr(i, static_cast<std::size_t>(len)));
      i += static_cast<std::size_t>(len);
    } else {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
      ++i;
    }
  }
  return out;
}

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return u;
}

bool LooksLikeOid(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  bool dot = false;
  for (char c : s) {
    if (c == '.')
      dot = true;
    else if (c < '0' || c > '9')
      return false;
  }
  return dot;
}

// Bytes UrlEncodeTo keeps as they are.
constexpr auto kUrlKeep = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<std::size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                     c == '~' || c == ':' || c == '/';
  return t;
}();

void UrlEncodeTo(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  // Runs of kept bytes are appended at once; most text needs no escapes.
  out->reserve(out->size() + s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size() && kUrlKeep[static_cast<unsigned char>(s[j])]) ++j;
    out->append(s.data() + i, j - i);
    if (j == s.size()) break;
    auto c = static_cast<unsigned char>(s[j]);
    const char escaped[3] = {'%', kHex[c >> 4], kHex[c & 15]};
    out->append(escaped, 3);
    i = j + 1;
  }
}

struct CodeSystemName {
  std::string_view name;  // views: no strlen per comparison
  std::string_view uri;
};
constexpr CodeSystemName kCodeSystems[] = {
    {"LN", "http://loinc.org"},
    {"LOINC", "http://loinc.org"},
    {"SCT", "http://snomed.info/sct"},
    {"SNOMEDCT", "http://snomed.info/sct"},
    {"SNOMED-CT", "http://snomed.info/sct"},
    {"SNM", "http://snomed.info/sct"},
    {"I10", "http://hl7.org/fhir/sid/icd-10"},
    {"ICD10", "http://hl7.org/fhir/sid/icd-10"},
    {"ICD-10", "http://hl7.org/fhir/sid/icd-10"},
    {"I10C", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"ICD10CM", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"ICD-10-CM", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"I10P", "http://www.cms.gov/Medicare/Coding/ICD10"},
    {"ICD10PCS", "http://www.cms.gov/Medicare/Coding/ICD10"},
    {"I9", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"I9C", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"I9CDX", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"ICD9", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"ICD9CM", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"CVX", "http://hl7.org/fhir/sid/cvx"},
    {"MVX", "http://terminology.hl7.org/CodeSystem/MVX"},
    {"UCUM", "http://unitsofmeasure.org"},
    {"NDC", "http://hl7.org/fhir/sid/ndc"},
    {"RXNORM", "http://www.nlm.nih.gov/research/umls/rxnorm"},
    {"RXN", "http://www.nlm.nih.gov/research/umls/rxnorm"},
    {"CPT", "http://www.ama-assn.org/go/cpt"},
    {"C4", "http://www.ama-assn.org/go/cpt"},
    {"CPT4", "http://www.ama-assn.org/go/cpt"},
    {"HCPCS", "urn:oid:2.16.840.1.113883.6.285"},
    {"HCPT", "urn:oid:2.16.840.1.113883.6.285"},
    {"CDCREC", "urn:oid:2.16.840.1.113883.6.238"},
    {"NUCC", "http://nucc.org/provider-taxonomy"},
    {"NCIT", "http://ncimeta.nci.nih.gov"},
    {"ISO639", "urn:ietf:bcp:47"},
    {"ISO3166", "urn:iso:std:iso:3166"},
    {"ISO3166_1", "urn:iso:std:iso:3166"},
    {"ISO3166-1", "urn:iso:std:iso:3166"},
    {"ISO3166_2", "urn:iso:std:iso:3166:-2"},
    {"ISO639-1", "urn:ietf:bcp:47"},
    {"ISO639_1", "urn:ietf:bcp:47"},
    {"CDCPHINVS", "urn:oid:2.16.840.1.114222.4.5.274"},
    {"NPI", "http://hl7.org/fhir/sid/us-npi"},
};

}  // namespace

std::string Seg::Loc(int field) const {
  std::string loc(id);
  if (repeated) loc += "[" + std::to_string(occurrence) + "]";
  if (field > 0) loc += "-" + std::to_string(field);
  return loc;
}

namespace {

// The first subcomponent of a component (FN surname, SAD street).
std::string_view FirstSub(std::string_view comp, char sep) {
  return hl7::FirstPieces<1>(comp, sep)[0];
}

}  // namespace

CxView Builder::CxOf(std::string_view raw) const {
  CxView v;
  if (raw.empty()) return v;
  const auto p = hl7::FirstPieces<8>(raw, d_.component);
  v.id_number = v.text(p[0], d_);
  v.assigning_authority = hl7::ParseHdComponent(p[3], d_);
  v.identifier_type_code = v.text(p[4], d_);
  v.assigning_facility = hl7::ParseHdComponent(p[5], d_);
  v.effective_date = v.text(p[6], d_);
  v.expiration_date = v.text(p[7], d_);
  return v;
}

XpnView Builder::XpnOf(std::string_view raw) const {
  XpnView v;
  if (raw.empty()) return v;
  const auto p = hl7::FirstPieces<14>(raw, d_.component);
  v.family_name = v.text(FirstSub(p[0], d_.subcomponent), d_);
  v.given_name = v.text(p[1], d_);
  v.second_and_further_given_names = v.text(p[2], d_);
  v.suffix = v.text(p[3], d_);
  v.prefix = v.text(p[4], d_);
  v.degree = v.text(p[5], d_);
  v.name_type_code = v.text(p[6], d_);
  v.professional_suffix = v.text(p[13], d_);
  return v;
}

XadView Builder::XadOf(std::string_view raw) const {
  XadView v;
  if (raw.empty()) return v;
  const auto p = hl7::FirstPieces<9>(raw, d_.component);
  v.street = v.text(FirstSub(p[0], d_.subcomponent), d_);
  v.other_designation = v.text(p[1], d_);
  v.city = v.text(p[2], d_);
  v.state_or_province = v.text(p[3], d_);
  v.zip_or_postal_code = v.text(p[4], d_);
  v.country = v.text(p[5], d_);
  v.address_type = v.text(p[6], d_);
  v.county_parish_code = v.text(p[8], d_);
  return v;
}

XtnView Builder::XtnOf(std::string_view raw) const {
  XtnView v;
  if (raw.empty()) return v;
  const auto p = hl7::FirstPieces<12>(raw, d_.component);
  v.telephone_number = v.text(p[0], d_);
  v.telecom_use_code = v.text(p[1], d_);
  v.equipment_type = v.text(p[2], d_);
  v.email_address = v.text(p[3], d_);
  v.country_code = v.text(p[4], d_);
  v.area_city_code = v.text(p[5], d_);
  v.local_number = v.text(p[6], d_);
  v.extension = v.text(p[7], d_);
  v.unformatted_telephone_number = v.text(p[11], d_);
  return v;
}

std::string Builder::Txt(std::string_view raw) const {
  if (PlainText(raw)) return std::string(raw);
  if (raw.empty() || raw == "\"\"") return {};
  std::string out;
  if (hl7::NeedsUnescape(raw, d_)) {
    hl7::UnescapeTo(raw, d_, &out);
  } else {
    out.assign(raw);
  }
  if (!msg_.charset().is_utf8_compatible()) {
    out = msg_.charset().ToUtf8(out);
    if (!IsAscii(out)) out = SanitizeUtf8(out);
  } else if (!IsAscii(out)) {
    out = SanitizeUtf8(out);
  }
  std::string_view t = Trim(out);
  if (t.size() != out.size()) out = std::string(t);
  return out;
}

std::string_view Builder::C(std::string_view rep, int n) const {
  return hl7::NthPiece(rep, d_.component, static_cast<std::size_t>(n - 1))
      .value_or(std::string_view{});
}

std::string_view Builder::Sub(std::string_view comp, int n) const {
  if (d_.subcomponent == '\0') return n == 1 ? comp : std::string_view{};
  return hl7::NthPiece(comp, d_.subcomponent, static_cast<std::size_t>(n - 1))
      .value_or(std::string_view{});
}

void Builder::Put(json::object& o, std::string_view key, std::string value) {
  if (!value.empty()) Set(o, key, std::string_view(value));
}

void Builder::PutText(json::object& o, std::string_view key, std::string_view value) {
  if (!value.empty()) Set(o, key, value);
}

void Builder::Push(json::object& o, std::string_view key, json::value v) {
  if (v.is_object() && v.as_object().empty()) return;
  if (v.is_string() && v.as_string().empty()) return;
  // One key search: an empty array is added when the key is new.
  auto r = o.emplace(key, json::array(o.storage()));
  r.first->value().as_array().emplace_back(std::move(v));
}

void Builder::Push(json::object& o, std::string_view key, json::object&& v) {
  if (v.empty()) return;
  auto r = o.emplace(key, json::array(o.storage()));
  r.first->value().as_array().emplace_back(std::move(v));
}

// ---- identifiers and code systems ----

namespace {
bool SameHd(const hl7::HD& a, const hl7::HD& b) {
  return a.namespace_id == b.namespace_id && a.universal_id == b.universal_id &&
         a.universal_id_type == b.universal_id_type;
}
}  // namespace

const std::string& Builder::SystemForHd(const hl7::HD& hd) const {
  static const std::string kNone;
  if (hd.namespace_id.empty() && hd.universal_id.empty()) return kNone;
  for (const auto& [seen, system] : hd_systems_)
    if (SameHd(seen, hd)) return system;
  return hd_systems_.emplace_back(hd, SystemForHdUncached(hd)).second;
}

std::string Builder::SystemForHdUncached(const hl7::HD& hd) const {
  const auto& table = options_.identifier_systems;
  if (!table.empty()) {
    if (!hd.namespace_id.empty()) {
      auto it = table.find(hd.namespace_id);
      if (it != table.end()) return it->second;
    }
    if (!hd.universal_id.empty()) {
      auto it = table.find(hd.universal_id);
      if (it != table.end()) return it->second;
    }
  }
  std::string_view uid = Trim(hd.universal_id);
  if (!uid.empty() && uid != "\"\"") {
    std::string type = Upper(hd.universal_id_type);
    if (type == "ISO" || (type.empty() && LooksLikeOid(uid))) {
      if (LooksLikeOid(uid)) return "urn:oid:" + std::string(uid);
    }
    if (type == "UUID") return "urn:uuid:" + std::string(uid);
    if ((uid.rfind("http://", 0) == 0 || uid.rfind("https://", 0) == 0 ||
         uid.rfind("urn:", 0) == 0) &&
        uid.find_first_of(" \t") == std::string_view::npos)
      return std::string(uid);
    std::string out;
    out.reserve(options_.local_system_base.size() + uid.size() + 8);  // room for an escape or two
    out.append(options_.local_system_base);
    UrlEncodeTo(uid, &out);
    return out;
  }
  std::string_view ns = Trim(hd.namespace_id);
  if (!ns.empty() && ns != "\"\"") {
    std::string out;
    out.reserve(options_.local_system_base.size() + ns.size() + 8);
    out.append(options_.local_system_base);
    UrlEncodeTo(ns, &out);
    return out;
  }
  return {};
}

const std::string& Builder::SystemForAuthority(const hl7::HD& authority,
                                               const hl7::HD& facility) const {
  if (const std::string& s = SystemForHd(authority); !s.empty()) return s;
  if (const std::string& s = SystemForHd(facility); !s.empty()) return s;
  return SystemForHd(sending_facility_);
}

std::string Builder::CodeSystemUri(std::string_view name) const {
  name = Trim(name);
  if (name.empty()) return {};
  bool has_blank = name.find_first_of(" \t") != std::string_view::npos;
  if (!has_blank && (name.rfind("http://", 0) == 0 || name.rfind("https://", 0) == 0 ||
                     name.rfind("urn:", 0) == 0))
    return std::string(name);
  std::string u = Upper(name);
  for (const auto& cs : kCodeSystems)
    if (u == cs.name) return std::string(cs.uri);
  // HL7nnnn / HL7-nnnn / HL70nnn: an HL7 table.
  if (u.size() >= 7 && u.compare(0, 3, "HL7") == 0) {
    std::string_view digits = std::string_view(u).substr(u[3] == '-' ? 4 : 3);
    if (digits.size() == 4 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::string(kV2Table) + std::string(digits);
  }
  if (LooksLikeOid(name)) return "urn:oid:" + std::string(name);
  std::string out(kLocalCodeSystem);
  UrlEncodeTo(name, &out);
  return out;
}

namespace {

// FHIR `code`: no leading/trailing blanks and single inner spaces only.
std::string NormalizeCode(std::string_view code_text) {
  bool blank = false;
  std::string normalized;
  for (char ch : code_text) {
    bool space = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
    if (space) {
      blank = true;
      continue;
    }
    if (blank && !normalized.empty()) normalized.push_back(' ');
    blank = false;
    normalized.push_back(ch);
  }
  return normalized;
}

bool HasBlank(std::string_view s) {
  for (char ch : s)
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') return true;
  return false;
}

}  // namespace

bool Builder::PlainText(std::string_view raw) const {
  if (raw.empty() || !msg_.charset().is_utf8_compatible()) return false;
  if (raw.front() == ' ' || raw.back() == ' ' || raw == "\"\"") return false;
  const char esc = d_.escape;
  const char* in = raw.data();
  const std::size_t n = raw.size();
  std::size_t i = 0;
  // Eight bytes per step: none below 0x20, above 0x7e or the escape character
  // (the "has byte less than / equal to" bit tricks, exact as a whole).
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, in + i, 8);
    std::uint64_t control = (v - kOnes * 0x20) & ~v;
    std::uint64_t del = v ^ (kOnes * 0x7f);
    del = (del - kOnes) & ~del;
    std::uint64_t e = v ^ (kOnes * static_cast<unsigned char>(esc));
    e = (e - kOnes) & ~e;
    if (((control | del | e | v) & kHigh) != 0) return false;
  }
  for (; i < n; ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x20 || c > 0x7e || in[i] == esc) return false;
  }
  return true;
}

std::string_view Builder::TxtView(std::string_view raw, std::string& scratch) const {
  if (raw.empty()) return {};  // Txt("") is ""
  if (PlainText(raw)) return raw;
  scratch = Txt(raw);
  return scratch;
}

std::string_view Builder::CodeSystemUriView(std::string_view name, std::string& scratch) const {
  std::string_view t = Trim(name);
  if (t.empty()) return {};
  if (t.size() <= 12) {
    char u[12];
    for (std::size_t i = 0; i < t.size(); ++i) {
      char c = t[i];
      u[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    }
    std::string_view upper(u, t.size());
    for (const auto& cs : kCodeSystems)
      if (upper == cs.name) return cs.uri;  // what CodeSystemUri finds first, too
    // HL7nnnn / HL7-nnnn: an HL7 table, as in CodeSystemUri.
    if (upper.size() >= 7 && upper.substr(0, 3) == "HL7") {
      std::string_view digits = upper.substr(upper[3] == '-' ? 4 : 3);
      if (digits.size() == 4 &&
          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        scratch.reserve(kV2Table.size() + 4);
        scratch.assign(kV2Table).append(digits);
        return scratch;
      }
    }
  }
  scratch = CodeSystemUri(name);
  return scratch;
}

void Builder::AddCoding(json::object& c, std::string_view code, std::string_view system_name,
                        std::string_view display, std::string_view default_table,
                        const std::string_view* version) const {
  std::string code_buf;
  std::string_view code_text = TxtView(code, code_buf);
  if (HasBlank(code_text)) {
    code_buf = NormalizeCode(code_text);
    code_text = code_buf;
  }
  if (code_text.empty()) return;
  std::string system_buf;
  std::string_view system = CodeSystemUriView(system_name, system_buf);
  char table_uri[kV2Table.size() + 16];  // kV2Table + a table number, without an allocation
  if (system.empty() && !default_table.empty()) {
    if (default_table.size() <= 16) {
      std::memcpy(table_uri, kV2Table.data(), kV2Table.size());
      std::memcpy(table_uri + kV2Table.size(), default_table.data(), default_table.size());
      system = std::string_view(table_uri, kV2Table.size() + default_table.size());
    } else {
      system_buf.assign(kV2Table).append(default_table);
      system = system_buf;
    }
  }
  if (!system.empty()) {
    c.emplace("system", system);
    // CWE-7/8/13: the version follows the system and is dropped without one.
    if (version) {
      std::string version_buf;
      c.emplace("version", TxtView(*version, version_buf));
    }
  }
  c.emplace("code", code_text);
  std::string display_buf;
  if (std::string_view d = TxtView(display, display_buf); !d.empty()) c.emplace("display", d);
}

json::object Builder::Coding(std::string_view code, std::string_view system_name,
                             std::string_view display, std::string_view default_table) const {
  json::object c(kObjectReserve, sp_);
  AddCoding(c, code, system_name, display, default_table, nullptr);
  return c;
}

void CweView::Split(std::string_view raw, const hl7::Delimiters& d, char sep) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < kParts; ++i) {
    std::size_t end = sep == '\0' ? std::string_view::npos : raw.find(sep, start);
    std::string_view piece =
        end == std::string_view::npos ? raw.substr(start) : raw.substr(start, end - start);
    if (hl7::NeedsUnescape(piece, d)) {  // what hl7::ParseCwe decodes
      if (!owned) owned = std::make_unique<std::string[]>(kParts);
      owned[i] = hl7::Unescape(piece, d);
      piece = owned[i];
    }
    part[i] = piece;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

void CweView::From(const hl7::CWE& cwe) {
  const std::string* fields[kParts] = {&cwe.identifier,
                                       &cwe.text,
                                       &cwe.name_of_coding_system,
                                       &cwe.alternate_identifier,
                                       &cwe.alternate_text,
                                       &cwe.name_of_alternate_coding_system,
                                       &cwe.coding_system_version_id,
                                       &cwe.alternate_coding_system_version_id,
                                       &cwe.original_text,
                                       &cwe.second_alternate_identifier,
                                       &cwe.second_alternate_text,
                                       &cwe.name_of_second_alternate_coding_system,
                                       &cwe.second_alternate_coding_system_version_id};
  for (std::size_t i = 0; i < kParts; ++i) part[i] = *fields[i];
}

json::object Builder::CodeableConcept(const hl7::CWE& cwe, std::string_view default_table) const {
  CweView v;
  v.From(cwe);
  return CodeableConcept(v, default_table);
}

json::object Builder::CodeableConcept(const CweView& cwe, std::string_view default_table) const {
  json::object cc(kObjectReserve, sp_);
  json::array codings(sp_);
  // Triplets: identifier, text, system, version (CWE-1..3 + 7, 4..6 + 8, 10..12 + 13).
  auto add = [&](std::size_t id, std::size_t text, std::size_t sys, std::size_t ver,
                 std::string_view table) {
    if (cwe.part[id].empty()) return;  // AddCoding adds nothing without a code
    json::object c(kObjectReserve, sp_);
    std::string_view version = cwe.part[ver];
    AddCoding(c, cwe.part[id], cwe.part[sys], cwe.part[text], table,
              version.empty() ? nullptr : &version);
    if (!c.empty()) codings.emplace_back(std::move(c));
  };
  add(0, 1, 2, 6, default_table);
  add(3, 4, 5, 7, {});
  add(9, 10, 11, 12, {});
  bool has_codes = !codings.empty();
  if (has_codes) cc.emplace("coding", std::move(codings));
  std::string text_buf;
  std::string_view text = TxtView(cwe.part[8], text_buf);
  if (text.empty() && !has_codes)
    text = TxtView(cwe.part[1].empty() ? cwe.part[4] : cwe.part[1], text_buf);
  if (!text.empty()) cc.emplace("text", text);
  return cc;
}

json::object Builder::CodeableConceptRaw(std::string_view raw_rep,
                                         std::string_view default_table) const {
  if (raw_rep.empty()) return {};
  CweView v;
  v.Split(raw_rep, d_, d_.component);
  return CodeableConcept(v, default_table);
}

json::object Builder::TableConcept(std::string_view code, std::string_view table,
                                   std::string_view display) const {
  json::object cc(kObjectReserve, sp_);
  json::object c = Coding(code, {}, display, table);
  if (c.empty()) return cc;
  json::array a(sp_);
  a.emplace_back(std::move(c));
  Set(cc, "coding", std::move(a));
  return cc;
}

json::object Builder::Identifier(const CxView& cx, std::string* system_out) const {
  std::string value = Txt(cx.id_number);
  if (value.empty()) return json::object(sp_);  // empty: no table allocated
  json::object id(kObjectReserve, sp_);
  if (!cx.identifier_type_code.empty()) {
    json::object type = TableConcept(cx.identifier_type_code, "0203");
    if (!type.empty()) Set(id, "type", std::move(type));
  }
  const std::string& system = SystemForAuthority(cx.assigning_authority, cx.assigning_facility);
  if (system_out) *system_out = system;
  PutText(id, "system", system);
  Set(id, "value", std::move(value));
  if (cx.effective_date.empty() && cx.expiration_date.empty()) return id;  // the usual case
  std::string start = Txt(cx.effective_date);
  std::string end = Txt(cx.expiration_date);
  auto date = [](const std::string& s) -> std::string {
    auto dt = hl7::ParseDtm(s);
    return dt.ok() ? dt->ToFhirDateTime() : std::string();
  };
  json::object period(kObjectReserve, sp_);
  Put(period, "start", date(start));
  Put(period, "end", date(end));
  if (!period.empty()) Set(id, "period", std::move(period));
  return id;
}

json::object Builder::IdentifierFromEi(const hl7::EI& ei, std::string_view type_code,
                                       std::string* system_out) const {
  std::string value = Txt(ei.entity_identifier);
  if (value.empty()) return json::object(sp_);  // empty: no table allocated
  json::object id(kObjectReserve, sp_);
  if (!type_code.empty()) Set(id, "type", TableConcept(type_code, "0203"));
  hl7::HD hd{ei.namespace_id, ei.universal_id, ei.universal_id_type};
  const std::string& system = SystemForAuthority(hd, {});
  if (system_out) *system_out = system;
  PutText(id, "system", system);
  Set(id, "value", std::move(value));
  return id;
}

namespace {
const char* NameUse(std::string_view code) {
  if (Is(code, "L") || Is(code, "R") || Is(code, "C") || Is(code, "B")) return "official";
  if (Is(code, "D") || Is(code, "A") || Is(code, "T")) return "usual";
  if (Is(code, "M")) return "maiden";
  if (Is(code, "N")) return "nickname";
  if (Is(code, "S")) return "anonymous";
  if (Is(code, "BAD")) return "old";
  if (Is(code, "TEMP")) return "temp";
  return nullptr;
}
}  // namespace

json::object Builder::HumanName(const XpnView& x) const {
  return HumanNameOf(x.name_type_code, x.family_name, x.given_name,
                     x.second_and_further_given_names, x.prefix, x.suffix, x.degree,
                     x.professional_suffix);
}

json::object Builder::HumanNameOf(std::string_view use_code, std::string_view family_raw,
                                  std::string_view given_raw, std::string_view middle_raw,
                                  std::string_view prefix_raw, std::string_view suffix_raw,
                                  std::string_view degree_raw, std::string_view prof_raw) const {
  json::object n(kObjectReserve, sp_);
  const char* use = NameUse(use_code);
  std::string buf[7];
  std::string_view family = TxtView(family_raw, buf[0]);
  std::string_view given = TxtView(given_raw, buf[1]);
  std::string_view middle = TxtView(middle_raw, buf[2]);
  std::string_view prefix = TxtView(prefix_raw, buf[3]);
  std::string_view suffix = TxtView(suffix_raw, buf[4]);
  std::string_view degree = TxtView(degree_raw, buf[5]);
  std::string_view prof = TxtView(prof_raw, buf[6]);
  if (family.empty() && given.empty() && middle.empty() && prefix.empty() && suffix.empty())
    return n;
  if (use) Set(n, "use", use);
  PutText(n, "family", family);
  auto push = [&](std::string_view key, std::string_view v) {
    if (!v.empty()) Push(n, key, json::string(v, sp_));
  };
  push("given", given);
  push("given", middle);
  push("prefix", prefix);
  push("suffix", suffix);
  push("suffix", degree);
  push("suffix", prof);
  return n;
}

json::object Builder::HumanNameFromXcn(const hl7::XCN& x) const {
  return HumanNameOf(x.name_type_code, x.family_name, x.given_name,
                     x.second_and_further_given_names, x.prefix, x.suffix, x.degree,
                     x.professional_suffix);
}

json::object Builder::Address(const XadView& x) const {
  json::object a(kObjectReserve, sp_);
  std::string_view t = x.address_type;
  const char* use = nullptr;
  const char* type = nullptr;
  if (Is(t, "H") || Is(t, "HV") || Is(t, "P"))
    use = "home";
  else if (Is(t, "B") || Is(t, "O"))
    use = "work";
  else if (Is(t, "C"))
    use = "temp";
  else if (Is(t, "BA") || Is(t, "BAD"))
    use = "old";
  if (Is(t, "M"))
    type = "postal";
  else if (Is(t, "SH"))
    type = "physical";
  std::string buf[7];
  std::string_view street = TxtView(x.street, buf[0]);
  std::string_view other = TxtView(x.other_designation, buf[1]);
  std::string_view city = TxtView(x.city, buf[2]);
  std::string_view district = TxtView(x.county_parish_code, buf[3]);
  std::string_view state = TxtView(x.state_or_province, buf[4]);
  std::string_view zip = TxtView(x.zip_or_postal_code, buf[5]);
  std::string_view country = TxtView(x.country, buf[6]);
  if (street.empty() && other.empty() && city.empty() && district.empty() && state.empty() &&
      zip.empty() && country.empty())
    return a;
  if (use) Set(a, "use", use);
  if (type) Set(a, "type", type);
  if (!street.empty()) Push(a, "line", json::string(street, sp_));
  if (!other.empty()) Push(a, "line", json::string(other, sp_));
  PutText(a, "city", city);
  PutText(a, "district", district);
  PutText(a, "state", state);
  PutText(a, "postalCode", zip);
  PutText(a, "country", country);
  return a;
}

json::object Builder::ContactPoint(const XtnView& x, std::string_view default_use) const {
  json::object cp(kObjectReserve, sp_);
  std::string_view eq = x.equipment_type;
  std::string_view use_code = x.telecom_use_code;
  std::string value;
  const char* system = "phone";
  if (!x.email_address.empty() || Is(eq, "Internet") || Is(eq, "X.400") || Is(use_code, "NET")) {
    system = "email";
    value = Txt(x.email_address.empty() ? x.telephone_number : x.email_address);
  } else {
    if (Is(eq, "FX"))
      system = "fax";
    else if (Is(eq, "BP"))
      system = "pager";
    else if (Is(eq, "MD") || Is(eq, "TDD") || Is(eq, "TTY"))
      system = "other";
    value = Txt(x.telephone_number);
    if (value.empty()) value = Txt(x.unformatted_telephone_number);
    if (value.empty() && !x.local_number.empty()) {
      if (!x.country_code.empty()) value += "+" + Txt(x.country_code) + " ";
      if (!x.area_city_code.empty()) value += "(" + Txt(x.area_city_code) + ") ";
      value += Txt(x.local_number);
      if (!x.extension.empty()) value += " x" + Txt(x.extension);
    }
  }
  if (value.empty()) return cp;
  const char* use = nullptr;
  if (Is(eq, "CP"))
    use = "mobile";
  else if (Is(use_code, "PRN") || Is(use_code, "ORN") || Is(use_code, "VHN"))
    use = "home";
  else if (Is(use_code, "WPN"))
    use = "work";
  else if (use_code.empty() && Is(default_use, "work"))
    use = "work";
  else if (use_code.empty() && Is(default_use, "home"))
    use = "home";
  Set(cp, "system", system);
  Set(cp, "value", std::move(value));
  if (use) Set(cp, "use", use);
  return cp;
}

// ---- date and time ----

std::optional<int> Builder::AssumedOffset(const hl7::DateTime& dt) const {
  if (dt.has_offset() || !dt.has_time()) return std::nullopt;
  return tz_.OffsetForLocal(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second);
}

const std::string* Builder::FindDate(DateKind kind, std::string_view text) const {
  for (const DateMemo& m : dates_)
    if (m.kind == kind && std::string_view(m.text, m.size) == text) return &m.value;
  return nullptr;
}

void Builder::RememberDate(DateKind kind, std::string_view text, const std::string& value) {
  // A handful of distinct stamps per message; past that, a linear search
  // would cost more than it saves.
  if (text.size() > DateMemo::kMaxText || dates_.size() >= 16) return;
  DateMemo& m = dates_.emplace_back();
  m.kind = kind;
  m.size = static_cast<std::uint8_t>(text.size());
  std::memcpy(m.text, text.data(), text.size());
  m.value = value;
}

std::string Builder::DateTimeValue(std::string_view raw, const LazyLoc& loc) {
  std::string_view t = Trim(hl7::TsTime(raw, d_));
  if (t.empty() || t == "\"\"") return {};
  if (const std::string* v = FindDate(DateKind::kDateTime, t)) return *v;
  auto dt = hl7::ParseDtm(t);
  if (!dt.ok()) {
    Warn(loc, "invalid date/time '" + Txt(t) + "' (" + dt.status().message() + "); not mapped",
         "invalid");
    return {};
  }
  std::string value = dt->ToFhirDateTime(AssumedOffset(*dt));
  RememberDate(DateKind::kDateTime, t, value);
  return value;
}

std::string Builder::DateValue(std::string_view raw, const LazyLoc& loc) {
  std::string_view t = Trim(hl7::TsTime(raw, d_));
  if (t.empty() || t == "\"\"") return {};
  if (const std::string* v = FindDate(DateKind::kDate, t)) return *v;
  auto dt = hl7::ParseDtm(t);
  if (!dt.ok()) {
    Warn(loc, "invalid date '" + Txt(t) + "' (" + dt.status().message() + "); not mapped",
         "invalid");
    return {};
  }
  hl7::DateTime d = *dt;
  if (d.precision > hl7::DatePrecision::kDay) d.precision = hl7::DatePrecision::kDay;
  d.utc_offset_minutes.reset();
  std::string value = d.ToFhirDateTime();
  RememberDate(DateKind::kDate, t, value);
  return value;
}

std::string Builder::InstantValue(std::string_view raw, const LazyLoc& loc) {
  std::string_view t = Trim(hl7::TsTime(raw, d_));
  if (t.empty() || t == "\"\"") return {};
  if (const std::string* v = FindDate(DateKind::kInstant, t)) return *v;
  auto dt = hl7::ParseDtm(t);
  if (!dt.ok()) {
    Warn(loc, "invalid date/time '" + Txt(t) + "' (" + dt.status().message() + "); not mapped",
         "invalid");
    return {};
  }
  if (!dt->has_time()) {
    Warn(loc, "'" + Txt(t) + "' has no time of day, an instant needs one; not mapped", "invalid");
    return {};
  }
  // With a time and an offset, ToFhirDateTime pads to seconds: a valid instant.
  std::string value = dt->ToFhirDateTime(AssumedOffset(*dt));
  RememberDate(DateKind::kInstant, t, value);
  return value;
}

// ---- shared resources ----

json::object Builder::Reference(int index) const {
  json::object r(1, sp_);  // one key: no room for more needed
  r.emplace("reference", entries_[static_cast<std::size_t>(index)].url());
  return r;
}

std::string Builder::IdentifierQuery(std::string_view system, std::string_view value) {
  std::string q;
  q.reserve(11 + system.size() + value.size() + 8);  // most need no escapes
  q.append("identifier=");
  if (!system.empty()) {
    UrlEncodeTo(system, &q);
    q.push_back('|');
  }
  UrlEncodeTo(value, &q);
  return q;
}

template <typename F>
int Builder::Remembered(std::vector<std::pair<std::string, int>>& seen, std::string_view raw,
                        F&& make) {
  for (const auto& [text, index] : seen)
    if (text == raw) return index;
  int index = make();
  seen.emplace_back(std::string(raw), index);
  return index;
}

json::object Builder::NewBody(int index) const {
  const Entry& e = entries_[static_cast<std::size_t>(index)];
  json::object b(kBodyReserve, sp_);
  b.emplace("resourceType", e.type);
  // A conditional request finds its target by identifier; an id in the body
  // would clash with a resource the server already holds under another id.
  bool conditional = options_.bundle != BundleType::kCollection && !e.identifier_query.empty();
  if (!conditional) b.emplace("id", e.id());
  return b;
}

namespace {

// The hasher state after "<type>|" for the resource types the mappers make,
// computed at compile time: FNV-1a is one multiply chain per byte (~6 cycles
// of latency each), and the type prefix is a fifth of the bytes hashed.
template <std::size_t N>
struct TypePrefixes {
  std::string_view type[N];
  StableHasher state[N];
};
constexpr auto kTypePrefixes = [] {
  constexpr std::string_view kTypes[] = {
      "AllergyIntolerance", "Appointment",       "Condition",      "Coverage",
      "DiagnosticReport",   "DocumentReference", "Encounter",      "Immunization",
      "Location",           "MessageHeader",     "Observation",    "OperationOutcome",
      "Organization",       "Patient",           "Practitioner",   "Procedure",
      "Provenance",         "RelatedPerson",     "ServiceRequest", "Specimen"};
  TypePrefixes<std::size(kTypes)> t{};
  for (std::size_t i = 0; i < std::size(kTypes); ++i) {
    t.type[i] = kTypes[i];
    t.state[i].Update(kTypes[i]);
    t.state[i].Update("|");
  }
  return t;
}();

StableHasher TypeHasher(std::string_view type) {
  for (std::size_t i = 0; i < std::size(kTypePrefixes.type); ++i)
    if (kTypePrefixes.type[i].size() == type.size() && kTypePrefixes.type[i][0] == type[0] &&
        kTypePrefixes.type[i] == type)  // size and first letter tell them apart: one compare
      return kTypePrefixes.state[i];
  StableHasher h;  // a type not in the table: same result, hashed here
  h.Update(type);
  h.Update("|");
  return h;
}

}  // namespace

int Builder::Upsert(std::string_view type, std::string_view key, std::string identifier_query,
                    bool create_only, bool* created) {
  // Entries are found by the 128-bit hash of "type|key" that also makes their
  // id: two keys with the same hash would have the same id anyway.
  StableHasher hasher = TypeHasher(type);
  hasher.Update(key);
  return UpsertHashed(type, hasher.Finish(), std::move(identifier_query), create_only, created);
}

int Builder::Upsert(std::string_view type, std::initializer_list<std::string_view> key,
                    std::string identifier_query, bool create_only, bool* created) {
  StableHasher hasher = TypeHasher(type);
  for (std::string_view piece : key) hasher.Update(piece);
  return UpsertHashed(type, hasher.Finish(), std::move(identifier_query), create_only, created);
}

int Builder::UpsertHashed(std::string_view type, StableHash hash, std::string identifier_query,
                          bool create_only, bool* created) {
  if (int found = by_key_.Find(hash); found >= 0) {
    if (created) *created = false;
    return found;
  }
  Entry e{.type = type, .body = json::object(sp_)};  // on the arena: moves below do not copy
  std::memcpy(e.url_buf, "urn:uuid:", 9);
  FormatUuid(hash, e.url_buf + 9);
  e.identifier_query = std::move(identifier_query);
  e.create_only = create_only;
  entries_.push_back(std::move(e));
  int index = static_cast<int>(entries_.size() - 1);  // body: made by Body() or SetBody()
  by_key_.Insert(hash, index);
  if (created) *created = true;
  return index;
}

int Builder::Practitioner(std::string_view xcn_raw) {
  if (xcn_raw.empty()) return -1;
  return Remembered(seen_practitioners_, xcn_raw, [&] { return PractitionerFromXcn(xcn_raw); });
}

int Builder::PractitionerFromXcn(std::string_view xcn_raw) {
  hl7::XCN x = hl7::ParseXcn(xcn_raw, d_);
  std::string id = Txt(x.id_number);
  json::object name = HumanNameFromXcn(x);
  if (id.empty() && name.empty()) return -1;
  bool created = false;
  int index;
  const std::string* system = nullptr;  // the authority's, with an id
  if (!id.empty()) {
    system = &SystemForAuthority(x.assigning_authority, x.assigning_facility);
    index =
        Upsert("Practitioner", {*system, "|", id}, IdentifierQuery(*system, id), true, &created);
  } else {
    // No identifier: the name, scoped by the sending facility.
    index =
        Upsert("Practitioner",
               {"name|", SystemForHd(sending_facility_), "|", Txt(x.family_name), "^",
                Txt(x.given_name), "^", Txt(x.second_and_further_given_names), "^", Txt(x.prefix)},
               {}, true, &created);
  }
  if (created) {
    json::object& b = Body(index);
    if (!id.empty()) {
      json::object ident(kObjectReserve, sp_);
      if (json::object t = TableConcept(x.identifier_type_code, "0203"); !t.empty())
        Set(ident, "type", std::move(t));
      PutText(ident, "system", *system);
      Set(ident, "value", std::string_view(id));
      Push(b, "identifier", std::move(ident));
    }
    Push(b, "name", std::move(name));
  }
  return index;
}

int Builder::OrganizationNamed(std::string_view name, std::string_view system,
                               std::string_view id) {
  if (name.empty() && id.empty()) return -1;
  bool created = false;
  int index =
      id.empty()
          ? Upsert("Organization", {"name|", SystemForHd(sending_facility_), "|", name}, {}, true,
                   &created)
          : Upsert("Organization", {system, "|", id}, IdentifierQuery(system, id), true, &created);
  if (created) {
    json::object& b = Body(index);
    if (!id.empty()) {
      json::object ident(kObjectReserve, sp_);
      PutText(ident, "system", system);
      Set(ident, "value", id);
      Push(b, "identifier", std::move(ident));
    }
    PutText(b, "name", name);
  }
  return index;
}

int Builder::OrganizationFromHd(const hl7::HD& hd) {
  // Like Remembered(): the same HD always names the same entry.
  for (const auto& [seen, index] : seen_authorities_)
    if (seen.namespace_id == hd.namespace_id && seen.universal_id == hd.universal_id &&
        seen.universal_id_type == hd.universal_id_type)
      return index;
  int index = OrganizationFromHdUncached(hd);
  seen_authorities_.emplace_back(hd, index);
  return index;
}

int Builder::OrganizationFromHdUncached(const hl7::HD& hd) {
  const std::string& uri = SystemForHd(hd);
  if (uri.empty()) return -1;
  // The organization is identified by the URI that names it as an authority.
  return OrganizationNamed(Txt(hd.namespace_id), "urn:ietf:rfc:3986", uri);
}

int Builder::OrganizationFromXon(std::string_view raw) {
  if (raw.empty()) return -1;
  return Remembered(seen_organizations_, raw, [&] { return OrganizationFromXonText(raw); });
}

int Builder::OrganizationFromXonText(std::string_view raw) {
  std::string name = Txt(C(raw, 1));
  std::string id = Txt(C(raw, 10));
  if (id.empty()) id = Txt(C(raw, 3));
  std::string_view auth = C(raw, 6);
  hl7::HD hd{Txt(Sub(auth, 1)), Txt(Sub(auth, 2)), Txt(Sub(auth, 3))};
  if (id.empty()) return OrganizationNamed(name, {}, {});
  const std::string& system = SystemForAuthority(hd, {});
  int index = OrganizationNamed(name, system, id);
  if (index >= 0 && !name.empty() && !Body(index).contains("name")) Body(index)["name"] = name;
  return index;
}

int Builder::LocationFromPl(std::string_view pl) {
  if (pl.empty()) return -1;
  return Remembered(seen_locations_, pl, [&] { return LocationFromPlText(pl); });
}

int Builder::LocationFromPlText(std::string_view pl) {
  std::string poc = Txt(Sub(C(pl, 1), 1));
  std::string room = Txt(Sub(C(pl, 2), 1));
  std::string bed = Txt(Sub(C(pl, 3), 1));
  std::string_view fac = C(pl, 4);
  hl7::HD facility{Txt(Sub(fac, 1)), Txt(Sub(fac, 2)), Txt(Sub(fac, 3))};
  std::string building = Txt(Sub(C(pl, 7), 1));
  std::string floor = Txt(Sub(C(pl, 8), 1));
  std::string description = Txt(C(pl, 9));
  std::string name;
  for (const std::string* part : {&poc, &room, &bed}) {
    if (part->empty()) continue;
    if (!name.empty()) name += " ";
    name += *part;
  }
  if (name.empty()) name = description;
  const std::string& fac_uri = SystemForHd(facility);
  if (name.empty() && building.empty() && floor.empty()) {
    if (fac_uri.empty()) return -1;
    name = facility.namespace_id.empty() ? fac_uri : Txt(facility.namespace_id);
  }
  const std::string& scope = fac_uri.empty() ? SystemForHd(sending_facility_) : fac_uri;
  bool created = false;
  int index = Upsert("Location", {scope, "|", poc, "^", room, "^", bed, "^", building, "^", floor},
                     {}, true, &created);
  if (created) {
    json::object& b = Body(index);
    Put(b, "name", std::move(name));
    if (!description.empty() && description != b["name"].as_string())
      b["description"] = description;
    Set(b, "mode", "instance");
    int org = OrganizationFromHd(facility);
    if (org >= 0) Body(index)["managingOrganization"] = Reference(org);
  }
  return index;
}

}  // namespace junction::fhir::internal
