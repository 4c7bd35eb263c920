// Internal: the state of one conversion (one HL7 message -> one Bundle).
// Not thread-safe; Convert() makes one Builder per call.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <deque>
#include <forward_list>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fhir/internal/arena.h"
#include "fhir/internal/hash.h"
#include "fhir/internal/timezone.h"
#include "junction/fhir/convert.h"
#include "junction/hl7/datatypes.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/message.h"

namespace junction::fhir::internal {

namespace json = boost::json;

inline constexpr std::string_view kV2Table = "http://terminology.hl7.org/CodeSystem/v2-";
inline constexpr std::string_view kLocalCodeSystem = "urn:junction:codesystem:";
inline constexpr int kMaxRepetitions = 100;  // per field; the rest is reported
// Initial capacities: a Boost.JSON object grows 1, 2, 3, 4, 6, ... and copies
// its entries each time; most FHIR datatypes have 2-4 keys, resources ~10.
inline constexpr std::size_t kObjectReserve = 4;
inline constexpr std::size_t kBodyReserve = 12;

// o[key] = v, but the value is built in place when the key is new (the usual
// case) instead of being made null first and then replaced.
// C strings (mostly literals) go in as string_views: the length folds to a
// constant where the literal is visible instead of a strlen per member.
template <typename V>
void Set(json::object& o, std::string_view key, V&& v) {
  if constexpr (std::is_convertible_v<V&&, const char*> &&
                !std::is_null_pointer_v<std::remove_cvref_t<V>>) {  // nullptr stays JSON null
    const std::string_view text(static_cast<const char*>(v));
    auto r = o.emplace(key, text);
    if (!r.second) r.first->value() = text;
  } else {
    auto r = o.emplace(key, std::forward<V>(v));
    if (!r.second) r.first->value() = std::forward<V>(v);  // not consumed by emplace
  }
}

// s == lit for a string literal, compared inline: std::string_view's == calls
// an out-of-line compare and memcmp, which dominates for 3-byte segment ids.
template <std::size_t N>
constexpr bool Is(std::string_view s, const char (&lit)[N]) {
  if (s.size() != N - 1) return false;
  for (std::size_t i = 0; i + 1 < N; ++i)
    if (s[i] != lit[i]) return false;
  return true;
}

// a == b for short texts (segment ids), compared inline: no memcmp call.
inline bool SameText(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// The concatenation of the parts with one allocation (a + b + c allocates
// for each step that outgrows the buffer).
inline std::string Cat(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (std::string_view p : parts) n += p.size();
  std::string s;
  s.reserve(n);
  for (std::string_view p : parts) s.append(p);
  return s;
}

// One resource of the Bundle while it is being built.
struct Entry {
  static constexpr std::size_t kUrlSize = 9 + 36;  // "urn:uuid:" + id
  std::string_view type;                           // a string literal (static storage)
  char url_buf[kUrlSize];                          // "urn:uuid:<deterministic UUID-shaped id>"
  std::string_view url() const { return {url_buf, kUrlSize}; }  // fullUrl and references
  std::string_view id() const { return url().substr(9); }
  json::object body;             // resourceType, id (unless conditional), content
  std::string identifier_query;  // "identifier=system|value" (URL-encoded) or ""
  bool create_only = false;      // shared reference data: POST + ifNoneExist
};

// The segment being mapped; F(n) returns a field and records that it was used.
struct Seg {
  const hl7::Message* msg = nullptr;
  int index = 0;
  std::string_view id;
  int occurrence = 1;  // 1-based among segments with the same id
  bool repeated = false;
  std::uint64_t used = 0;
  std::string_view F(int n) {
    if (n >= 0 && n < 64) used |= (std::uint64_t{1} << n);
    auto raw = msg->FieldRaw(static_cast<std::size_t>(index), n);
    if (!raw || *raw == "\"\"") return {};
    return *raw;
  }
  void Mark(int n) {
    if (n >= 0 && n < 64) used |= (std::uint64_t{1} << n);
  }
  std::string Loc(int field = 0) const;
};

// A location for a warning that is formatted only when a warning is issued:
// either a segment and field ({s, 7} -> "PID-7") or text that is already built.
class LazyLoc {
 public:
  LazyLoc(const Seg& s, int field) : seg_(&s), field_(field) {}
  LazyLoc(const std::string& text) : text_(&text) {}  // NOLINT: implicit on purpose
  std::string str() const { return seg_ ? seg_->Loc(field_) : *text_; }

 private:
  const Seg* seg_ = nullptr;
  int field_ = 0;
  const std::string* text_ = nullptr;
};

// The components of one CWE as hl7::ParseCwe decodes them (CWE-1..13), as
// views: into the raw text, or into `owned` for the few that had escapes
// (allocated only then). Not copyable (the views may point into `owned`).
struct CweView {
  static constexpr std::size_t kParts = 13;
  std::string_view part[kParts];
  std::unique_ptr<std::string[]> owned;
  CweView() = default;
  CweView(const CweView&) = delete;
  CweView& operator=(const CweView&) = delete;
  void Split(std::string_view raw, const hl7::Delimiters& d, char sep);
  void From(const hl7::CWE& cwe);  // views into cwe's strings
};

// Decoded text for views: a piece as hl7's parsers decode it (escapes decoded,
// nothing else), as a view of the raw text or, when it has escapes, of a copy
// kept here (list nodes do not move, so views stay valid when this moves).
class DecodedText {
 public:
  std::string_view operator()(std::string_view raw, const hl7::Delimiters& d) {
    if (raw.empty() || !hl7::NeedsUnescape(raw, d)) return raw;
    return owned_.emplace_front(hl7::Unescape(raw, d));
  }

 private:
  std::forward_list<std::string> owned_;
};

// The parts of CX, XPN, XAD and XTN that the converter reads, as hl7::ParseCx,
// ParseXpn, ParseXad and ParseXtn decode them (same member names), as views:
// no string per component. Made by Builder::CxOf etc.; the views point into the
// message or into `text`.
struct CxView {
  std::string_view id_number, identifier_type_code, effective_date, expiration_date;
  hl7::HD assigning_authority, assigning_facility;
  DecodedText text;
};
struct XpnView {
  std::string_view family_name, given_name, second_and_further_given_names, suffix, prefix, degree,
      name_type_code, professional_suffix;
  DecodedText text;
};
struct XadView {
  std::string_view street, other_designation, city, state_or_province, zip_or_postal_code, country,
      address_type, county_parish_code;
  DecodedText text;
};
struct XtnView {
  std::string_view telephone_number, telecom_use_code, equipment_type, email_address, country_code,
      area_city_code, local_number, extension, unformatted_telephone_number;
  DecodedText text;
};

enum class Kind { kAdt, kOru, kOrder, kVxu, kSiu, kMdm, kFallback };

class Builder {
 public:
  Builder(const hl7::Message& msg, const ConvertOptions& options, const TimeZone& tz);
  Status Run();
  ConvertResult Finish();

  // ---- text and structure helpers (datatypes.cpp) ----
  std::string Txt(std::string_view raw) const;
  // True when Txt(raw) == raw (printable ASCII, nothing to unescape or trim).
  bool PlainText(std::string_view raw) const;
  // Txt(raw) without a copy when PlainText(raw); else Txt(raw) kept in scratch.
  std::string_view TxtView(std::string_view raw, std::string& scratch) const;
  std::string_view C(std::string_view rep, int n) const;     // component, 1-based
  std::string_view Sub(std::string_view comp, int n) const;  // subcomponent, 1-based
  template <typename F>
  void ForReps(Seg& s, int field, F&& f);  // non-empty repetitions, bounded

  // ---- datatypes -> FHIR (datatypes.cpp) ----
  // "" when the HD is empty. Kept per conversion (a message names the same few
  // authorities many times); the reference stays valid until the Builder dies.
  const std::string& SystemForHd(const hl7::HD& hd) const;
  const std::string& SystemForAuthority(const hl7::HD& authority, const hl7::HD& facility) const;
  std::string SystemForHdUncached(const hl7::HD& hd) const;
  std::string CodeSystemUri(std::string_view name) const;
  // The same; table hits are static strings, anything else is kept in scratch.
  std::string_view CodeSystemUriView(std::string_view name, std::string& scratch) const;
  // Adds system, version (only with a system), code and display to c.
  void AddCoding(json::object& c, std::string_view code, std::string_view system_name,
                 std::string_view display, std::string_view default_table,
                 const std::string_view* version) const;
  json::object Coding(std::string_view code, std::string_view system_name, std::string_view display,
                      std::string_view default_table) const;
  json::object CodeableConcept(const hl7::CWE& cwe, std::string_view default_table) const;
  json::object CodeableConcept(const CweView& cwe, std::string_view default_table) const;
  json::object CodeableConceptRaw(std::string_view raw_rep, std::string_view default_table) const;
  json::object TableConcept(std::string_view code, std::string_view table,
                            std::string_view display = {}) const;
  CxView CxOf(std::string_view raw) const;
  XpnView XpnOf(std::string_view raw) const;
  XadView XadOf(std::string_view raw) const;
  XtnView XtnOf(std::string_view raw) const;
  json::object Identifier(const CxView& cx, std::string* system_out = nullptr) const;
  json::object IdentifierFromEi(const hl7::EI& ei, std::string_view type_code,
                                std::string* system_out = nullptr) const;
  json::object HumanName(const XpnView& xpn) const;
  json::object HumanNameFromXcn(const hl7::XCN& xcn) const;
  json::object HumanNameOf(std::string_view use_code, std::string_view family,
                           std::string_view given, std::string_view middle, std::string_view prefix,
                           std::string_view suffix, std::string_view degree,
                           std::string_view professional_suffix) const;
  json::object Address(const XadView& xad) const;
  json::object ContactPoint(const XtnView& xtn, std::string_view default_use) const;

  // Date/time: "" (and a warning at `loc`) when the value is invalid.
  std::string DateTimeValue(std::string_view raw, const LazyLoc& loc);
  std::string DateValue(std::string_view raw, const LazyLoc& loc);  // date only
  std::string InstantValue(std::string_view raw, const LazyLoc& loc);
  std::optional<int> AssumedOffset(const hl7::DateTime& dt) const;
  // Valid results of the three above by (function, trimmed text): a message
  // repeats the same time stamps (OBX-14 of every result) many times.
  enum class DateKind : std::uint8_t { kDateTime, kDate, kInstant };
  const std::string* FindDate(DateKind kind, std::string_view text) const;
  void RememberDate(DateKind kind, std::string_view text, const std::string& value);

  // ---- shared resources (datatypes.cpp) ----
  int Practitioner(std::string_view xcn_raw);  // -1 when empty
  int OrganizationFromHd(const hl7::HD& hd);
  int OrganizationFromHdUncached(const hl7::HD& hd);
  int OrganizationFromXon(std::string_view xon_raw);
  int OrganizationNamed(std::string_view name, std::string_view system, std::string_view id);
  int LocationFromPl(std::string_view pl_raw);
  // The three above map the same text to the same entry within a message (the
  // key is a function of the text; a second call only finds the entry), so a
  // repeated mention skips the HL7 parse and the key building.
  template <typename F>
  int Remembered(std::vector<std::pair<std::string, int>>& seen, std::string_view raw, F&& make);
  int PractitionerFromXcn(std::string_view xcn_raw);
  int OrganizationFromXonText(std::string_view xon_raw);
  int LocationFromPlText(std::string_view pl_raw);
  json::object Reference(int index) const;

  // ---- resources ----
  int Upsert(std::string_view type, std::string_view key, std::string identifier_query,
             bool create_only, bool* created);
  // The same with the key given in pieces (key = their concatenation): the id
  // hash is fed the pieces, so no key string is built.
  int Upsert(std::string_view type, std::initializer_list<std::string_view> key,
             std::string identifier_query, bool create_only, bool* created);
  // The same with the hash of "type|key" already computed (StableHasher).
  int UpsertHashed(std::string_view type, StableHash hash, std::string identifier_query,
                   bool create_only, bool* created);
  static std::string IdentifierQuery(std::string_view system, std::string_view value);
  void Warn(const std::string& location, std::string message, const char* code = "not-supported",
            const char* severity = "warning");
  void Warn(const LazyLoc& location, std::string message, const char* code = "not-supported",
            const char* severity = "warning") {
    Warn(location.str(), std::move(message), code, severity);
  }
  void ReportUnused(const Seg& s);

  // The body of entry `index`, made by NewBody() on first use: most mappers
  // build a fresh NewBody() and hand it over with SetBody(), so Upsert does not
  // make one that would be replaced.
  json::object& Body(int index) {
    json::object& b = entries_[static_cast<std::size_t>(index)].body;
    if (b.empty()) b = NewBody(index);  // a made body has at least resourceType
    return b;
  }
  void SetBody(int index, json::object body) {
    entries_[static_cast<std::size_t>(index)].body = std::move(body);
  }
  // A fresh body for entry `index` with resourceType and (unless its request is
  // conditional) id in front, as the Bundle shows them. Segment mappers build a
  // resource in it and then assign it to Body(index).
  json::object NewBody(int index) const;
  static void Put(json::object& o, std::string_view key, std::string value);
  static void PutText(json::object& o, std::string_view key,
                      std::string_view value);  // when not empty
  static void Push(json::object& o, std::string_view key, json::value v);
  // The same for an object (the usual case), moved in without a json::value in between.
  static void Push(json::object& o, std::string_view key, json::object&& v);

 private:
  // segments.cpp
  void Dispatch(Seg& s);
  void OnMsh(Seg& s);
  void OnEvn(Seg& s);
  void OnPid(Seg& s);
  void OnPd1(Seg& s);
  void OnNk1(Seg& s);
  void OnPv1(Seg& s);
  void OnPv2(Seg& s);
  void OnAl1(Seg& s);
  void OnDg1(Seg& s);
  void OnPr1(Seg& s);
  void OnIn1(Seg& s);
  void OnMrg(Seg& s);
  void OnObr(Seg& s);
  void OnTq1(Seg& s);
  void OnSpm(Seg& s);
  void OnNte(Seg& s);
  void OnObx(Seg& s);
  void OnObxDocument(Seg& s);
  void OnRxa(Seg& s);
  void OnRxr(Seg& s);
  void OnSch(Seg& s);
  void OnAis(Seg& s);
  void OnAig(Seg& s);
  void OnAil(Seg& s);
  void OnAip(Seg& s);
  bool InAppointment(Seg& s);
  bool OrderKey(json::object& filler, const std::string& fsys, json::object& placer,
                const std::string& psys, std::string* key, std::string* query);
  void AddAppointmentActor(Seg& s, int actor);
  void OnTxa(Seg& s);
  void FlushOrder(Seg* obr);
  void SetObservationValue(Seg& s, json::object& target, std::string_view type,
                           std::string_view rep, std::string_view units, const LazyLoc& loc,
                           bool* text_fallback);
  void AddProvenance();
  int EnsurePatientForContext();

  // One arena (BundleArena, arena.h) per conversion: every JSON value of the
  // Bundle is allocated from it and nothing is freed one by one. arena_owner_
  // (shared ownership) is handed to the Bundle object and keeps the arena alive
  // as long as the Bundle; sp_ is a non-owning pointer to the same resource for
  // the values inside it, which saves an atomic reference count per value and
  // (flagged "deallocate is trivial") the destruction walk over the values.
  // Being the same resource, values move between the two without copies.
  // Declared first: members below are built on it.
  json::storage_ptr arena_owner_;
  json::storage_ptr sp_;

  const hl7::Message& msg_;
  const ConvertOptions& options_;
  const TimeZone& tz_;
  hl7::Delimiters d_;
  Kind kind_ = Kind::kFallback;
  std::string event_;
  std::string message_key_;  // sending app|facility|control id: scopes keys without identifiers
  hl7::HD sending_facility_;
  hl7::HD sending_app_;

  std::vector<Entry> entries_;
  std::vector<std::pair<std::string, int>> seen_practitioners_, seen_organizations_,
      seen_locations_;
  std::vector<std::pair<hl7::HD, int>> seen_authorities_;  // OrganizationFromHd
  // SystemForHd results; a deque so that references to them stay valid.
  mutable std::deque<std::pair<hl7::HD, std::string>> hd_systems_;
  struct DateMemo {
    static constexpr std::size_t kMaxText = 32;
    DateKind kind;
    std::uint8_t size;
    char text[kMaxText];
    std::string value;
  };
  std::vector<DateMemo> dates_;  // FindDate / RememberDate
  // Upsert: hash of "type|key" -> entry. Open addressing in one array (no
  // allocation per entry); the hash is already uniform, its low bits index.
  class EntryIndex {
   public:
    int Find(const StableHash& h) const {
      const std::size_t mask = slots_.size() - 1;
      for (std::size_t i = h.h1 & mask;; i = (i + 1) & mask) {
        const Slot& s = slots_[i];
        if (s.index < 0) return -1;
        if (s.hash == h) return s.index;
      }
    }
    void Insert(const StableHash& h, int index) {  // h not present
      if ((used_ + 1) * 2 > slots_.size()) Grow();
      Place(h, index);
      ++used_;
    }

   private:
    struct Slot {
      StableHash hash{};
      int index = -1;
    };
    void Place(const StableHash& h, int index) {
      const std::size_t mask = slots_.size() - 1;
      std::size_t i = h.h1 & mask;
      while (slots_[i].index >= 0) i = (i + 1) & mask;
      slots_[i] = Slot{h, index};
    }
    void Grow() {
      std::vector<Slot> old(slots_.size() * 2);
      old.swap(slots_);
      for (const Slot& s : old)
        if (s.index >= 0) Place(s.hash, s.index);
    }
    std::vector<Slot> slots_ = std::vector<Slot>(64);  // a power of two
    std::size_t used_ = 0;
  };
  EntryIndex by_key_;
  struct IssueRec {
    std::string severity, code, location, message;
  };
  std::vector<IssueRec> issues_;

  // Context while walking the segments.
  int header_ = -1;
  int patient_ = -1;
  std::string patient_key_;
  int encounter_ = -1;
  std::string encounter_key_;
  std::optional<Seg> pending_orc_;
  std::vector<Seg> pending_tq1_;
  std::vector<Seg> pending_nte_;  // NTE between ORC and OBR/RXA
  std::string bundle_timestamp_;
  int order_ = -1;  // ServiceRequest
  std::string order_key_;
  // OnObx: the id hash state after "Observation|<base>|obx|" for obx_prefix_base_.
  StableHasher obx_prefix_;
  std::string obx_prefix_base_;
  bool obx_prefix_valid_ = false;
  int report_ = -1;  // DiagnosticReport
  std::vector<int> order_observations_;
  int observation_ = -1;
  int immunization_ = -1;
  int appointment_ = -1;
  int document_ = -1;
  std::string document_text_;  // MDM OBX text content
  std::string document_content_type_;
  int note_target_ = -1;
  std::string note_field_;  // "note", "comment", "description"
  std::string evn_recorded_;
  std::string evn_occurred_;
  json::object evn_reason_;
  int evn_operator_ = -1;
};

std::string Base64Encode(std::string_view in);

template <typename F>
void Builder::ForReps(Seg& s, int field, F&& f) {
  std::string_view raw = s.F(field);
  if (raw.empty()) return;
  int n = 0;
  hl7::ForEachPiece(raw, d_.repetition, [&](std::string_view rep, std::size_t) {
    if (rep.empty() || rep == "\"\"") return;
    if (++n > kMaxRepetitions) {
      if (n == kMaxRepetitions + 1) Warn(s.Loc(field), "repetitions past 100 not mapped");
      return;
    }
    f(rep);
  });
}

}  // namespace junction::fhir::internal
