// Convert(): walks the segments of one message, dispatches them to the
// segment mappers and assembles the Bundle. Serialize(): deterministic JSON.
#include "junction/fhir/convert.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fhir/internal/builder.h"
#include "fhir/internal/hash.h"

namespace junction::fhir {
namespace internal {
namespace {

bool In(std::string_view s, std::initializer_list<std::string_view> list) {
  for (auto x : list)
    if (SameText(s, x)) return true;
  return false;
}

std::string UpperAscii(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

}  // namespace

namespace {
// First arena block: holds the Bundle of a typical ADT message (an ORU^R01
// with 10 OBX needs a second block); below malloc's default mmap threshold.
// Later blocks double in size.
constexpr std::size_t kArenaFirstBlock = 64 * 1024;
}  // namespace

Builder::Builder(const hl7::Message& msg, const ConvertOptions& options, const TimeZone& tz)
    : arena_owner_(json::make_shared_resource<BundleArena>(kArenaFirstBlock)),
      sp_(ArenaRef(arena_owner_)),
      msg_(msg),
      options_(options),
      tz_(tz),
      d_(msg.delimiters()),
      evn_reason_(sp_) {
  // Typical messages make 10-30 entries: no regrowth (and rehash) on the way.
  entries_.reserve(32);
  dates_.reserve(16);
}

void Builder::Warn(const std::string& location, std::string message, const char* code, const char* severity) {
  issues_.push_back(IssueRec{severity, code, location, std::move(message)});
}

void Builder::ReportUnused(const Seg& s) {
  int n = msg_.FieldCount(static_cast<std::size_t>(s.index));
  for (int f = 1; f <= n; ++f) {
    if (f < 64 && (s.used & (std::uint64_t{1} << f))) continue;
    if (Is(s.id, "MSH") && f <= 2) continue;
    auto raw = msg_.FieldRaw(static_cast<std::size_t>(s.index), f);
    if (!raw || raw->empty() || *raw == "\"\"") continue;
    bool data = false;
    for (char c : *raw) {
      if (c != d_.component && c != d_.subcomponent && c != d_.repetition && c != ' ') {
        data = true;
        break;
      }
    }
    if (data) Warn(s.Loc(f), "field not mapped");
  }
}

Status Builder::Run() {
  if (msg_.SegmentCount() == 0 || msg_.SegmentId(0) != "MSH")
    return Status::Invalid("message does not start with MSH");
  std::string code = UpperAscii(Txt(msg_.MessageCode()));
  event_ = UpperAscii(Txt(msg_.TriggerEvent()));
  if (Is(code, "ADT") && In(event_, {"A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13",
                                   "A28", "A31", "A40"}))
    kind_ = Kind::kAdt;
  else if (Is(code, "ORU") && Is(event_, "R01")) kind_ = Kind::kOru;
  else if ((Is(code, "ORM") && Is(event_, "O01")) || (Is(code, "OML") && Is(event_, "O21"))) kind_ = Kind::kOrder;
  else if (Is(code, "VXU") && Is(event_, "V04")) kind_ = Kind::kVxu;
  else if (Is(code, "SIU") && In(event_, {"S12", "S13", "S14", "S15"})) kind_ = Kind::kSiu;
  else if (Is(code, "MDM") && Is(event_, "T02")) kind_ = Kind::kMdm;
  else kind_ = Kind::kFallback;

  auto field0 = [&](int f) {
    auto raw = msg_.FieldRaw(0, f);
    std::string_view v = raw ? *raw : std::string_view{};
    return hl7::NthPiece(v, d_.repetition, 0).value_or(std::string_view{});
  };
  sending_app_ = hl7::ParseHd(field0(3), d_);
  sending_facility_ = hl7::ParseHd(field0(4), d_);
  message_key_ = Cat({Txt(field0(3)), "|", Txt(field0(4)), "|", Txt(field0(10))});
  if (kind_ == Kind::kFallback)
    Warn("MSH-9", "message type '" + code + "^" + event_ +
                      "' has no specific mapping: fallback (MessageHeader, Patient, Encounter, Provenance)",
         "not-supported", "information");

  // Occurrence numbers for locations like "OBX[3]-5".
  std::vector<std::pair<std::string_view, int>> totals;
  totals.reserve(16);  // distinct segment ids
  auto slot = [](std::vector<std::pair<std::string_view, int>>& v, std::string_view id) -> int& {
    for (auto& p : v)
      if (SameText(p.first, id)) return p.second;
    v.emplace_back(id, 0);
    return v.back().second;
  };
  std::size_t count = msg_.SegmentCount();
  for (std::size_t i = 0; i < count; ++i) ++slot(totals, msg_.SegmentId(i));
  std::vector<std::pair<std::string_view, int>> seen;
  seen.reserve(totals.size());
  for (std::size_t i = 0; i < count; ++i) {
    Seg s;
    s.msg = &msg_;
    s.index = static_cast<int>(i);
    s.id = msg_.SegmentId(i);
    s.occurrence = ++slot(seen, s.id);
    s.repeated = slot(totals, s.id) > 1;
    if (i == 0) {
      OnMsh(s);
      ReportUnused(s);
      continue;
    }
    Dispatch(s);
  }
  if (pending_orc_) FlushOrder(nullptr);
  for (Seg& n : pending_nte_) {
    OnNte(n);
    ReportUnused(n);
  }
  pending_nte_.clear();
  return Status::Ok();
}

void Builder::Dispatch(Seg& s) {
  std::string_view id = s.id;
  bool waits_for_order = Is(id, "TQ1") || Is(id, "OBR") || Is(id, "NTE") || (Is(id, "RXA") && kind_ == Kind::kVxu);
  if (pending_orc_ && Is(id, "NTE")) {
    pending_nte_.push_back(s);
    return;
  }
  if (pending_orc_ && !waits_for_order) FlushOrder(nullptr);
  auto drain_notes = [&] {
    for (Seg& n : pending_nte_) {
      OnNte(n);
      ReportUnused(n);
    }
    pending_nte_.clear();
  };
  if (!pending_orc_ && !pending_nte_.empty() && id != "NTE") drain_notes();

  if (kind_ == Kind::kFallback && !In(id, {"EVN", "PID", "PD1", "PV1", "PV2"})) {
    Warn(s.Loc(), "segment not mapped (no mapping for this message type)");
    return;
  }
  if (Is(id, "ORC")) {
    if (pending_orc_) FlushOrder(nullptr);
    pending_orc_ = s;
    return;  // reported when its order is built
  }
  if (Is(id, "TQ1")) {
    OnTq1(s);
    return;
  }
  if (Is(id, "EVN")) OnEvn(s);
  else if (Is(id, "PID")) OnPid(s);
  else if (Is(id, "PD1")) OnPd1(s);
  else if (Is(id, "NK1")) OnNk1(s);
  else if (Is(id, "PV1")) OnPv1(s);
  else if (Is(id, "PV2")) OnPv2(s);
  else if (Is(id, "AL1")) OnAl1(s);
  else if (Is(id, "DG1")) OnDg1(s);
  else if (Is(id, "PR1")) OnPr1(s);
  else if (Is(id, "IN1")) OnIn1(s);
  else if (Is(id, "MRG")) OnMrg(s);
  else if (Is(id, "OBR")) OnObr(s);
  else if (Is(id, "SPM")) OnSpm(s);
  else if (Is(id, "NTE")) OnNte(s);
  else if (Is(id, "OBX")) OnObx(s);
  else if (Is(id, "RXA")) OnRxa(s);
  else if (Is(id, "RXR")) OnRxr(s);
  else if (Is(id, "SCH")) OnSch(s);
  else if (Is(id, "AIS")) OnAis(s);
  else if (Is(id, "AIG")) OnAig(s);
  else if (Is(id, "AIL")) OnAil(s);
  else if (Is(id, "AIP")) OnAip(s);
  else if (Is(id, "TXA")) OnTxa(s);
  else if (Is(id, "RGS")) s.Mark(1);  // resource group marker (SIU)
  else {
    Warn(s.Loc(), "segment not mapped");
    return;
  }
  ReportUnused(s);
  if (!pending_orc_ && !pending_nte_.empty()) drain_notes();
}

void Builder::AddProvenance() {
  static constexpr std::string_view kInfra[] = {"MessageHeader", "Practitioner", "Organization", "Location"};
  json::array targets(sp_);
  targets.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    bool infra = false;
    for (auto t : kInfra) infra = infra || entries_[i].type == t;
    if (!infra) targets.emplace_back(Reference(static_cast<int>(i)));
  }
  if (targets.empty()) return;
  std::string recorded = evn_recorded_.empty() ? bundle_timestamp_ : evn_recorded_;
  if (recorded.empty()) {
    Warn("MSH-7", "no message date/time: Provenance not created", "required", "information");
    return;
  }
  int who = OrganizationFromHd(sending_facility_);
  if (who < 0) who = OrganizationFromHd(sending_app_);
  if (who < 0) {
    Warn("MSH-4", "no sending facility or application: Provenance not created", "required", "information");
    return;
  }
  int index = Upsert("Provenance", {"msg|", message_key_}, {}, false, nullptr);
  json::object p = NewBody(index);
  Set(p, "target", std::move(targets));
  Put(p, "occurredDateTime", evn_occurred_);
  Set(p, "recorded", recorded);
  if (!evn_reason_.empty()) Push(p, "reason", evn_reason_);
  if (!event_.empty()) {
    json::object c(kObjectReserve, sp_);
    Set(c, "system", "http://terminology.hl7.org/CodeSystem/v2-0003");
    Set(c, "code", event_);
    json::array a(sp_);
    a.emplace_back(std::move(c));
    json::object activity(kObjectReserve, sp_);
    Set(activity, "coding", std::move(a));
    Set(p, "activity", std::move(activity));
  }
  auto agent = [&](int ref, const char* code, const char* display) {
    json::object c(kObjectReserve, sp_);
    Set(c, "system", "http://terminology.hl7.org/CodeSystem/provenance-participant-type");
    Set(c, "code", code);
    Set(c, "display", display);
    json::array a(sp_);
    a.emplace_back(std::move(c));
    json::object type(kObjectReserve, sp_);
    Set(type, "coding", std::move(a));
    json::object ag(kObjectReserve, sp_);
    Set(ag, "type", std::move(type));
    Set(ag, "who", Reference(ref));
    Push(p, "agent", std::move(ag));
  };
  agent(who, "author", "Author");
  if (evn_operator_ >= 0) agent(evn_operator_, "enterer", "Enterer");
  auto control = msg_.FieldRaw(0, 10);
  if (control && !Txt(*control).empty()) {
    json::object ident(kObjectReserve, sp_);
    PutText(ident, "system", SystemForHd(sending_app_));
    Set(ident, "value", Txt(*control));
    json::object what(kObjectReserve, sp_);
    Set(what, "identifier", std::move(ident));
    Set(what, "display", "HL7 v2 message " + Txt(msg_.MessageCode()) + "^" + event_);
    json::object entity(kObjectReserve, sp_);
    Set(entity, "role", "source");
    Set(entity, "what", std::move(what));
    Push(p, "entity", std::move(entity));
  }
  SetBody(index, std::move(p));
}

ConvertResult Builder::Finish() {
  if (document_ >= 0) {
    json::object& doc = Body(document_);
    if (!document_text_.empty()) {
      json::object att(kObjectReserve, sp_);
      Set(att, "contentType", "text/plain");
      Set(att, "data", Base64Encode(document_text_));
      json::object content(kObjectReserve, sp_);
      Set(content, "attachment", std::move(att));
      Push(doc, "content", std::move(content));
    }
    if (!doc.contains("content")) {
      json::object att(kObjectReserve, sp_);
      Set(att, "title", "no document content in the message");
      json::object content(kObjectReserve, sp_);
      Set(content, "attachment", std::move(att));
      Push(doc, "content", std::move(content));
    }
  }
  if (appointment_ >= 0 && !Body(appointment_).contains("participant")) {
    json::object p(kObjectReserve, sp_);
    json::object type(kObjectReserve, sp_);
    Set(type, "text", "unknown");
    json::array types(sp_);
    types.emplace_back(std::move(type));
    Set(p, "type", std::move(types));
    Set(p, "status", "needs-action");
    Push(Body(appointment_), "participant", std::move(p));
  }
  AddProvenance();

  if (!issues_.empty()) {
    int index = Upsert("OperationOutcome", {"msg|", message_key_}, {}, false, nullptr);
    json::array list(sp_);
    for (const IssueRec& i : issues_) {
      json::object o(kObjectReserve, sp_);
      Set(o, "severity", i.severity);
      Set(o, "code", i.code);
      Set(o, "diagnostics", i.message);
      json::array loc(sp_);
      loc.emplace_back(i.location);
      Set(o, "location", std::move(loc));
      list.emplace_back(std::move(o));
    }
    Body(index)["issue"] = std::move(list);
  }

  // The Bundle holds the owning pointer: the arena lives as long as it does.
  ConvertResult result{json::object(arena_owner_), {}};
  json::object& bundle = result.bundle;
  Set(bundle, "resourceType", "Bundle");
  {
    StableHasher h;  // the id of "Bundle|<message key>", without building that string
    h.Update("Bundle|");
    h.Update(message_key_);
    char id[36];
    FormatUuid(h.Finish(), id);
    Set(bundle, "id", std::string_view(id, sizeof id));
  }
  if (auto control = msg_.FieldRaw(0, 10); control && !control->empty()) {
    json::object ident(kObjectReserve, sp_);
    PutText(ident, "system", SystemForHd(sending_app_));
    Put(ident, "value", Txt(*control));
    if (ident.contains("value")) Set(bundle, "identifier", std::move(ident));
  }
  const char* type = options_.bundle == BundleType::kTransaction ? "transaction"
                     : options_.bundle == BundleType::kBatch     ? "batch"
                                                                 : "collection";
  Set(bundle, "type", type);
  Put(bundle, "timestamp", bundle_timestamp_);
  bool requests = options_.bundle != BundleType::kCollection;
  json::array list(sp_);
  list.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    Body(static_cast<int>(i));  // makes the body of an entry no mapper touched
    Entry& e = entries_[i];
    bool conditional = requests && !e.identifier_query.empty();
    json::object entry(kObjectReserve, sp_);
    Set(entry, "fullUrl", e.url());
    Set(entry, "resource", std::move(e.body));  // resourceType and id in front: NewBody()
    if (requests) {
      json::object req(kObjectReserve, sp_);
      if (conditional && e.create_only) {
        Set(req, "method", "POST");
        Set(req, "url", e.type);
        Set(req, "ifNoneExist", e.identifier_query);
      } else if (conditional) {
        Set(req, "method", "PUT");
        std::string url;
        url.reserve(e.type.size() + 1 + e.identifier_query.size());
        url.append(e.type).append("?").append(e.identifier_query);
        Set(req, "url", std::string_view(url));
      } else {
        Set(req, "method", "PUT");
        // "<type>/<id>" in a local buffer: types are short literals.
        char url[64 + Entry::kUrlSize];
        std::string_view id = e.id();
        if (e.type.size() <= 64) {
          std::memcpy(url, e.type.data(), e.type.size());
          url[e.type.size()] = '/';
          std::memcpy(url + e.type.size() + 1, id.data(), id.size());
          Set(req, "url", std::string_view(url, e.type.size() + 1 + id.size()));
        } else {
          Set(req, "url", std::string(e.type) + "/" + std::string(id));
        }
      }
      Set(entry, "request", std::move(req));
    }
    list.emplace_back(std::move(entry));
  }
  Set(bundle, "entry", std::move(list));
  result.issues.reserve(issues_.size());
  for (IssueRec& i : issues_)
    result.issues.push_back(Issue{std::move(i.severity), std::move(i.location), std::move(i.message)});
  return result;
}

}  // namespace internal

// ---------------------------------------------------------------- public API

Result<ConvertResult> Convert(const hl7::Message& message, const ConvertOptions& options) {
  auto tz = internal::TimeZone::Load(options.default_timezone);
  if (!tz.ok()) return tz.status();
  try {
    internal::Builder builder(message, options, **tz);
    Status st = builder.Run();
    if (!st.ok()) return st;
    return builder.Finish();
  } catch (const std::exception& e) {
    // Not expected: a safety net so that no input can escape as an exception.
    return Status(StatusCode::kInternal, std::string("conversion failed: ") + e.what());
  }
}

Result<BundleType> ParseBundleType(std::string_view name) {
  if (name == "transaction") return BundleType::kTransaction;
  if (name == "batch") return BundleType::kBatch;
  if (name == "collection") return BundleType::kCollection;
  return Status::Invalid("unknown bundle type '" + std::string(name) + "' (transaction, batch, collection)");
}

namespace {

// Bytes that WriteString copies as they are: printable ASCII except '"' and '\\'.
constexpr auto kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return t;
}();

// True when one of the eight bytes in v is < 0x20, >= 0x80, '"' or '\\'
// (the classic "has byte less than / equal to" bit tricks; exact as a whole).
inline bool NeedsAttention8(std::uint64_t v) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  std::uint64_t control = (v - kOnes * 0x20) & ~v;
  std::uint64_t q = v ^ (kOnes * '"');
  std::uint64_t quote = (q - kOnes) & ~q;
  std::uint64_t b = v ^ (kOnes * '\\');
  std::uint64_t backslash = (b - kOnes) & ~b;
  return ((control | quote | backslash | v) & kHigh) != 0;
}

// Output buffer: callers reserve room for the worst case of what they write,
// then write through a raw pointer (no capacity check per byte). The bytes go
// to a per-thread scratch buffer that is reused from call to call (no zero
// fill, no regrowth once warm) and are copied into the result string once.
class Writer {
 public:
  Writer() {
    Scratch& s = scratch();
    if (s.size == 0) s.Resize(kInitialSize);
    base_ = s.data.get();
    p_ = base_;
    end_ = base_ + s.size;
  }
  ~Writer() {
    // A rare huge Bundle should not pin its buffer to the thread forever.
    Scratch& s = scratch();
    if (s.size > kKeepSize) s.Resize(kInitialSize);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Room for n more bytes at the returned pointer; Commit(end) after writing.
  char* Reserve(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) [[unlikely]]
      Grow(n);
    return p_;
  }
  void Commit(char* end) { p_ = end; }
  void Put(char c) { *Reserve(1) = c, ++p_; }
  void Put(std::string_view s) {
    char* p = Reserve(s.size());
    std::memcpy(p, s.data(), s.size());
    p_ = p + s.size();
  }
  std::string Take() const { return std::string(base_, static_cast<std::size_t>(p_ - base_)); }

 private:
  static constexpr std::size_t kInitialSize = 64 * 1024;
  static constexpr std::size_t kKeepSize = 4 * 1024 * 1024;
  struct Scratch {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;
    void Resize(std::size_t n) {
      data.reset(new char[n]);
      size = n;
    }
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  [[gnu::noinline]] void Grow(std::size_t n) {
    Scratch& s = scratch();
    std::size_t used = static_cast<std::size_t>(p_ - base_);
    std::size_t size = std::max(s.size * 2, used + n);
    std::unique_ptr<char[]> bigger(new char[size]);
    std::memcpy(bigger.get(), base_, used);
    s.data = std::move(bigger);
    s.size = size;
    base_ = s.data.get();
    p_ = base_ + used;
    end_ = base_ + size;
  }

  char* base_;
  char* p_;
  char* end_;
};

inline std::uint32_t Load4(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline std::uint64_t Load8(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Writes the escaped body of s (no quotes) from in[i] on, byte by byte; the
// slow path for strings with something to escape. p has room for 6 bytes per
// input byte.
[[gnu::noinline]] char* EscapeFrom(char* p, const char* in, std::size_t n, std::size_t i) {
  static constexpr char kHex[] = "0123456789abcdef";
  while (i < n) {
    // Plain printable ASCII, eight bytes per step while none needs attention,
    // then byte by byte up to the next one that does.
    while (i + 8 <= n) {
      std::uint64_t v = Load8(in + i);
      if (NeedsAttention8(v)) break;
      std::memcpy(p, &v, 8);
      p += 8;
      i += 8;
    }
    while (i < n && kPlain[static_cast<unsigned char>(in[i])]) *p++ = in[i++];
    if (i == n) break;
    auto c = static_cast<unsigned char>(in[i]);
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      *p++ = '\\';
      if (c == '\n')
        *p++ = 'n';
      else if (c == '\r')
        *p++ = 'r';
      else if (c == '\t')
        *p++ = 't';
      else {
        std::memcpy(p, "u00", 3);
        p += 3;
        *p++ = kHex[c >> 4];
        *p++ = kHex[c & 15];
      }
      ++i;
    } else if (c < 0x80) {
      *p++ = static_cast<char>(c);  // DEL
      ++i;
    } else {
      // Copy a valid UTF-8 sequence; anything else becomes U+FFFD so that the
      // output is always valid JSON.
      int len = (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
      bool ok = len > 0 && i + static_cast<std::size_t>(len) <= n;
      for (int k = 1; ok && k < len; ++k)
        ok = (static_cast<unsigned char>(in[i + static_cast<std::size_t>(k)]) & 0xc0) == 0x80;
      if (ok && len == 3) {
        auto c1 = static_cast<unsigned char>(in[i + 1]);
        ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
      }
      if (ok && len == 4) {
        auto c1 = static_cast<unsigned char>(in[i + 1]);
        ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
      }
      if (ok) {
        std::memcpy(p, in + i, static_cast<std::size_t>(len));
        p += len;
        i += static_cast<std::size_t>(len);
      } else {
        std::memcpy(p, "\xef\xbf\xbd", 3);
        p += 3;
        ++i;
      }
    }
  }
  return p;
}

// Writes the escaped body of s at p (room for 6 bytes per input byte). Most
// strings are short plain ASCII: they are checked and copied with a few
// (possibly overlapping) word loads instead of a loop per byte.
[[gnu::noinline]] char* WriteBodyAny(char* p, std::string_view s) {
  const char* in = s.data();
  const std::size_t n = s.size();
#ifdef __SSE2__
  if (n >= 16) {
    // Sixteen bytes per step: a byte needs attention when it is '"', '\\' or
    // (as a signed byte) below 0x20, which covers controls and non-ASCII.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    auto attention = [&](__m128i v) {
      __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                 _mm_cmplt_epi8(v, space));
      return _mm_movemask_epi8(bad) != 0;
    };
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
      if (attention(v)) return EscapeFrom(p, in, n, i);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
      p += 16;
    }
    if (i == n) return p;
    // The last 16 bytes, overlapping ones already copied (same bytes again).
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + n - 16));
    if (attention(v)) return EscapeFrom(p, in, n, i);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p - (16 - (n - i))), v);
    return p + (n - i);
  }
#endif
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t v = Load8(in + i);
      if (NeedsAttention8(v)) return EscapeFrom(p, in, n, i);
      std::memcpy(p, &v, 8);
      p += 8;
    }
    if (i == n) return p;
    // The last 8 bytes, overlapping ones already copied (same bytes again).
    std::uint64_t v = Load8(in + n - 8);
    if (NeedsAttention8(v)) return EscapeFrom(p, in, n, i);
    std::memcpy(p - (8 - (n - i)), &v, 8);
    return p + (n - i);
  }
  if (n >= 4) {
    std::uint32_t a = Load4(in);
    std::uint32_t b = Load4(in + n - 4);
    if (NeedsAttention8(a | (std::uint64_t{b} << 32))) return EscapeFrom(p, in, n, 0);
    std::memcpy(p, &a, 4);
    std::memcpy(p + n - 4, &b, 4);
    return p + n;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!kPlain[static_cast<unsigned char>(in[i])]) return EscapeFrom(p + i, in, n, i);
    p[i] = in[i];
  }
  return p + n;
}

// The same, with keys and short values (4-16 bytes: most of them) checked and
// copied inline with two overlapping words; the rest through WriteBodyAny.
[[gnu::always_inline]] inline char* WriteBody(char* p, std::string_view s) {
  const char* in = s.data();
  const std::size_t n = s.size();
  if (n >= 8 && n <= 16) {
    std::uint64_t a = Load8(in);
    std::uint64_t b = Load8(in + n - 8);
    if (NeedsAttention8(a) || NeedsAttention8(b)) [[unlikely]]
      return EscapeFrom(p, in, n, 0);
    std::memcpy(p, &a, 8);
    std::memcpy(p + n - 8, &b, 8);
    return p + n;
  }
  if (n >= 4 && n < 8) {
    std::uint32_t a = Load4(in);
    std::uint32_t b = Load4(in + n - 4);
    if (NeedsAttention8(a | (std::uint64_t{b} << 32))) [[unlikely]]
      return EscapeFrom(p, in, n, 0);
    std::memcpy(p, &a, 4);
    std::memcpy(p + n - 4, &b, 4);
    return p + n;
  }
  return WriteBodyAny(p, s);
}

inline void WriteString(Writer& w, std::string_view s) {
  // Worst case: 6 bytes ("\u00XX") per input byte, plus the quotes.
  char* p = w.Reserve(2 + 6 * s.size());
  *p++ = '"';
  p = WriteBody(p, s);
  *p++ = '"';
  w.Commit(p);
}

// Writes `,` (unless first), the indentation (when pretty) and `"key":` (or
// `"key": `) at p; room: KeyRoom().
template <bool kPretty>
inline std::size_t KeyRoom(std::string_view key, int depth) {
  return 6 + 6 * key.size() + (kPretty ? static_cast<std::size_t>(depth) * 2 + 1 : 0);
}

template <bool kPretty>
inline char* PutKey(char* p, std::string_view key, bool first, int depth) {
  if (!first) *p++ = ',';
  if constexpr (kPretty) {
    const auto n = static_cast<std::size_t>(depth) * 2;
    *p++ = '\n';
    std::memset(p, ' ', n);
    p += n;
  }
  *p++ = '"';
  p = WriteBody(p, key);
  *p++ = '"';
  *p++ = ':';
  if constexpr (kPretty) *p++ = ' ';
  return p;
}

template <typename T>
void WriteChars(Writer& w, T v) {
  char* p = w.Reserve(64);
  w.Commit(std::to_chars(p, p + 64, v).ptr);
}

void WriteDouble(Writer& w, double v) {
  if (!std::isfinite(v)) {
    w.Put("null");
    return;
  }
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    WriteChars(w, static_cast<long long>(v));
    return;
  }
  WriteChars(w, v);
}

void Indent(Writer& w, int depth) {
  auto n = static_cast<std::size_t>(depth) * 2;
  char* p = w.Reserve(n + 1);
  *p++ = '\n';
  std::memset(p, ' ', n);
  w.Commit(p + n);
}

// Null, booleans and numbers: rare in a Bundle, kept out of the loops.
[[gnu::noinline]] void WriteScalar(Writer& w, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::bool_:
      w.Put(v.get_bool() ? std::string_view("true") : std::string_view("false"));
      break;
    case boost::json::kind::int64:
      WriteChars(w, v.get_int64());
      break;
    case boost::json::kind::uint64:
      WriteChars(w, v.get_uint64());
      break;
    case boost::json::kind::double_:
      WriteDouble(w, v.get_double());
      break;
    default:
      w.Put("null");
      break;
  }
}

template <bool kPretty>
void WriteObject(Writer& w, const boost::json::object& o, int depth);
template <bool kPretty>
void WriteArray(Writer& w, const boost::json::array& a, int depth);

template <bool kPretty>
inline void Write(Writer& w, const boost::json::value& v, int depth) {
  if (const boost::json::string* str = v.if_string()) {
    WriteString(w, *str);
  } else if (const boost::json::object* obj = v.if_object()) {
    WriteObject<kPretty>(w, *obj, depth);
  } else if (const boost::json::array* arr = v.if_array()) {
    WriteArray<kPretty>(w, *arr, depth);
  } else {
    WriteScalar(w, v);
  }
}

template <bool kPretty>
void WriteArray(Writer& w, const boost::json::array& a, int depth) {
  if (a.empty()) {
    w.Put("[]");
    return;
  }
  w.Put('[');
  bool first = true;
  for (const auto& e : a) {
    if (!first) w.Put(',');
    first = false;
    if constexpr (kPretty) Indent(w, depth + 1);
    Write<kPretty>(w, e, depth + 1);
  }
  if constexpr (kPretty) Indent(w, depth);
  w.Put(']');
}

template <bool kPretty>
void WriteObject(Writer& w, const boost::json::object& o, int depth) {
  if (o.empty()) {
    w.Put("{}");
    return;
  }
  w.Put('{');
  bool first = true;
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    const boost::json::value& v = kv.value();
    if (const boost::json::string* str = v.if_string()) {
      // Key and string value (most members) in one reservation.
      char* p = w.Reserve(KeyRoom<kPretty>(key, depth + 1) + 2 + 6 * str->size());
      p = PutKey<kPretty>(p, key, first, depth + 1);
      *p++ = '"';
      p = WriteBody(p, *str);
      *p++ = '"';
      w.Commit(p);
    } else {
      w.Commit(PutKey<kPretty>(w.Reserve(KeyRoom<kPretty>(key, depth + 1)), key, first, depth + 1));
      Write<kPretty>(w, v, depth + 1);
    }
    first = false;
  }
  if constexpr (kPretty) Indent(w, depth);
  w.Put('}');
}

}  // namespace

std::string Serialize(const boost::json::object& bundle, bool pretty) {
  Writer w;
  if (pretty)  // no copy of the bundle
    WriteObject<true>(w, bundle, 0);
  else
    WriteObject<false>(w, bundle, 0);
  return w.Take();
}

}  // namespace junction::fhir
