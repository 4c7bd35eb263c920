// ORC, OBR, TQ1, SPM, OBX, NTE, RXA, RXR, SCH, AIS, AIG, AIL, AIP, TXA -> FHIR.
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <cstdlib>

#include "fhir/internal/builder.h"

namespace junction::fhir::internal {
namespace {

std::string_view First(std::string_view raw, const hl7::Delimiters& d) {
  return hl7::NthPiece(raw, d.repetition, 0).value_or(std::string_view{});
}

json::object ConceptOf(const json::storage_ptr& sp, const char* system, std::string_view code,
                       std::string_view display = {}) {
  json::object c(display.empty() ? 2 : 3, sp);  // exact: no regrowth
  Set(c, "system", system);
  Set(c, "code", code);
  if (!display.empty()) Set(c, "display", display);
  json::array a(sp);
  a.emplace_back(std::move(c));
  json::object cc(1, sp);
  Set(cc, "coding", std::move(a));
  return cc;
}

json::object DataAbsent(const json::storage_ptr& sp) {
  return ConceptOf(sp, "http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown",
                   "Unknown");
}

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// A JSON number for NM text that ParseNm accepted: an integer when it is one.
json::value Number(std::string_view text, double parsed) {
  std::string_view t = text;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) t.remove_prefix(1);
  bool integral = !t.empty() && t.size() <= 15;
  for (char c : t) integral = integral && c >= '0' && c <= '9';
  if (integral) {
    long long v = 0;
    std::string_view all = text[0] == '+' ? text.substr(1) : text;
    auto r = std::from_chars(all.data(), all.data() + all.size(), v);
    if (r.ec == std::errc()) return v;
  }
  return parsed;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool ValidBase64(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if (c == ' ' || c == '\r' || c == '\n' || c == '\t') continue;
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
              c == '/' || c == '=';
    if (!ok) return false;
    ++n;
  }
  return n > 0 && n % 4 == 0;
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
    i += 3;
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

bool HexDecode(std::string_view in, std::string* out) {
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (in.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < in.size(); i += 2) {
    int a = val(in[i]), b = val(in[i + 1]);
    if (a < 0 || b < 0) return false;
    out->push_back(static_cast<char>(a * 16 + b));
  }
  return true;
}

std::string MimeType(std::string type, std::string subtype) {
  type = Upper(std::move(type));
  std::string major;
  if (Is(type, "AP") || Is(type, "APPLICATION")) major = "application";
  else if (Is(type, "AU") || Is(type, "AUDIO")) major = "audio";
  else if (Is(type, "IM") || Is(type, "IMAGE")) major = "image";
  else if (Is(type, "TX") || Is(type, "TEXT") || Is(type, "FT")) major = "text";
  else if (Is(type, "VIDEO")) major = "video";
  else if (Is(type, "MULTIPART")) major = "multipart";
  subtype = Lower(std::move(subtype));
  for (char c : subtype)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '+')) return {};
  if (major.empty()) return subtype.empty() ? std::string() : "application/" + subtype;
  if (subtype.empty()) return major == "text" ? "text/plain" : major + "/octet-stream";
  return major + "/" + subtype;
}

const char* ObservationStatus(std::string_view code) {
  if (Is(code, "F") || Is(code, "U")) return "final";
  if (Is(code, "C")) return "corrected";
  if (Is(code, "P") || Is(code, "R") || Is(code, "S")) return "preliminary";
  if (Is(code, "I") || Is(code, "O")) return "registered";
  if (Is(code, "X")) return "cancelled";
  if (Is(code, "D") || Is(code, "W")) return "entered-in-error";
  if (Is(code, "N")) return "final";
  return nullptr;
}

const char* ReportStatus(std::string_view code) {
  if (Is(code, "O") || Is(code, "I")) return "registered";
  if (Is(code, "S") || Is(code, "A")) return "partial";
  if (Is(code, "P") || Is(code, "R")) return "preliminary";
  if (Is(code, "C") || Is(code, "M")) return "corrected";
  if (Is(code, "F")) return "final";
  if (Is(code, "X")) return "cancelled";
  return nullptr;
}

const char* OrderStatus(std::string_view orc5, std::string_view orc1) {
  if (orc5 == "A" || orc5 == "IP" || orc5 == "SC") return "active";
  if (orc5 == "CA" || orc5 == "DC" || orc5 == "RP") return "revoked";
  if (orc5 == "CM") return "completed";
  if (orc5 == "ER") return "entered-in-error";
  if (orc5 == "HD") return "on-hold";
  if (orc1 == "NW" || orc1 == "OK" || orc1 == "SC" || orc1 == "XO" || orc1 == "RL" || orc1 == "RE" ||
      orc1 == "SN" || orc1 == "NA" || orc1 == "XX")
    return "active";
  if (orc1 == "CA" || orc1 == "OC" || orc1 == "CR" || orc1 == "DC" || orc1 == "OD" || orc1 == "DR")
    return "revoked";
  if (orc1 == "HD" || orc1 == "OH") return "on-hold";
  return "unknown";
}

const char* Priority(std::string_view code) {
  if (Is(code, "S")) return "stat";
  if (Is(code, "A")) return "asap";
  if (Is(code, "R")) return "routine";
  if (Is(code, "P") || Is(code, "T") || Is(code, "C")) return "urgent";
  return nullptr;
}

}  // namespace

std::string Base64Encode(std::string_view in) { return Base64(in); }

// ---------------------------------------------------------------- ORC + OBR + TQ1

void Builder::FlushOrder(Seg* obr) {
  std::optional<Seg> orc = std::move(pending_orc_);
  pending_orc_.reset();
  std::vector<Seg> tq1s = std::move(pending_tq1_);
  pending_tq1_.clear();
  if (!orc && !obr) {
    for (Seg& t : tq1s) {
      Warn(t.Loc(), "segment not mapped: no order (ORC/OBR) for it");
    }
    return;
  }
  auto ei = [&](int field) {
    hl7::EI e;
    if (orc) e = hl7::ParseEi(First(orc->F(field), d_), d_);
    if (e.entity_identifier.empty() && obr) e = hl7::ParseEi(First(obr->F(field), d_), d_);
    if (obr) obr->Mark(field);
    return e;
  };
  std::string placer_sys, filler_sys;
  json::object placer_id = IdentifierFromEi(ei(2), "PLAC", &placer_sys);
  json::object filler_id = IdentifierFromEi(ei(3), "FILL", &filler_sys);
  std::string key, query;
  if (!filler_id.empty()) {
    std::string v(filler_id["value"].as_string());
    key = "filler|" + filler_sys + "|" + v;
    query = IdentifierQuery(filler_sys, v);
  } else if (!placer_id.empty()) {
    std::string v(placer_id["value"].as_string());
    key = "placer|" + placer_sys + "|" + v;
    query = IdentifierQuery(placer_sys, v);
  } else {
    std::string code = obr ? Txt(C(obr->F(4), 1)) : std::string();
    key = (patient_key_.empty() ? message_key_ : patient_key_) + "|order|" + message_key_ + "|" + code + "|" +
          std::to_string(obr ? obr->index : orc->index);
  }
  bool created = false;
  int sr = Upsert("ServiceRequest", key, query, false, &created);
  order_ = sr;
  order_key_ = key;
  order_observations_.clear();
  observation_ = -1;
  report_ = -1;
  note_target_ = sr;
  note_field_ = "note";

  if (created) {
    json::object b = NewBody(sr);
    Push(b, "identifier", placer_id);
    Push(b, "identifier", filler_id);
    if (orc) {
      if (json::object req = IdentifierFromEi(hl7::ParseEi(orc->F(4), d_), "PGN"); !req.empty())
        Set(b, "requisition", std::move(req));
    }
    std::string orc5 = orc ? Txt(orc->F(5)) : std::string();
    std::string orc1 = orc ? Txt(orc->F(1)) : std::string();
    Set(b, "status", OrderStatus(orc5, orc1));
    Set(b, "intent", "order");
    // Priority: TQ1-9, else ORC-7.6 / OBR-27.6 (TQ, deprecated), else OBR-5.
    std::string prio;
    for (Seg& t : tq1s)
      if (prio.empty()) prio = Txt(C(t.F(9), 1));
    if (prio.empty() && orc) prio = Txt(C(First(orc->F(7), d_), 6));
    if (prio.empty() && obr) prio = Txt(C(First(obr->F(27), d_), 6));
    if (prio.empty() && obr) prio = Txt(obr->F(5));
    if (!prio.empty()) {
      if (const char* p = Priority(prio)) Set(b, "priority", p);
      else Warn(obr ? obr->Loc(27) : orc->Loc(7), "priority '" + prio + "' not mapped", "code-invalid");
    }
    if (obr) {
      json::object code = CodeableConceptRaw(obr->F(4), "");
      if (!code.empty()) Set(b, "code", std::move(code));
    }
    if (patient_ >= 0) Set(b, "subject", Reference(patient_));
    if (encounter_ >= 0) Set(b, "encounter", Reference(encounter_));
    // Occurrence: TQ1-7/8, else OBR-6 (requested), else OBR-7 in order messages.
    std::string start, end;
    for (Seg& t : tq1s) {
      if (start.empty()) start = DateTimeValue(t.F(7), {t, 7});
      if (end.empty()) end = DateTimeValue(t.F(8), {t, 8});
    }
    if (!end.empty()) {
      json::object period(kObjectReserve, sp_);
      Put(period, "start", start);
      Set(period, "end", end);
      Set(b, "occurrencePeriod", std::move(period));
    } else {
      if (start.empty() && obr) start = DateTimeValue(obr->F(6), {*obr, 6});
      if (start.empty() && obr && kind_ != Kind::kOru) start = DateTimeValue(obr->F(7), {*obr, 7});
      Put(b, "occurrenceDateTime", start);
    }
    if (orc) Put(b, "authoredOn", DateTimeValue(orc->F(9), {*orc, 9}));
    int requester = orc ? Practitioner(First(orc->F(12), d_)) : -1;
    if (requester < 0 && obr) requester = Practitioner(First(obr->F(16), d_));
    if (requester >= 0) Set(b, "requester", Reference(requester));
    if (obr) {
      ForReps(*obr, 31, [&](std::string_view rep) { Push(b, "reasonCode", CodeableConceptRaw(rep, "")); });
      if (std::string info = Txt(obr->F(13)); !info.empty()) {
        json::object n(kObjectReserve, sp_);
        Set(n, "text", info);
        Push(b, "note", std::move(n));
      }
    }
    for (Seg& t : tq1s) {
      t.Mark(1);
      std::string_view q = t.F(2);
      std::string qv = Txt(C(q, 1));
      if (!qv.empty()) {
        auto nm = hl7::ParseNm(qv);
        if (nm.ok()) {
          json::object quantity(kObjectReserve, sp_);
          Set(quantity, "value", Number(qv, *nm));
          Put(quantity, "unit", Txt(C(q, 2)));
          Set(b, "quantityQuantity", std::move(quantity));
        } else {
          Warn(t.Loc(2), "quantity '" + qv + "' is not a number; not mapped", "invalid");
        }
      }
    }
    SetBody(sr, std::move(b));
  } else if (obr) {
    for (int f = 1; f < 64; ++f) obr->Mark(f);
  }
  if (orc) {
    // Fields read above count as mapped; ORC-1 is the order control code.
    for (int f : {1, 2, 3, 4, 5, 7, 9, 12}) orc->Mark(f);
    if (!created)
      for (int f = 1; f < 64; ++f) orc->Mark(f);
    ReportUnused(*orc);
  }
  for (Seg& t : tq1s) {
    for (int f : {1, 2, 7, 8, 9}) t.Mark(f);
    ReportUnused(t);
  }

  if (obr) {
    obr->Mark(1);
    for (int f : {4, 5, 6, 13, 16, 27, 31}) obr->Mark(f);
    if (kind_ != Kind::kOru) obr->Mark(7);
  }
  if (!obr || kind_ != Kind::kOru) return;

  // ORU: the result report for this OBR.
  std::string dr_query = query;
  bool dr_created = false;
  int dr = Upsert("DiagnosticReport", key, std::move(dr_query), false, &dr_created);
  report_ = dr;
  if (!dr_created) {
    for (int f = 1; f < 64; ++f) obr->Mark(f);
    return;
  }
  json::object r = NewBody(dr);
  Push(r, "identifier", placer_id);
  Push(r, "identifier", filler_id);
  json::array based_on(sp_);
  based_on.emplace_back(Reference(sr));
  Set(r, "basedOn", std::move(based_on));
  std::string st = Txt(obr->F(25));
  const char* status = ReportStatus(st);
  if (!status && !st.empty()) Warn(obr->Loc(25), "result status '" + st + "' not mapped", "code-invalid");
  Set(r, "status", status ? status : "unknown");
  ForReps(*obr, 24, [&](std::string_view rep) { Push(r, "category", CodeableConceptRaw(rep, "0074")); });
  json::object code = CodeableConceptRaw(obr->F(4), "");
  Set(r, "code", code.empty() ? DataAbsent(sp_) : std::move(code));
  if (patient_ >= 0) Set(r, "subject", Reference(patient_));
  if (encounter_ >= 0) Set(r, "encounter", Reference(encounter_));
  std::string start = DateTimeValue(obr->F(7), {*obr, 7});
  std::string end = DateTimeValue(obr->F(8), {*obr, 8});
  if (!end.empty()) {
    json::object period(kObjectReserve, sp_);
    Put(period, "start", start);
    Set(period, "end", end);
    Set(r, "effectivePeriod", std::move(period));
  } else {
    Put(r, "effectiveDateTime", start);
  }
  Put(r, "issued", InstantValue(obr->F(22), {*obr, 22}));
  // OBR-32/34 are NDL: component 1 is a CNN whose parts are subcomponents.
  auto ndl = [&](int field, const char* target) {
    ForReps(*obr, field, [&](std::string_view rep) {
      std::string_view cnn = C(rep, 1);
      if (cnn.empty()) return;
      std::string xcn;
      for (int i = 1; i <= 11; ++i) {
        if (i > 1) xcn.push_back(d_.component);
        std::string_view part = Sub(cnn, i);
        if (i == 9 && !part.empty()) {
          // CNN-9..11 are the assigning authority HD, one subcomponent each.
          xcn.append(part);
          xcn.push_back(d_.subcomponent);
          xcn.append(Sub(cnn, 10));
          xcn.push_back(d_.subcomponent);
          xcn.append(Sub(cnn, 11));
          break;
        }
        xcn.append(part);
      }
      int pr = Practitioner(xcn);
      if (pr >= 0) Push(r, target, Reference(pr));
    });
  };
  ndl(34, "performer");
  ndl(32, "resultsInterpreter");
  for (int f : {7, 8, 22, 24, 25, 32, 34}) obr->Mark(f);
  SetBody(dr, std::move(r));
}

void Builder::OnObr(Seg& s) {
  FlushOrder(&s);
}

void Builder::OnTq1(Seg& s) {
  // Kept until the OBR of the same order arrives (OML: ORC, TQ1, OBR).
  if (pending_orc_) {
    pending_tq1_.push_back(s);
    return;
  }
  if (order_ >= 0) {
    json::object& b = Body(order_);
    std::string start = DateTimeValue(s.F(7), {s, 7});
    std::string end = DateTimeValue(s.F(8), {s, 8});
    if (!b.contains("occurrenceDateTime") && !b.contains("occurrencePeriod")) {
      if (!end.empty()) {
        json::object period(kObjectReserve, sp_);
        Put(period, "start", start);
        Set(period, "end", end);
        Set(b, "occurrencePeriod", std::move(period));
      } else {
        Put(b, "occurrenceDateTime", start);
      }
    }
    std::string prio = Txt(C(s.F(9), 1));
    if (const char* p = Priority(prio); p && !b.contains("priority")) Body(order_)["priority"] = p;
    s.Mark(1);
    ReportUnused(s);
    return;
  }
  Warn(s.Loc(), "segment not mapped: no order (ORC/OBR) for it");
}

// ---------------------------------------------------------------- SPM

void Builder::OnSpm(Seg& s) {
  s.Mark(1);
  std::string_view eip = First(s.F(2), d_);
  std::string psys, fsys;
  json::object placer = IdentifierFromEi(hl7::ParseEiComponent(C(eip, 1), d_), "PLAC", &psys);
  json::object filler = IdentifierFromEi(hl7::ParseEiComponent(C(eip, 2), d_), "FILL", &fsys);
  std::string key, query;
  if (!OrderKey(filler, fsys, placer, psys, &key, &query)) {
    key = (order_key_.empty() ? patient_key_ + "|" + message_key_ : order_key_) + "|spm|" + Txt(s.F(1));
  }
  bool created = false;
  int index = Upsert("Specimen", key, std::move(query), false, &created);
  note_target_ = index;
  note_field_ = "note";
  if (created) {
    json::object b = NewBody(index);
    Push(b, "identifier", std::move(placer));
    Push(b, "identifier", std::move(filler));
    std::string avail = Txt(s.F(20));
    if (Is(avail, "Y")) Set(b, "status", "available");
    else if (Is(avail, "N")) Set(b, "status", "unavailable");
    if (json::object t = CodeableConceptRaw(s.F(4), "0487"); !t.empty()) Set(b, "type", std::move(t));
    if (patient_ >= 0) Set(b, "subject", Reference(patient_));
    Put(b, "receivedTime", DateTimeValue(s.F(18), {s, 18}));
    if (order_ >= 0) Push(b, "request", Reference(order_));
    json::object coll(kObjectReserve, sp_);
    std::string_view dr = s.F(17);
    std::string cstart = DateTimeValue(Sub(C(dr, 1), 1), {s, 17});
    std::string cend = DateTimeValue(Sub(C(dr, 2), 1), {s, 17});
    if (!cend.empty()) {
      json::object period(kObjectReserve, sp_);
      Put(period, "start", cstart);
      Set(period, "end", cend);
      Set(coll, "collectedPeriod", std::move(period));
    } else {
      Put(coll, "collectedDateTime", cstart);
    }
    std::string_view cq = s.F(12);
    if (std::string qv = Txt(C(cq, 1)); !qv.empty()) {
      auto nm = hl7::ParseNm(qv);
      if (nm.ok()) {
        json::object q(kObjectReserve, sp_);
        Set(q, "value", Number(qv, *nm));
        hl7::CWE unit = hl7::ParseCweComponent(C(cq, 2), d_);
        Put(q, "unit", Txt(unit.text.empty() ? unit.identifier : unit.text));
        std::string sys = CodeSystemUri(unit.name_of_coding_system);
        if (!sys.empty() && !unit.identifier.empty()) {
          Set(q, "system", sys);
          Set(q, "code", Txt(unit.identifier));
        }
        Set(coll, "quantity", std::move(q));
      } else {
        Warn(s.Loc(12), "collection amount '" + qv + "' is not a number; not mapped", "invalid");
      }
    }
    if (json::object m = CodeableConceptRaw(s.F(7), "0488"); !m.empty()) Set(coll, "method", std::move(m));
    if (json::object site = CodeableConceptRaw(s.F(8), ""); !site.empty()) Set(coll, "bodySite", std::move(site));
    if (!coll.empty()) Set(b, "collection", std::move(coll));
    ForReps(s, 24, [&](std::string_view rep) { Push(b, "condition", CodeableConceptRaw(rep, "0493")); });
    ForReps(s, 14, [&](std::string_view rep) {
      std::string t = Txt(rep);
      if (t.empty()) return;
      json::object n(kObjectReserve, sp_);
      Set(n, "text", t);
      Push(b, "note", std::move(n));
    });
    SetBody(index, std::move(b));
  } else {
    for (int f = 1; f < 64; ++f) s.Mark(f);
  }
  if (report_ >= 0) Push(Body(report_), "specimen", Reference(index));
  for (int obs : order_observations_)
    if (!Body(obs).contains("specimen")) Body(obs)["specimen"] = Reference(index);
}

// ---------------------------------------------------------------- OBX

void Builder::SetObservationValue(Seg& s, json::object& target, std::string_view type, std::string_view rep,
                                  std::string_view units, const LazyLoc& loc, bool* text_fallback) {
  *text_fallback = false;
  auto quantity = [&](std::string_view text, double v) {
    json::object q(kObjectReserve, sp_);
    Set(q, "value", Number(text, v));
    if (!units.empty()) {
      CweView u;  // decoded as hl7::ParseCwe does
      u.Split(units, d_, d_.component);
      std::string buf[3];
      PutText(q, "unit", TxtView(u.part[1].empty() ? u.part[0] : u.part[1], buf[0]));
      std::string_view sys = CodeSystemUriView(u.part[2], buf[1]);
      std::string_view code = TxtView(u.part[0], buf[2]);
      if (!sys.empty() && !code.empty()) {
        Set(q, "system", sys);
        Set(q, "code", code);
      }
    }
    return q;
  };
  auto as_string = [&]() {
    // Components become space-separated text.
    std::string out;
    hl7::ForEachPiece(rep, d_.component, [&](std::string_view comp, std::size_t) {
      std::string t = Txt(comp);
      if (t.empty()) return;
      if (!out.empty()) out.push_back(' ');
      out += t;
    });
    return out;
  };
  auto fallback = [&](const std::string& why) {
    std::string text = as_string();
    if (text.empty()) return;
    Set(target, "valueString", text);
    *text_fallback = true;
    Warn(loc, why + "; kept as valueString", "invalid", "information");
  };

  if (Is(type, "NM")) {
    std::string t(TrimView(rep));
    auto v = hl7::ParseNm(t);
    if (v.ok()) Set(target, "valueQuantity", quantity(t, *v));
    else fallback("'" + Txt(rep) + "' is not a valid NM");
  } else if (Is(type, "SN")) {
    auto sn = hl7::ParseSn(rep, d_);
    if (!sn.ok()) return fallback("'" + Txt(rep) + "' is not a valid SN");
    const std::string& cmp = sn->comparator;
    const std::string& sep = sn->separator_suffix;
    auto n1 = hl7::ParseNm(sn->num1);
    auto n2 = hl7::ParseNm(sn->num2);
    if (sep.empty() && n1.ok() && (cmp.empty() || Is(cmp, "=") || Is(cmp, "<") || Is(cmp, ">") || Is(cmp, "<=") || Is(cmp, ">="))) {
      json::object q = quantity(sn->num1, *n1);
      if (!cmp.empty() && cmp != "=") {
        json::object with(kObjectReserve, sp_);
        Set(with, "value", q["value"]);
        Set(with, "comparator", cmp);
        for (auto& kv : q)
          if (kv.key() != "value") with[kv.key()] = kv.value();
        q = std::move(with);
      }
      Set(target, "valueQuantity", std::move(q));
    } else if ((Is(sep, ":") || Is(sep, "/")) && cmp.empty() && n1.ok() && n2.ok()) {
      json::object ratio(kObjectReserve, sp_);
      json::object num, den;
      Set(num, "value", Number(sn->num1, *n1));
      Set(den, "value", Number(sn->num2, *n2));
      Set(ratio, "numerator", std::move(num));
      Set(ratio, "denominator", std::move(den));
      Set(target, "valueRatio", std::move(ratio));
    } else if (Is(sep, "-") && cmp.empty() && n1.ok() && n2.ok()) {
      json::object range(kObjectReserve, sp_);
      Set(range, "low", quantity(sn->num1, *n1));
      Set(range, "high", quantity(sn->num2, *n2));
      Set(target, "valueRange", std::move(range));
    } else {
      // "^2^+", "<>^5", "^1^.^2": no FHIR numeric form; the text keeps the meaning.
      std::string text = cmp + sn->num1 + sep + sn->num2;
      if (!text.empty()) Set(target, "valueString", text);
    }
  } else if (Is(type, "ST") || Is(type, "TX") || Is(type, "FT")) {
    Put(target, "valueString", Txt(rep));
  } else if (Is(type, "CWE") || Is(type, "CE") || Is(type, "CNE") || Is(type, "CF") || Is(type, "IS") || Is(type, "ID") ||
             Is(type, "CV")) {
    json::object cc = CodeableConceptRaw(rep, "");
    if (!cc.empty()) Set(target, "valueCodeableConcept", std::move(cc));
  } else if (Is(type, "DT") || Is(type, "DTM") || Is(type, "TS") || Is(type, "DIN")) {
    Put(target, "valueDateTime", DateTimeValue(C(rep, 1), loc));
  } else if (Is(type, "TM")) {
    std::string t(TrimView(rep));
    auto tm = hl7::ParseTm(t);
    if (tm.ok()) Set(target, "valueTime", tm->ToFhirTime());
    else fallback("'" + Txt(rep) + "' is not a valid TM (" + tm.status().message() + ")");
  } else if (Is(type, "DR")) {
    json::object p(kObjectReserve, sp_);
    Put(p, "start", DateTimeValue(Sub(C(rep, 1), 1), loc));
    Put(p, "end", DateTimeValue(Sub(C(rep, 2), 1), loc));
    if (!p.empty()) Set(target, "valuePeriod", std::move(p));
  } else if (Is(type, "NR")) {
    json::object range(kObjectReserve, sp_);
    for (int i : {1, 2}) {
      std::string t = Txt(C(rep, i));
      if (t.empty()) continue;
      auto v = hl7::ParseNm(t);
      if (!v.ok()) return fallback("'" + Txt(rep) + "' is not a valid NR");
      json::object q(kObjectReserve, sp_);
      Set(q, "value", Number(t, *v));
      range[i == 1 ? "low" : "high"] = std::move(q);
    }
    if (!range.empty()) Set(target, "valueRange", std::move(range));
  } else if (Is(type, "NA")) {
    std::string data;
    bool ok = true;
    hl7::ForEachPiece(rep, d_.component, [&](std::string_view comp, std::size_t) {
      std::string t(TrimView(comp));
      if (t.empty()) t = "E";  // SampledData's code for "no value"
      else if (!hl7::ParseNm(t).ok()) ok = false;
      if (!data.empty()) data.push_back(' ');
      data += t;
    });
    if (!ok) return fallback("'" + Txt(rep) + "' is not a valid NA");
    json::object sd(kObjectReserve, sp_);
    Set(sd, "origin", quantity("0", 0));  // carries the OBX-6 units
    Set(sd, "period", 0);  // not carried by NA; documented
    Set(sd, "dimensions", 1);
    Set(sd, "data", data);
    Set(target, "valueSampledData", std::move(sd));
  } else if (Is(type, "ED") || Is(type, "RP")) {
    json::object att(kObjectReserve, sp_);
    if (Is(type, "ED")) {
      std::string mime = MimeType(Txt(C(rep, 2)), Txt(C(rep, 3)));
      std::string encoding = Upper(Txt(C(rep, 4)));
      std::string data = Txt(C(rep, 5));
      std::string b64;
      if (encoding == "BASE64") {
        if (ValidBase64(data)) {
          for (char c : data)
            if (c != ' ' && c != '\r' && c != '\n' && c != '\t') b64.push_back(c);
        } else {
          return fallback("ED data declared Base64 is not valid base64");
        }
      } else if (encoding == "HEX") {
        std::string bytes;
        if (!HexDecode(data, &bytes)) return fallback("ED data declared Hex is not valid hex");
        b64 = Base64(bytes);
      } else {
        b64 = Base64(data);
      }
      Put(att, "contentType", mime);
      Put(att, "data", b64);
    } else {
      std::string url = Txt(C(rep, 1));
      if (url.find(' ') != std::string::npos) return fallback("RP pointer is not a URL");
      Put(att, "contentType", MimeType(Txt(C(rep, 3)), Txt(C(rep, 4))));
      Put(att, "url", url);
    }
    if (att.empty()) return;
    json::object e(kObjectReserve, sp_);
    Set(e, "url", "http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.valueAttachment");
    Set(e, "valueAttachment", std::move(att));
    Push(target, "extension", std::move(e));
  } else {
    std::string text = as_string();
    if (text.empty()) return;
    Set(target, "valueString", text);
    *text_fallback = true;
    Warn(loc, "value type '" + std::string(type) + "' has no FHIR value[x]; kept as valueString", "not-supported",
         "information");
  }
  (void)s;
}

void Builder::OnObx(Seg& s) {
  if (kind_ == Kind::kMdm) {
    OnObxDocument(s);
    return;
  }
  s.Mark(1);
  s.Mark(2);
  s.Mark(4);
  std::string type = Upper(Txt(s.F(2)));
  CweView code;  // decoded as hl7::ParseCwe does
  code.Split(First(s.F(3), d_), d_, d_.component);
  std::string isys;
  json::object ident = IdentifierFromEi(hl7::ParseEi(s.F(21), d_), "", &isys);
  bool created = false;
  int index;
  if (!ident.empty()) {
    std::string v(ident["value"].as_string());
    index = Upsert("Observation", isys + "|" + v, IdentifierQuery(isys, v), false, &created);
  } else {
    // Key: "<order, encounter or patient key>|obx|<system>|<code>|<sub-id>|<set id>".
    // The results of one order share everything before "<system>": that part
    // of the id hash is computed once per order.
    std::string_view base = !order_key_.empty()       ? std::string_view(order_key_)
                            : !encounter_key_.empty() ? std::string_view(encounter_key_)
                            : !patient_key_.empty()   ? std::string_view(patient_key_)
                                                      : std::string_view();
    std::string msg_base;
    if (base.empty()) base = msg_base = "msg|" + message_key_;
    if (!obx_prefix_valid_ || obx_prefix_base_ != base) {
      obx_prefix_ = StableHasher();
      obx_prefix_.Update("Observation");
      obx_prefix_.Update("|");
      obx_prefix_.Update(base);
      obx_prefix_.Update("|obx|");
      obx_prefix_base_.assign(base);
      obx_prefix_valid_ = true;
    }
    std::string buf[2];
    StableHasher h = obx_prefix_;
    h.Update(code.part[2]);
    h.Update("|");
    h.Update(code.part[0].empty() ? code.part[1] : code.part[0]);
    h.Update("|");
    h.Update(TxtView(s.F(4), buf[0]));
    h.Update("|");
    h.Update(TxtView(s.F(1), buf[1]));
    index = UpsertHashed("Observation", h.Finish(), {}, false, &created);
  }
  if (!created) {
    Warn(s.Loc(), "duplicates an earlier OBX (same order, code, sub-id and set id); not mapped", "duplicate");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::object o = NewBody(index);
  Push(o, "identifier", std::move(ident));
  if (order_ >= 0) Push(o, "basedOn", Reference(order_));
  if (immunization_ >= 0) Push(o, "partOf", Reference(immunization_));
  std::string st = Txt(s.F(11));
  const char* status = ObservationStatus(st);
  if (!status && !st.empty()) Warn(s.Loc(11), "observation status '" + st + "' not mapped", "code-invalid");
  Set(o, "status", status ? status : "unknown");
  json::object cc = CodeableConcept(code, "");
  Set(o, "code", cc.empty() ? DataAbsent(sp_) : std::move(cc));
  if (patient_ >= 0) Set(o, "subject", Reference(patient_));
  if (encounter_ >= 0) Set(o, "encounter", Reference(encounter_));
  Put(o, "effectiveDateTime", DateTimeValue(s.F(14), {s, 14}));
  ForReps(s, 16, [&](std::string_view rep) {
    int pr = Practitioner(rep);
    if (pr >= 0) Push(o, "performer", Reference(pr));
  });
  if (std::string_view producer = First(s.F(15), d_); !producer.empty()) {
    hl7::CWE p = hl7::ParseCwe(producer, d_);
    int org = OrganizationNamed(Txt(p.text), CodeSystemUri(p.name_of_coding_system), Txt(p.identifier));
    if (org >= 0) Push(o, "performer", Reference(org));
  }
  if (int org = OrganizationFromXon(First(s.F(23), d_)); org >= 0) {
    if (!Body(org).contains("address"))
      ForReps(s, 24, [&](std::string_view rep) { Push(Body(org), "address", Address(XadOf(rep))); });
    Push(o, "performer", Reference(org));
  }
  if (int pr = Practitioner(First(s.F(25), d_)); pr >= 0) Push(o, "performer", Reference(pr));
  s.Mark(24);

  // Value: text types join their repetitions; others map the first and put
  // further repetitions into components with the same code.
  std::string_view units = First(s.F(6), d_);
  const LazyLoc loc{s, 5};
  std::string_view value = s.F(5);
  boost::container::small_vector<std::string_view, 4> reps;  // usually one: no allocation
  if (!value.empty()) {
    hl7::ForEachPiece(value, d_.repetition, [&](std::string_view rep, std::size_t) {
      if (!rep.empty() && rep != "\"\"" && reps.size() < static_cast<std::size_t>(kMaxRepetitions)) reps.push_back(rep);
    });
  }
  bool fallback = false;
  if (Is(type, "ST") || Is(type, "TX") || Is(type, "FT")) {
    std::string text;
    for (auto rep : reps) {
      std::string t = Txt(rep);
      if (!text.empty()) text.push_back('\n');
      text += t;
    }
    Put(o, "valueString", std::move(text));
  } else if (!reps.empty()) {
    if (type.empty()) Warn(s.Loc(2), "OBX-5 has data but OBX-2 (value type) is empty", "required", "information");
    SetObservationValue(s, o, type, reps[0], units, loc, &fallback);
  }
  if (st == "N" && !o.contains("valueString") && !o.contains("valueQuantity") && !o.contains("valueCodeableConcept"))
    o["dataAbsentReason"] = ConceptOf(
        sp_, "http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-asked", "Not Asked");
  ForReps(s, 8, [&](std::string_view rep) {
    Push(o, "interpretation", CodeableConceptRaw(rep, "0078"));
  });
  if (std::string_view nat = s.F(10); !nat.empty()) {
    ForReps(s, 10, [&](std::string_view rep) {
      json::object e(kObjectReserve, sp_);
      Set(e, "url", "http://hl7.org/fhir/StructureDefinition/observation-nature-of-abnormal-test");
      json::object nature = CodeableConceptRaw(rep, "0080");
      if (nature.empty()) return;
      Set(e, "valueCodeableConcept", std::move(nature));
      Push(o, "extension", std::move(e));
    });
  }
  if (std::string analysis = DateTimeValue(s.F(19), {s, 19}); !analysis.empty()) {
    json::object e(kObjectReserve, sp_);
    Set(e, "url", "http://hl7.org/fhir/StructureDefinition/observation-analysis-date-time");
    Set(e, "valueDateTime", analysis);
    Push(o, "extension", std::move(e));
  }
  if (json::object site = CodeableConceptRaw(First(s.F(20), d_), "0163"); !site.empty()) Set(o, "bodySite", std::move(site));
  if (json::object m = CodeableConceptRaw(First(s.F(17), d_), ""); !m.empty()) Set(o, "method", std::move(m));
  if (std::string range = Txt(s.F(7)); !range.empty()) {
    json::object r(kObjectReserve, sp_);
    Set(r, "text", range);
    Push(o, "referenceRange", std::move(r));
  }
  for (std::size_t i = 1; i < reps.size(); ++i) {
    json::object comp(kObjectReserve, sp_);
    Set(comp, "code", o["code"]);
    bool fb = false;
    SetObservationValue(s, comp, type, reps[i], units, loc, &fb);
    if (comp.size() > 1) Push(o, "component", std::move(comp));
  }
  SetBody(index, std::move(o));
  if (report_ >= 0) Push(Body(report_), "result", Reference(index));
  if (order_ >= 0 && kind_ == Kind::kOrder) Push(Body(order_), "supportingInfo", Reference(index));
  order_observations_.push_back(index);
  observation_ = index;
  note_target_ = index;
  note_field_ = "note";
}

void Builder::OnObxDocument(Seg& s) {
  for (int f : {1, 2, 3, 4, 5, 11}) s.Mark(f);
  if (document_ < 0) {
    Warn(s.Loc(), "segment not mapped: no TXA (document) before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  std::string type = Upper(Txt(s.F(2)));
  std::string_view value = s.F(5);
  if (value.empty()) return;
  if (Is(type, "ED")) {
    std::string_view rep = First(value, d_);
    std::string mime = MimeType(Txt(C(rep, 2)), Txt(C(rep, 3)));
    std::string encoding = Upper(Txt(C(rep, 4)));
    std::string data = Txt(C(rep, 5));
    std::string b64;
    if (encoding == "BASE64" && ValidBase64(data)) {
      for (char c : data)
        if (c != ' ' && c != '\r' && c != '\n' && c != '\t') b64.push_back(c);
    } else if (encoding == "HEX") {
      std::string bytes;
      if (HexDecode(data, &bytes)) b64 = Base64(bytes);
    } else if (encoding != "BASE64") {
      b64 = Base64(data);
    }
    if (b64.empty()) {
      Warn(s.Loc(5), "document data could not be decoded; not mapped", "invalid");
      return;
    }
    json::object att(kObjectReserve, sp_);
    Put(att, "contentType", mime);
    Set(att, "data", b64);
    json::object content(kObjectReserve, sp_);
    Set(content, "attachment", std::move(att));
    Push(Body(document_), "content", std::move(content));
    return;
  }
  hl7::ForEachPiece(value, d_.repetition, [&](std::string_view rep, std::size_t) {
    if (!document_text_.empty()) document_text_.push_back('\n');
    document_text_ += Txt(rep);
  });
}

// ---------------------------------------------------------------- NTE

void Builder::OnNte(Seg& s) {
  for (int f : {1, 2, 4}) s.Mark(f);
  std::string text;
  ForReps(s, 3, [&](std::string_view rep) {
    if (!text.empty()) text.push_back('\n');
    text += Txt(rep);
  });
  if (text.empty()) return;
  if (note_target_ < 0) {
    Warn(s.Loc(3), "note not mapped: the segment before it has no place for notes");
    return;
  }
  json::object& b = Body(note_target_);
  if (note_field_ == "note") {
    json::object n(kObjectReserve, sp_);
    Set(n, "text", std::move(text));
    Push(b, "note", std::move(n));
  } else {
    auto it = b.find(note_field_);
    if (it == b.end()) b[note_field_] = std::move(text);
    else it->value() = std::string(it->value().as_string()) + "\n" + text;
  }
}

// ---------------------------------------------------------------- RXA / RXR

void Builder::OnRxa(Seg& s) {
  for (int f : {1, 2, 4}) s.Mark(f);
  std::optional<Seg> orc = std::move(pending_orc_);
  pending_orc_.reset();
  for (Seg& t : pending_tq1_) Warn(t.Loc(), "segment not mapped: TQ1 of an immunization order");
  pending_tq1_.clear();
  if (patient_ < 0) {
    Warn(s.Loc(), "segment not mapped: no PID before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    if (orc) {
      Warn(orc->Loc(), "segment not mapped: no PID before it");
    }
    return;
  }
  std::string psys, fsys;
  json::object placer = orc ? IdentifierFromEi(hl7::ParseEi(First(orc->F(2), d_), d_), "PLAC", &psys) : json::object();
  json::object filler = orc ? IdentifierFromEi(hl7::ParseEi(First(orc->F(3), d_), d_), "FILL", &fsys) : json::object();
  hl7::CWE vaccine = hl7::ParseCwe(First(s.F(5), d_), d_);
  std::string key, query;
  if (!OrderKey(filler, fsys, placer, psys, &key, &query)) {
    key = patient_key_ + "|" + vaccine.name_of_coding_system + "|" + vaccine.identifier + "|" + Txt(s.F(3));
  }
  bool created = false;
  int index = Upsert("Immunization", key, std::move(query), false, &created);
  immunization_ = index;
  order_ = report_ = observation_ = -1;
  order_key_ = "immunization|" + key;
  order_observations_.clear();
  note_target_ = index;
  note_field_ = "note";
  if (!created) {
    for (int f = 1; f < 64; ++f) s.Mark(f);
    if (orc) {
      for (int f = 1; f < 64; ++f) orc->Mark(f);
    }
    return;
  }
  json::object b = NewBody(index);
  Push(b, "identifier", std::move(placer));
  Push(b, "identifier", std::move(filler));
  std::string completion = Txt(s.F(20));
  std::string action = Txt(s.F(21));
  if (action == "D") Set(b, "status", "entered-in-error");
  else if (completion == "RE" || completion == "NA") Set(b, "status", "not-done");
  else Set(b, "status", "completed");
  if (json::object r = CodeableConceptRaw(s.F(18), ""); !r.empty()) Set(b, "statusReason", std::move(r));
  json::object vc = CodeableConcept(vaccine, "");
  Set(b, "vaccineCode", vc.empty() ? DataAbsent(sp_) : std::move(vc));
  Set(b, "patient", Reference(patient_));
  if (encounter_ >= 0) Set(b, "encounter", Reference(encounter_));
  std::string when = DateTimeValue(s.F(3), {s, 3});
  if (!when.empty()) Set(b, "occurrenceDateTime", when);
  else Set(b, "occurrenceString", "unknown");
  Put(b, "recorded", DateTimeValue(s.F(22), {s, 22}));
  std::string source = Txt(C(First(s.F(9), d_), 1));
  if (source == "00") {
    Set(b, "primarySource", true);
  } else if (!source.empty() && source.size() == 2 && source[0] == '0') {
    Set(b, "primarySource", false);
    Set(b, "reportOrigin", CodeableConceptRaw(First(s.F(9), d_), ""));
  } else if (!s.F(9).empty()) {
    ForReps(s, 9, [&](std::string_view rep) {
      std::string t = Txt(C(rep, 2).empty() ? C(rep, 1) : C(rep, 2));
      if (t.empty()) return;
      json::object n(kObjectReserve, sp_);
      Set(n, "text", t);
      Push(b, "note", std::move(n));
    });
  }
  int loc = LocationFromPl(First(s.F(11), d_));
  if (loc < 0) loc = LocationFromPl(First(s.F(27), d_));
  if (loc >= 0) Set(b, "location", Reference(loc));
  if (std::string_view mvx = First(s.F(17), d_); !mvx.empty()) {
    hl7::CWE m = hl7::ParseCwe(mvx, d_);
    std::string sys = CodeSystemUri(m.name_of_coding_system);
    int org = OrganizationNamed(Txt(m.text), sys, Txt(m.identifier));
    if (org >= 0) Set(b, "manufacturer", Reference(org));
  }
  Put(b, "lotNumber", Txt(First(s.F(15), d_)));
  Put(b, "expirationDate", DateValue(First(s.F(16), d_), {s, 16}));
  std::string amount = Txt(s.F(6));
  if (!amount.empty() && amount != "999") {
    auto v = hl7::ParseNm(amount);
    if (v.ok()) {
      json::object q(kObjectReserve, sp_);
      Set(q, "value", Number(amount, *v));
      hl7::CWE u = hl7::ParseCwe(s.F(7), d_);
      Put(q, "unit", Txt(u.text.empty() ? u.identifier : u.text));
      std::string sys = CodeSystemUri(u.name_of_coding_system);
      if (!sys.empty() && !u.identifier.empty()) {
        Set(q, "system", sys);
        Set(q, "code", Txt(u.identifier));
      }
      Set(b, "doseQuantity", std::move(q));
    } else {
      Warn(s.Loc(6), "administered amount '" + amount + "' is not a number; not mapped", "invalid");
    }
  } else {
    s.Mark(7);
  }
  auto performer = [&](int pr, const char* code, const char* display) {
    if (pr < 0) return;
    json::object p(kObjectReserve, sp_);
    Set(p, "function", ConceptOf(sp_, "http://terminology.hl7.org/CodeSystem/v2-0443", code, display));
    Set(p, "actor", Reference(pr));
    Push(b, "performer", std::move(p));
  };
  if (orc) performer(Practitioner(First(orc->F(12), d_)), "OP", "Ordering Provider");
  ForReps(s, 10, [&](std::string_view rep) { performer(Practitioner(rep), "AP", "Administering Provider"); });
  ForReps(s, 19, [&](std::string_view rep) { Push(b, "reasonCode", CodeableConceptRaw(rep, "")); });
  SetBody(index, std::move(b));
  if (orc) {
    for (int f : {1, 5}) orc->Mark(f);
    ReportUnused(*orc);
  }
}

void Builder::OnRxr(Seg& s) {
  if (immunization_ < 0) {
    Warn(s.Loc(), "segment not mapped: no RXA (Immunization) before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::object& b = Body(immunization_);
  if (json::object r = CodeableConceptRaw(s.F(1), "0162"); !r.empty()) Set(b, "route", std::move(r));
  if (json::object site = CodeableConceptRaw(s.F(2), "0163"); !site.empty()) Set(b, "site", std::move(site));
}

// ---------------------------------------------------------------- SIU

// The business key and conditional query of an order-like resource: the filler
// number when there is one, else the placer number. False when neither is given.
bool Builder::OrderKey(json::object& filler, const std::string& fsys, json::object& placer,
                       const std::string& psys, std::string* key, std::string* query) {
  json::object& id = !filler.empty() ? filler : placer;
  if (id.empty()) return false;
  const std::string& system = !filler.empty() ? fsys : psys;
  std::string value(id["value"].as_string());
  *key = system + "|" + value;
  *query = IdentifierQuery(system, value);
  return true;
}

void Builder::OnSch(Seg& s) {
  std::string psys, fsys;
  json::object placer = IdentifierFromEi(hl7::ParseEi(s.F(1), d_), "PLAC", &psys);
  json::object filler = IdentifierFromEi(hl7::ParseEi(s.F(2), d_), "FILL", &fsys);
  std::string key, query;
  if (!OrderKey(filler, fsys, placer, psys, &key, &query)) {
    key = "msg|" + message_key_ + "|" + std::to_string(s.index);
  }
  bool created = false;
  int index = Upsert("Appointment", key, std::move(query), false, &created);
  appointment_ = index;
  note_target_ = index;
  note_field_ = "comment";
  if (!created) {
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::object b = NewBody(index);
  Push(b, "identifier", std::move(placer));
  Push(b, "identifier", std::move(filler));
  std::string st = Txt(C(s.F(25), 1));
  const char* status = nullptr;
  if (st == "Booked" || st == "Overbook" || st == "Blocked") status = "booked";
  else if (st == "Cancelled" || st == "Dc") status = "cancelled";
  else if (st == "Complete") status = "fulfilled";
  else if (st == "Deleted") status = "entered-in-error";
  else if (st == "Noshow") status = "noshow";
  else if (st == "Pending") status = "pending";
  else if (st == "Started") status = "arrived";
  else if (st == "Waitlist") status = "waitlist";
  else if (!st.empty()) Warn(s.Loc(25), "filler status '" + st + "' not mapped", "code-invalid");
  if (!status) status = event_ == "S15" ? "cancelled" : "booked";
  Set(b, "status", status);
  if (json::object r = CodeableConceptRaw(s.F(6), ""); !r.empty()) Push(b, "reasonCode", std::move(r));
  if (json::object r = CodeableConceptRaw(s.F(7), "0276"); !r.empty()) Push(b, "reasonCode", std::move(r));
  if (json::object t = CodeableConceptRaw(s.F(8), "0277"); !t.empty()) Set(b, "appointmentType", std::move(t));
  std::string_view tq = First(s.F(11), d_);
  Put(b, "start", InstantValue(Sub(C(tq, 4), 1), {s, 11}));
  Put(b, "end", InstantValue(Sub(C(tq, 5), 1), {s, 11}));
  std::string duration = Txt(s.F(9));
  std::string units = Upper(Txt(C(s.F(10), 1)));
  if (!duration.empty()) {
    auto v = hl7::ParseNm(duration);
    double minutes = v.ok() ? *v : -1;
    if (units == "H" || units == "HR" || units == "HOUR" || units == "HOURS") minutes *= 60;
    else if (!(units.empty() || units == "M" || units == "MIN" || units == "MINUTES" || units == "MINUTE")) minutes = -1;
    if (minutes > 0 && minutes < 1e9) Set(b, "minutesDuration", static_cast<long long>(minutes + 0.5));
    else Warn(s.Loc(9), "duration '" + duration + " " + units + "' not mapped", "invalid");
  }
  auto participant = [&](int field, const char* code, const char* display) {
    ForReps(s, field, [&](std::string_view rep) {
      int pr = Practitioner(rep);
      if (pr < 0) return;
      json::object p(kObjectReserve, sp_);
      json::array types(sp_);
      types.emplace_back(ConceptOf(
          sp_, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code, display));
      Set(p, "type", std::move(types));
      Set(p, "actor", Reference(pr));
      Set(p, "status", "accepted");
      Push(b, "participant", std::move(p));
    });
  };
  participant(12, "REF", "referrer");  // placer contact person
  participant(16, "PPRF", "primary performer");  // filler contact person
  participant(20, "ENT", "data enterer");
  if (patient_ >= 0) {
    json::object p(kObjectReserve, sp_);
    Set(p, "actor", Reference(patient_));
    Set(p, "status", "accepted");
    Push(b, "participant", std::move(p));
  }
  for (int f : {9, 10}) s.Mark(f);
  SetBody(index, std::move(b));
}

namespace {
const char* ParticipantStatus(std::string_view filler_status) {
  if (filler_status == "Cancelled" || filler_status == "Deleted" || filler_status == "Dc") return "declined";
  if (filler_status == "Pending" || filler_status == "Waitlist") return "tentative";
  return "accepted";
}
}  // namespace

// AIS/AIG/AIL/AIP belong to the Appointment an SCH opened; without one they are reported.
bool Builder::InAppointment(Seg& s) {
  for (int f : {1, 2}) s.Mark(f);
  if (appointment_ >= 0) return true;
  Warn(s.Loc(), "segment not mapped: no SCH before it");
  for (int f = 1; f < 64; ++f) s.Mark(f);
  return false;
}

void Builder::OnAis(Seg& s) {
  if (!InAppointment(s)) return;
  json::object& b = Body(appointment_);
  if (json::object st = CodeableConceptRaw(s.F(3), ""); !st.empty()) Push(b, "serviceType", std::move(st));
  std::string start = InstantValue(s.F(4), {s, 4});
  if (!start.empty() && !Body(appointment_).contains("start")) Body(appointment_)["start"] = start;
  s.Mark(10);
}

void Builder::OnAig(Seg& s) {
  if (!InAppointment(s)) return;
  json::object p(kObjectReserve, sp_);
  json::array types(sp_);
  json::object type = CodeableConceptRaw(s.F(4), "");
  json::object resource = CodeableConceptRaw(s.F(3), "");
  if (!type.empty()) types.emplace_back(std::move(type));
  if (!resource.empty()) types.emplace_back(std::move(resource));
  if (types.empty()) return;
  Set(p, "type", std::move(types));
  Set(p, "status", ParticipantStatus(Txt(C(s.F(14), 1))));
  json::object period(kObjectReserve, sp_);
  Put(period, "start", DateTimeValue(s.F(8), {s, 8}));
  if (!period.empty()) Set(p, "period", std::move(period));
  Push(Body(appointment_), "participant", std::move(p));
}

void Builder::OnAil(Seg& s) {
  if (!InAppointment(s)) return;
  AddAppointmentActor(s, LocationFromPl(First(s.F(3), d_)));
}

void Builder::OnAip(Seg& s) {
  if (!InAppointment(s)) return;
  AddAppointmentActor(s, Practitioner(First(s.F(3), d_)));
}

// AIL and AIP share their layout: 3 the resource, 4 its role, 6 start, 12 filler status.
void Builder::AddAppointmentActor(Seg& s, int actor) {
  if (actor < 0) return;
  json::object p(kObjectReserve, sp_);
  if (json::object t = CodeableConceptRaw(s.F(4), ""); !t.empty()) Push(p, "type", std::move(t));
  Set(p, "actor", Reference(actor));
  Set(p, "status", ParticipantStatus(Txt(C(s.F(12), 1))));
  json::object period(kObjectReserve, sp_);
  Put(period, "start", DateTimeValue(s.F(6), {s, 6}));
  if (!period.empty()) Set(p, "period", std::move(period));
  Push(Body(appointment_), "participant", std::move(p));
}

// ---------------------------------------------------------------- TXA (MDM)

void Builder::OnTxa(Seg& s) {
  s.Mark(1);
  s.Mark(3);  // content presentation: the OBX value types say the same
  std::string msys;
  json::object master = IdentifierFromEi(hl7::ParseEi(s.F(12), d_), "", &msys);
  std::string key, query;
  if (!master.empty()) {
    std::string v(master["value"].as_string());
    key = msys + "|" + v;
    query = IdentifierQuery(msys, v);
  } else {
    key = (patient_key_.empty() ? "msg|" + message_key_ : patient_key_) + "|doc|" + Txt(C(s.F(2), 1)) + "|" +
          Txt(s.F(6)) + "|" + Txt(s.F(4)) + "|" + message_key_;
  }
  bool created = false;
  int index = Upsert("DocumentReference", key, std::move(query), false, &created);
  document_ = index;
  note_target_ = index;
  note_field_ = "description";
  if (!created) {
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::object b = NewBody(index);
  if (!master.empty()) Set(b, "masterIdentifier", std::move(master));
  if (std::string file = Txt(s.F(16)); !file.empty()) {
    json::object id(kObjectReserve, sp_);
    Set(id, "value", file);
    Push(b, "identifier", std::move(id));
  }
  std::string avail = Txt(s.F(19));
  Set(b, "status", Is(avail, "OB") ? "superseded" : (Is(avail, "CA") ? "entered-in-error" : "current"));
  std::string completion = Txt(s.F(17));
  if (completion == "AU" || completion == "LA" || completion == "DO") Set(b, "docStatus", "final");
  else if (completion == "IP" || completion == "IN" || completion == "PA" || completion == "DI") Set(b, "docStatus", "preliminary");
  else if (completion == "CA") Set(b, "docStatus", "entered-in-error");
  else if (!completion.empty()) Warn(s.Loc(17), "completion status '" + completion + "' not mapped", "code-invalid");
  if (json::object t = CodeableConceptRaw(s.F(2), "0270"); !t.empty()) Set(b, "type", std::move(t));
  if (patient_ >= 0) Set(b, "subject", Reference(patient_));
  Put(b, "date", InstantValue(s.F(6), {s, 6}));
  for (int f : {9, 5}) {
    ForReps(s, f, [&](std::string_view rep) {
      int pr = Practitioner(rep);
      if (pr >= 0) Push(b, "author", Reference(pr));
    });
  }
  if (int pr = Practitioner(First(s.F(10), d_)); pr >= 0) Set(b, "authenticator", Reference(pr));
  Put(b, "description", Txt(s.F(25)));
  if (json::object sec = CodeableConceptRaw(s.F(18), "0272"); !sec.empty()) Push(b, "securityLabel", std::move(sec));
  json::object context(kObjectReserve, sp_);
  if (encounter_ >= 0) Push(context, "encounter", Reference(encounter_));
  json::object period(kObjectReserve, sp_);
  Put(period, "start", DateTimeValue(s.F(4), {s, 4}));
  if (!period.empty()) Set(context, "period", std::move(period));
  if (!context.empty()) Set(b, "context", std::move(context));
  SetBody(index, std::move(b));
}

}  // namespace junction::fhir::internal
