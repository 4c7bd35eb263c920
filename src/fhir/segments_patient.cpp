// MSH, EVN, PID, PD1, NK1, PV1, PV2, AL1, DG1, PR1, IN1, MRG -> FHIR.
#include <cstdlib>

#include "fhir/internal/builder.h"

namespace junction::fhir::internal {
namespace {

std::string_view First(std::string_view raw, const hl7::Delimiters& d) {
  return hl7::NthPiece(raw, d.repetition, 0).value_or(std::string_view{});
}

json::object CodingOf(const json::storage_ptr& sp, const char* system, std::string_view code,
                      std::string_view display = {}) {
  json::object c(display.empty() ? 2 : 3, sp);  // exact: no regrowth
  Set(c, "system", system);
  Set(c, "code", code);
  if (!display.empty()) Set(c, "display", display);
  return c;
}

json::object ConceptOf(const json::storage_ptr& sp, const char* system, std::string_view code,
                       std::string_view display = {}) {
  json::object cc(1, sp);
  json::array a(sp);
  a.emplace_back(CodingOf(sp, system, code, display));
  Set(cc, "coding", std::move(a));
  return cc;
}

bool IsDigits(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

constexpr const char* kParticipationType = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

}  // namespace

// ---------------------------------------------------------------- MSH / EVN

void Builder::OnMsh(Seg& s) {
  // 3/4 are read in Run(); 1/2/18 by the parser; 10-12/15/16 are transport-level (docs).
  for (int f : {1, 2, 3, 4, 10, 11, 12, 15, 16, 18}) s.Mark(f);
  bundle_timestamp_ = InstantValue(s.F(7), {s, 7});
  bool created = false;
  header_ = Upsert("MessageHeader", {"msg|", message_key_}, {}, false, &created);
  json::object& h = Body(header_);
  std::string event = Txt(C(s.F(9), 2));
  std::string code = Txt(C(s.F(9), 1));
  if (!event.empty()) {
    Set(h, "eventCoding", CodingOf(sp_, "http://terminology.hl7.org/CodeSystem/v2-0003", event));
  } else if (!code.empty()) {
    Set(h, "eventCoding", CodingOf(sp_, "http://terminology.hl7.org/CodeSystem/v2-0076", code));
  } else {
    h["eventCoding"] =
        CodingOf(sp_, "http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown");
  }
  std::string_view dest_app = First(s.F(5), d_);
  int receiver = OrganizationFromHd(hl7::ParseHd(First(s.F(6), d_), d_));
  if (!dest_app.empty() || receiver >= 0) {
    hl7::HD app = hl7::ParseHd(dest_app, d_);
    json::object dest(kObjectReserve, sp_);
    Put(dest, "name", Txt(app.namespace_id));
    const std::string& endpoint = SystemForHd(app);
    Set(dest, "endpoint", endpoint.empty() ? options_.local_system_base + "unknown-endpoint" : endpoint);
    if (receiver >= 0) Set(dest, "receiver", Reference(receiver));
    Push(Body(header_), "destination", std::move(dest));
  }
  int sender = OrganizationFromHd(sending_facility_);
  if (sender >= 0) Body(header_)["sender"] = Reference(sender);
  json::object source(kObjectReserve, sp_);
  Put(source, "name", Txt(sending_app_.namespace_id));
  const std::string& endpoint = SystemForHd(sending_app_);
  Set(source, "endpoint", endpoint.empty() ? options_.local_system_base + "unknown-endpoint" : endpoint);
  Body(header_)["source"] = std::move(source);
  (void)created;
}

void Builder::OnEvn(Seg& s) {
  s.Mark(1);  // event type code: repeats MSH-9.2
  evn_recorded_ = InstantValue(s.F(2), {s, 2});
  evn_occurred_ = DateTimeValue(s.F(6), {s, 6});
  evn_reason_ = CodeableConceptRaw(First(s.F(4), d_), "0062");
  evn_operator_ = Practitioner(First(s.F(5), d_));
}

// ---------------------------------------------------------------- PID

void Builder::OnPid(Seg& s) {
  s.Mark(1);
  json::array identifiers(sp_);
  std::string key_system, key_value;
  int key_rank = 99;
  auto add_cx = [&](int field, int rank) {
    ForReps(s, field, [&](std::string_view rep) {
      CxView cx = CxOf(rep);
      std::string sys;
      json::object id = Identifier(cx, &sys);
      if (id.empty()) return;
      if (rank < key_rank) {
        key_rank = rank;
        key_system = sys;
        key_value = std::string(id["value"].as_string());
      }
      identifiers.emplace_back(std::move(id));
    });
  };
  add_cx(2, 2);
  add_cx(3, 1);
  add_cx(4, 3);
  if (std::string ssn = Txt(C(First(s.F(19), d_), 1)); !ssn.empty()) {
    json::object id(kObjectReserve, sp_);
    Set(id, "type", ConceptOf(sp_, "http://terminology.hl7.org/CodeSystem/v2-0203", "SB"));
    Set(id, "system", "http://hl7.org/fhir/sid/us-ssn");
    Set(id, "value", ssn);
    identifiers.emplace_back(std::move(id));
  }
  if (std::string dl = Txt(C(First(s.F(20), d_), 1)); !dl.empty()) {
    json::object id(kObjectReserve, sp_);
    Set(id, "type", ConceptOf(sp_, "http://terminology.hl7.org/CodeSystem/v2-0203", "DL"));
    Set(id, "value", dl);
    identifiers.emplace_back(std::move(id));
  }

  std::string key, query;
  if (!key_value.empty()) {
    key = Cat({key_system, "|", key_value});
    query = IdentifierQuery(key_system, key_value);
  } else {
    // No identifier at all: name + birth date + sex, scoped by the sender.
    key = "nokey|" + SystemForHd(sending_facility_) + "|" + Txt(First(s.F(5), d_)) + "|" +
          Txt(s.F(7)) + "|" + Txt(s.F(8));
  }
  bool created = false;
  int index = Upsert("Patient", key, std::move(query), false, &created);
  patient_ = index;
  patient_key_ = key;
  encounter_ = -1;
  encounter_key_.clear();
  order_ = report_ = observation_ = immunization_ = -1;
  order_key_.clear();
  order_observations_.clear();
  note_target_ = -1;
  if (!created) {
    // The same patient again in this message: the first PID's content stands.
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }

  json::object p = NewBody(index);
  // Extensions first (FHIR JSON order).
  json::array ext(sp_);
  if (std::string mmn = Txt(C(First(s.F(6), d_), 1)); !mmn.empty()) {
    json::object e(kObjectReserve, sp_);
    Set(e, "url", "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName");
    Set(e, "valueString", mmn);
    ext.emplace_back(std::move(e));
  }
  auto omb = [&](int field, const char* url, std::initializer_list<std::string_view> omb_codes) {
    json::object e(kObjectReserve, sp_);
    json::array parts(sp_);
    std::string text;
    ForReps(s, field, [&](std::string_view rep) {
      hl7::CWE cwe = hl7::ParseCwe(rep, d_);
      std::string code = Txt(cwe.identifier);
      std::string display = Txt(cwe.text);
      if (!code.empty()) {
        bool is_omb = false;
        for (auto c : omb_codes) is_omb = is_omb || c == code;
        json::object part(kObjectReserve, sp_);
        Set(part, "url", is_omb ? "ombCategory" : "detailed");
        std::string sys = CodeSystemUri(cwe.name_of_coding_system);
        json::object coding(kObjectReserve, sp_);
        Set(coding, "system", sys.empty() ? "urn:oid:2.16.840.1.113883.6.238" : sys);
        Set(coding, "code", code);
        Put(coding, "display", display);
        Set(part, "valueCoding", std::move(coding));
        parts.emplace_back(std::move(part));
      }
      std::string t = display.empty() ? code : display;
      if (!t.empty()) text += (text.empty() ? "" : ", ") + t;
    });
    if (text.empty()) return;
    json::object t(kObjectReserve, sp_);
    Set(t, "url", "text");
    Set(t, "valueString", text);
    parts.emplace_back(std::move(t));
    Set(e, "url", url);
    Set(e, "extension", std::move(parts));
    ext.emplace_back(std::move(e));
  };
  omb(10, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
      {"1002-5", "2028-9", "2054-5", "2076-8", "2106-3", "UNK", "ASKU"});
  omb(22, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
      {"2135-2", "2186-5", "UNK", "ASKU"});
  if (json::object rel = CodeableConceptRaw(First(s.F(17), d_), "0006"); !rel.empty()) {
    json::object e(kObjectReserve, sp_);
    Set(e, "url", "http://hl7.org/fhir/StructureDefinition/patient-religion");
    Set(e, "valueCodeableConcept", std::move(rel));
    ext.emplace_back(std::move(e));
  }
  if (std::string bp = Txt(s.F(23)); !bp.empty()) {
    json::object e(kObjectReserve, sp_);
    Set(e, "url", "http://hl7.org/fhir/StructureDefinition/patient-birthPlace");
    json::object addr(kObjectReserve, sp_);
    Set(addr, "text", bp);
    Set(e, "valueAddress", std::move(addr));
    ext.emplace_back(std::move(e));
  }
  auto coded_ext = [&](int field, const char* url, const char* table) {
    ForReps(s, field, [&](std::string_view rep) {
      json::object cc = CodeableConceptRaw(rep, table);
      if (cc.empty()) return;
      json::object inner(kObjectReserve, sp_);
      Set(inner, "url", "code");
      Set(inner, "valueCodeableConcept", std::move(cc));
      json::array a(sp_);
      a.emplace_back(std::move(inner));
      json::object e(kObjectReserve, sp_);
      Set(e, "url", url);
      Set(e, "extension", std::move(a));
      ext.emplace_back(std::move(e));
    });
  };
  coded_ext(26, "http://hl7.org/fhir/StructureDefinition/patient-citizenship", "0171");
  coded_ext(28, "http://hl7.org/fhir/StructureDefinition/patient-nationality", "0212");
  if (!ext.empty()) Set(p, "extension", std::move(ext));
  if (!identifiers.empty()) Set(p, "identifier", std::move(identifiers));

  ForReps(s, 5, [&](std::string_view rep) { Push(p, "name", HumanName(XpnOf(rep))); });
  ForReps(s, 9, [&](std::string_view rep) {
    XpnView x = XpnOf(rep);
    if (x.name_type_code.empty()) x.name_type_code = "A";
    Push(p, "name", HumanName(x));
  });
  ForReps(s, 13, [&](std::string_view rep) { Push(p, "telecom", ContactPoint(XtnOf(rep), "home")); });
  ForReps(s, 14, [&](std::string_view rep) { Push(p, "telecom", ContactPoint(XtnOf(rep), "work")); });
  ForReps(s, 40, [&](std::string_view rep) { Push(p, "telecom", ContactPoint(XtnOf(rep), "")); });

  std::string sex = Txt(C(s.F(8), 1));
  if (!sex.empty()) {
    const char* g = nullptr;
    if (Is(sex, "F") || Is(sex, "f")) g = "female";
    else if (Is(sex, "M") || Is(sex, "m")) g = "male";
    else if (Is(sex, "O") || Is(sex, "A") || Is(sex, "N") || Is(sex, "X")) g = "other";
    else if (Is(sex, "U")) g = "unknown";
    if (g) Set(p, "gender", g);
    else Warn(s.Loc(8), "administrative sex '" + sex + "' has no FHIR gender; not mapped", "code-invalid");
  }
  if (std::string_view dob = s.F(7); !dob.empty()) {
    std::string date = DateValue(dob, {s, 7});
    if (!date.empty()) {
      Set(p, "birthDate", date);
      auto dt = hl7::ParseDtm(hl7::TsTime(dob, d_));
      if (dt.ok() && dt->has_time()) {
        json::object e(kObjectReserve, sp_);
        Set(e, "url", "http://hl7.org/fhir/StructureDefinition/patient-birthTime");
        Set(e, "valueDateTime", dt->ToFhirDateTime(AssumedOffset(*dt)));
        json::array a(sp_);
        a.emplace_back(std::move(e));
        json::object under(kObjectReserve, sp_);
        Set(under, "extension", std::move(a));
        p["_birthDate"] = std::move(under);
      }
    }
  }
  std::string deceased = DateTimeValue(s.F(29), {s, 29});
  std::string deceased_flag = Txt(s.F(30));
  if (!deceased.empty()) Set(p, "deceasedDateTime", deceased);
  else if (Is(deceased_flag, "Y")) Set(p, "deceasedBoolean", true);
  else if (Is(deceased_flag, "N")) Set(p, "deceasedBoolean", false);

  std::string county = Txt(s.F(12));
  ForReps(s, 11, [&](std::string_view rep) {
    json::object a = Address(XadOf(rep));
    if (!a.empty() && !county.empty() && !a.contains("district")) Set(a, "district", county);
    Push(p, "address", std::move(a));
  });
  if (!county.empty() && !p.contains("address")) {
    json::object a(kObjectReserve, sp_);
    Set(a, "district", county);
    Push(p, "address", std::move(a));
  }
  if (json::object ms = CodeableConceptRaw(First(s.F(16), d_), "0002"); !ms.empty()) Set(p, "maritalStatus", std::move(ms));
  std::string order = Txt(s.F(25));
  std::string multiple = Txt(s.F(24));
  if (IsDigits(order)) Set(p, "multipleBirthInteger", std::atoi(order.c_str()));
  else if (Is(multiple, "Y")) Set(p, "multipleBirthBoolean", true);
  else if (Is(multiple, "N")) Set(p, "multipleBirthBoolean", false);
  if (json::object lang = CodeableConceptRaw(First(s.F(15), d_), "0296"); !lang.empty()) {
    json::object comm(kObjectReserve, sp_);
    Set(comm, "language", std::move(lang));
    Push(p, "communication", std::move(comm));
  }
  SetBody(index, std::move(p));

  if (appointment_ >= 0) {
    json::object part(kObjectReserve, sp_);
    Set(part, "actor", Reference(index));
    Set(part, "status", "accepted");
    Push(Body(appointment_), "participant", std::move(part));
  }
}

void Builder::OnPd1(Seg& s) {
  if (patient_ < 0) {
    Warn(s.Loc(), "segment not mapped: no PID before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  ForReps(s, 3, [&](std::string_view rep) {
    int org = OrganizationFromXon(rep);
    if (org >= 0) Push(Body(patient_), "generalPractitioner", Reference(org));
  });
  ForReps(s, 4, [&](std::string_view rep) {
    int pr = Practitioner(rep);
    if (pr >= 0) Push(Body(patient_), "generalPractitioner", Reference(pr));
  });
}

// ---------------------------------------------------------------- NK1

void Builder::OnNk1(Seg& s) {
  s.Mark(1);
  if (patient_ < 0) {
    Warn(s.Loc(), "segment not mapped: no PID before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  std::string name_raw = Txt(First(s.F(2), d_));
  std::string rel_raw = Txt(C(First(s.F(3), d_), 1));
  // Without an identifier: patient key | name | relationship (| #set id).
  const bool unnamed = name_raw.empty() && rel_raw.empty();
  const std::string set_id = unnamed ? Txt(s.F(1)) : std::string();
  json::array identifiers(sp_);
  std::string id_system, id_value;
  for (int f : {12, 33}) {
    ForReps(s, f, [&](std::string_view rep) {
      std::string sys;
      json::object id = Identifier(CxOf(rep), &sys);
      if (id.empty()) return;
      if (id_value.empty()) {
        id_system = sys;
        id_value = std::string(id["value"].as_string());
      }
      identifiers.emplace_back(std::move(id));
    });
  }
  bool created = false;
  int index = id_value.empty()
                  ? Upsert("RelatedPerson", {patient_key_, "|", name_raw, "|", rel_raw, unnamed ? "|#" : "", set_id},
                           {}, false, &created)
                  : Upsert("RelatedPerson", {id_system, "|", id_value}, IdentifierQuery(id_system, id_value), false,
                           &created);
  if (!created) {
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::object r = NewBody(index);
  if (!identifiers.empty()) Set(r, "identifier", std::move(identifiers));
  Set(r, "patient", Reference(patient_));
  ForReps(s, 3, [&](std::string_view rep) { Push(r, "relationship", CodeableConceptRaw(rep, "0063")); });
  Push(r, "relationship", CodeableConceptRaw(First(s.F(7), d_), "0131"));
  ForReps(s, 2, [&](std::string_view rep) { Push(r, "name", HumanName(XpnOf(rep))); });
  ForReps(s, 30, [&](std::string_view rep) { Push(r, "name", HumanName(XpnOf(rep))); });
  ForReps(s, 5, [&](std::string_view rep) { Push(r, "telecom", ContactPoint(XtnOf(rep), "home")); });
  ForReps(s, 6, [&](std::string_view rep) { Push(r, "telecom", ContactPoint(XtnOf(rep), "work")); });
  ForReps(s, 31, [&](std::string_view rep) { Push(r, "telecom", ContactPoint(XtnOf(rep), "")); });
  ForReps(s, 40, [&](std::string_view rep) { Push(r, "telecom", ContactPoint(XtnOf(rep), "")); });
  ForReps(s, 41, [&](std::string_view rep) { Push(r, "telecom", ContactPoint(XtnOf(rep), "")); });
  std::string sex = Txt(C(s.F(15), 1));
  if (Is(sex, "F")) Set(r, "gender", "female");
  else if (Is(sex, "M")) Set(r, "gender", "male");
  else if (Is(sex, "O") || Is(sex, "A") || Is(sex, "N")) Set(r, "gender", "other");
  else if (Is(sex, "U")) Set(r, "gender", "unknown");
  else if (!sex.empty()) Warn(s.Loc(15), "administrative sex '" + sex + "' has no FHIR gender; not mapped", "code-invalid");
  Put(r, "birthDate", DateValue(s.F(16), {s, 16}));
  ForReps(s, 4, [&](std::string_view rep) { Push(r, "address", Address(XadOf(rep))); });
  ForReps(s, 32, [&](std::string_view rep) { Push(r, "address", Address(XadOf(rep))); });
  json::object period(kObjectReserve, sp_);
  Put(period, "start", DateValue(s.F(8), {s, 8}));
  Put(period, "end", DateValue(s.F(9), {s, 9}));
  if (!period.empty()) Set(r, "period", std::move(period));
  if (json::object lang = CodeableConceptRaw(First(s.F(20), d_), "0296"); !lang.empty()) {
    json::object comm(kObjectReserve, sp_);
    Set(comm, "language", std::move(lang));
    Push(r, "communication", std::move(comm));
  }
  SetBody(index, std::move(r));
}

// ---------------------------------------------------------------- PV1 / PV2

void Builder::OnPv1(Seg& s) {
  s.Mark(1);
  s.Mark(51);  // visit indicator: says which of PV1-19/50 is the visit key
  std::string_view cls = C(s.F(2), 1);
  // "PV1|1|N" (no visit, e.g. A28/A31): nothing to convert.
  bool any = false;
  for (int f = 3; f <= msg_.FieldCount(static_cast<std::size_t>(s.index)) && !any; ++f) {
    auto raw = msg_.FieldRaw(static_cast<std::size_t>(s.index), f);
    any = raw && !raw->empty() && *raw != "\"\"" && f != 51;
  }
  if (!any && (cls.empty() || Is(cls, "N"))) return;

  std::string key, query;
  CxView visit = CxOf(First(s.F(19), d_));
  std::string visit_system;
  json::object visit_id = Identifier(visit, &visit_system);
  if (!visit_id.empty()) {
    if (!visit_id.contains("type")) {
      json::object with_type(kObjectReserve, sp_);
      Set(with_type, "type", ConceptOf(sp_, "http://terminology.hl7.org/CodeSystem/v2-0203", "VN"));
      for (auto& kv : visit_id) with_type[kv.key()] = kv.value();
      visit_id = std::move(with_type);
    }
    std::string value(visit_id["value"].as_string());
    key = Cat({visit_system, "|", value});
    query = IdentifierQuery(visit_system, value);
  } else if (!patient_key_.empty() && !s.F(44).empty()) {
    key = "patient|" + patient_key_ + "|admit|" + Txt(s.F(44));
  } else {
    key = "msg|" + message_key_ + "|" + std::to_string(s.index);
  }
  bool created = false;
  int index = Upsert("Encounter", key, std::move(query), false, &created);
  encounter_ = index;
  encounter_key_ = key;
  if (!created) {
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::object e = NewBody(index);
  Push(e, "identifier", std::move(visit_id));
  Push(e, "identifier", Identifier(CxOf(First(s.F(50), d_))));

  std::string end = DateTimeValue(s.F(45), {s, 45});
  std::string start = DateTimeValue(s.F(44), {s, 44});
  const char* status = "unknown";
  if (!end.empty() || Is(event_, "A03")) status = "finished";
  else if (Is(event_, "A11")) status = "cancelled";
  else if (Is(event_, "A05") || Is(cls, "P")) status = "planned";
  else if (kind_ == Kind::kAdt && (Is(event_, "A01") || Is(event_, "A02") || Is(event_, "A04") ||
                                   Is(event_, "A06") || Is(event_, "A07") || Is(event_, "A12") ||
                                   Is(event_, "A13")))
    status = "in-progress";
  else if (!start.empty()) status = "in-progress";
  Set(e, "status", status);

  const char* act = nullptr;
  const char* act_display = nullptr;
  if (Is(cls, "E")) act = "EMER", act_display = "emergency";
  else if (Is(cls, "I")) act = "IMP", act_display = "inpatient encounter";
  else if (Is(cls, "O")) act = "AMB", act_display = "ambulatory";
  else if (Is(cls, "P")) act = "PRENC", act_display = "pre-admission";
  if (act) {
    e["class"] =
        CodingOf(sp_, "http://terminology.hl7.org/CodeSystem/v3-ActCode", act, act_display);
  } else if (!cls.empty()) {
    Set(e, "class", CodingOf(sp_, "http://terminology.hl7.org/CodeSystem/v2-0004", Txt(cls)));
  } else {
    e["class"] =
        CodingOf(sp_, "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK", "unknown");
  }
  Push(e, "type", CodeableConceptRaw(First(s.F(4), d_), "0007"));
  Push(e, "type", CodeableConceptRaw(First(s.F(18), d_), "0018"));
  if (json::object st = CodeableConceptRaw(First(s.F(10), d_), "0069"); !st.empty()) Set(e, "serviceType", std::move(st));
  if (patient_ >= 0) Set(e, "subject", Reference(patient_));

  auto participant = [&](int field, const char* code, const char* display) {
    ForReps(s, field, [&](std::string_view rep) {
      int pr = Practitioner(rep);
      if (pr < 0) return;
      json::object part(kObjectReserve, sp_);
      json::array types(sp_);
      types.emplace_back(ConceptOf(sp_, kParticipationType, code, display));
      Set(part, "type", std::move(types));
      Set(part, "individual", Reference(pr));
      Push(e, "participant", std::move(part));
    });
  };
  participant(7, "ATND", "attender");
  participant(8, "REF", "referrer");
  participant(9, "CON", "consultant");
  participant(17, "ADM", "admitter");
  participant(52, "PART", "Participation");

  json::object period(kObjectReserve, sp_);
  Put(period, "start", start);
  Put(period, "end", end);
  if (!period.empty()) Set(e, "period", std::move(period));

  json::object hosp(kObjectReserve, sp_);
  if (json::object pre = Identifier(CxOf(First(s.F(5), d_))); !pre.empty())
    Set(hosp, "preAdmissionIdentifier", std::move(pre));
  if (json::object v = CodeableConceptRaw(First(s.F(14), d_), "0023"); !v.empty()) Set(hosp, "admitSource", std::move(v));
  if (json::object v = CodeableConceptRaw(First(s.F(13), d_), "0092"); !v.empty()) Set(hosp, "reAdmission", std::move(v));
  ForReps(s, 38, [&](std::string_view rep) { Push(hosp, "dietPreference", CodeableConceptRaw(rep, "0159")); });
  ForReps(s, 16, [&](std::string_view rep) { Push(hosp, "specialCourtesy", CodeableConceptRaw(rep, "0099")); });
  ForReps(s, 15, [&](std::string_view rep) { Push(hosp, "specialArrangement", CodeableConceptRaw(rep, "0009")); });
  if (std::string_view dest = C(First(s.F(37), d_), 1); !dest.empty()) {
    hl7::CWE cwe = hl7::ParseCweComponent(dest, d_);
    std::string name = Txt(cwe.text.empty() ? cwe.identifier : cwe.text);
    if (!name.empty()) {
      bool loc_created = false;
      int loc = Upsert("Location", "discharge|" + SystemForHd(sending_facility_) + "|" + Txt(cwe.identifier) + "^" + name,
                       {}, true, &loc_created);
      if (loc_created) {
        Body(loc)["name"] = name;
        Body(loc)["mode"] = "instance";
      }
      Set(hosp, "destination", Reference(loc));
    }
  }
  if (json::object v = CodeableConceptRaw(First(s.F(36), d_), "0112"); !v.empty())
    Set(hosp, "dischargeDisposition", std::move(v));
  if (!hosp.empty()) Set(e, "hospitalization", std::move(hosp));

  auto location = [&](int field, const char* loc_status) {
    int loc = LocationFromPl(First(s.F(field), d_));
    if (loc < 0) return;
    json::object l(kObjectReserve, sp_);
    Set(l, "location", Reference(loc));
    Set(l, "status", loc_status);
    Push(e, "location", std::move(l));
  };
  location(3, Is(cls, "P") ? "planned" : "active");
  location(6, "completed");
  location(11, "active");
  location(42, "planned");
  location(43, "completed");
  if (std::string fac = Txt(s.F(39)); !fac.empty()) {
    int org = OrganizationFromHd(hl7::HD{fac, "", ""});
    if (org >= 0) Set(e, "serviceProvider", Reference(org));
  }
  SetBody(index, std::move(e));
}

void Builder::OnPv2(Seg& s) {
  if (encounter_ < 0) {
    Warn(s.Loc(), "segment not mapped: no PV1 (Encounter) before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  if (json::object r = CodeableConceptRaw(First(s.F(3), d_), ""); !r.empty())
    Push(Body(encounter_), "reasonCode", std::move(r));
  if (std::string los = Txt(s.F(11)); !los.empty()) {
    if (IsDigits(los)) {
      json::object d(kObjectReserve, sp_);
      Set(d, "value", std::atoi(los.c_str()));
      Set(d, "unit", "days");
      Set(d, "system", "http://unitsofmeasure.org");
      Set(d, "code", "d");
      Body(encounter_)["length"] = std::move(d);
    } else {
      Warn(s.Loc(11), "actual length of stay '" + los + "' is not a number; not mapped", "invalid");
    }
  }
  if (json::object p = CodeableConceptRaw(First(s.F(25), d_), "0217"); !p.empty())
    Body(encounter_)["priority"] = std::move(p);
}

// ---------------------------------------------------------------- AL1 / DG1 / PR1

void Builder::OnAl1(Seg& s) {
  s.Mark(1);
  if (patient_ < 0) {
    Warn(s.Loc(), "segment not mapped: no PID before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  hl7::CWE code = hl7::ParseCwe(First(s.F(3), d_), d_);
  std::string ident = code.identifier.empty() ? "text:" + Txt(code.text) : Cat({code.name_of_coding_system, "|", code.identifier});
  if (code.identifier.empty() && code.text.empty()) ident = "#" + Txt(s.F(1));
  bool created = false;
  int index = Upsert("AllergyIntolerance", {patient_key_, "|", ident}, {}, false, &created);
  note_target_ = index;
  note_field_ = "note";
  if (!created) {
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::object a = NewBody(index);
  a["clinicalStatus"] = ConceptOf(
      sp_, "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active");
  std::string type = Txt(C(First(s.F(2), d_), 1));
  for (char& c : type)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (!type.empty()) {
    if (type.size() == 2 && type[1] == 'A') Set(a, "type", "allergy");
    else if (type.size() == 2 && type[1] == 'I') Set(a, "type", "intolerance");
    const char* category = nullptr;
    if (type[0] == 'D') category = "medication";
    else if (type[0] == 'F') category = "food";
    else if (Is(type, "EA") || Is(type, "AA") || Is(type, "PA") || Is(type, "LA")) category = "environment";
    if (category) {
      json::array cats(sp_);
      cats.emplace_back(category);
      Set(a, "category", std::move(cats));
    }
  }
  std::string sev = Txt(C(First(s.F(4), d_), 1));
  const char* reaction_severity = nullptr;
  if (Is(sev, "SV")) {
    Set(a, "criticality", "high");
    reaction_severity = "severe";
  } else if (Is(sev, "MO")) {
    Set(a, "criticality", "low");
    reaction_severity = "moderate";
  } else if (Is(sev, "MI")) {
    Set(a, "criticality", "low");
    reaction_severity = "mild";
  }
  else if (Is(sev, "U")) Set(a, "criticality", "unable-to-assess");
  else if (!sev.empty()) Warn(s.Loc(4), "allergy severity '" + sev + "' not mapped", "code-invalid");
  if (json::object cc = CodeableConcept(code, ""); !cc.empty()) Set(a, "code", std::move(cc));
  Set(a, "patient", Reference(patient_));
  if (encounter_ >= 0) Set(a, "encounter", Reference(encounter_));
  Put(a, "onsetDateTime", DateTimeValue(s.F(6), {s, 6}));
  json::array manifestations(sp_);
  ForReps(s, 5, [&](std::string_view rep) {
    std::string t = Txt(rep);
    if (t.empty()) return;
    json::object m(kObjectReserve, sp_);
    Set(m, "text", t);
    manifestations.emplace_back(std::move(m));
  });
  if (!manifestations.empty()) {
    json::object r(kObjectReserve, sp_);
    Set(r, "manifestation", std::move(manifestations));
    if (reaction_severity) Set(r, "severity", reaction_severity);
    Push(a, "reaction", std::move(r));
  }
  SetBody(index, std::move(a));
}

void Builder::OnDg1(Seg& s) {
  s.Mark(1);
  s.Mark(2);  // coding method: deprecated, repeated by DG1-3.3
  if (patient_ < 0) {
    Warn(s.Loc(), "segment not mapped: no PID before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  hl7::CWE code = hl7::ParseCwe(First(s.F(3), d_), d_);
  std::string description = Txt(s.F(4));
  std::string sys, value;
  json::object ident = IdentifierFromEi(hl7::ParseEi(First(s.F(20), d_), d_), "", &sys);
  std::string key, query;
  if (!ident.empty()) {
    value = std::string(ident["value"].as_string());
    key = sys + "|" + value;
    query = IdentifierQuery(sys, value);
  } else {
    std::string what = code.identifier.empty() ? "text:" + (code.text.empty() ? description : code.text)
                                               : Cat({code.name_of_coding_system, "|", code.identifier});
    if (code.identifier.empty() && code.text.empty() && description.empty()) what = "#" + Txt(s.F(1));
    key = Cat({encounter_key_.empty() ? patient_key_ : encounter_key_, "|", what});
  }
  bool created = false;
  int index = Upsert("Condition", key, std::move(query), false, &created);
  if (encounter_ >= 0) {
    json::object diag(kObjectReserve, sp_);
    Set(diag, "condition", Reference(index));
    if (json::object use = CodeableConceptRaw(s.F(6), "0052"); !use.empty()) Set(diag, "use", std::move(use));
    std::string rank = Txt(s.F(15));
    if (IsDigits(rank) && std::atoi(rank.c_str()) > 0) Set(diag, "rank", std::atoi(rank.c_str()));
    Push(Body(encounter_), "diagnosis", std::move(diag));
  } else {
    s.Mark(6);
    s.Mark(15);
  }
  // DG1 in an order (ORM/OML ORDER_DETAIL): the reason for the order (IG).
  if (order_ >= 0 && kind_ == Kind::kOrder) Push(Body(order_), "reasonReference", Reference(index));
  if (!created) {
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::object c = NewBody(index);
  Push(c, "identifier", std::move(ident));
  json::array cats(sp_);
  cats.emplace_back(ConceptOf(sp_, "http://terminology.hl7.org/CodeSystem/condition-category",
                              "encounter-diagnosis", "Encounter Diagnosis"));
  Set(c, "category", std::move(cats));
  json::object cc = CodeableConcept(code, "");
  if (!description.empty() && !cc.contains("text")) Set(cc, "text", description);
  if (!cc.empty()) Set(c, "code", std::move(cc));
  Set(c, "subject", Reference(patient_));
  if (encounter_ >= 0) Set(c, "encounter", Reference(encounter_));
  Put(c, "onsetDateTime", DateTimeValue(s.F(5), {s, 5}));
  Put(c, "recordedDate", DateTimeValue(s.F(19), {s, 19}));
  int asserter = Practitioner(First(s.F(16), d_));
  if (asserter >= 0) Set(c, "asserter", Reference(asserter));
  SetBody(index, std::move(c));
}

void Builder::OnPr1(Seg& s) {
  s.Mark(1);
  s.Mark(2);  // coding method (deprecated)
  if (patient_ < 0) {
    Warn(s.Loc(), "segment not mapped: no PID before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  hl7::CWE code = hl7::ParseCwe(s.F(3), d_);
  std::string description = Txt(s.F(4));
  std::string when_raw = Txt(s.F(5));
  std::string sys;
  json::object ident = IdentifierFromEi(hl7::ParseEi(s.F(19), d_), "", &sys);
  std::string key, query;
  if (!ident.empty()) {
    std::string value(ident["value"].as_string());
    key = sys + "|" + value;
    query = IdentifierQuery(sys, value);
  } else {
    key = (encounter_key_.empty() ? patient_key_ : encounter_key_) + "|" + code.name_of_coding_system + "|" +
          code.identifier + "|" + description + "|" + when_raw;
  }
  bool created = false;
  int index = Upsert("Procedure", key, std::move(query), false, &created);
  note_target_ = index;
  note_field_ = "note";
  if (!created) {
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::object p = NewBody(index);
  Push(p, "identifier", std::move(ident));
  Set(p, "status", "completed");
  if (json::object cat = CodeableConceptRaw(s.F(6), "0230"); !cat.empty()) Set(p, "category", std::move(cat));
  json::object cc = CodeableConcept(code, "");
  if (!description.empty() && !cc.contains("text")) Set(cc, "text", description);
  if (!cc.empty()) Set(p, "code", std::move(cc));
  Set(p, "subject", Reference(patient_));
  if (encounter_ >= 0) Set(p, "encounter", Reference(encounter_));
  Put(p, "performedDateTime", DateTimeValue(s.F(5), {s, 5}));
  auto performer = [&](int field, const char* function) {
    ForReps(s, field, [&](std::string_view rep) {
      int pr = Practitioner(rep);
      if (pr < 0) return;
      json::object perf(kObjectReserve, sp_);
      json::object fn(kObjectReserve, sp_);
      Set(fn, "text", function);
      Set(perf, "function", std::move(fn));
      Set(perf, "actor", Reference(pr));
      Push(p, "performer", std::move(perf));
    });
  };
  performer(8, "anesthesiologist");
  performer(11, "surgeon");
  performer(12, "procedure practitioner");
  ForReps(s, 15, [&](std::string_view rep) { Push(p, "reasonCode", CodeableConceptRaw(rep, "")); });
  SetBody(index, std::move(p));
}

// ---------------------------------------------------------------- IN1

void Builder::OnIn1(Seg& s) {
  s.Mark(1);
  if (patient_ < 0) {
    Warn(s.Loc(), "segment not mapped: no PID before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  hl7::CWE plan = hl7::ParseCwe(s.F(2), d_);
  std::string company_id = Txt(CxOf(First(s.F(3), d_)).id_number);
  std::string policy = Txt(s.F(36));
  std::string key = patient_key_ + "|" + company_id + "|" + Txt(C(First(s.F(4), d_), 1)) + "|" + plan.identifier +
                    "|" + policy + "|" + Txt(s.F(8));
  bool created = false;
  int index = Upsert("Coverage", key, {}, false, &created);
  if (!created) {
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  // The payor: IN1-3 (company id) with IN1-4 (name), IN1-5 (address), IN1-7 (phone).
  int payor = -1;
  std::string company_name = Txt(C(First(s.F(4), d_), 1));
  if (!company_id.empty()) {
    CxView cx = CxOf(First(s.F(3), d_));
    payor = OrganizationNamed(company_name, SystemForAuthority(cx.assigning_authority, cx.assigning_facility), company_id);
  } else if (!company_name.empty()) {
    payor = OrganizationNamed(company_name, {}, {});
  }
  if (payor >= 0) {
    json::object& org = Body(payor);
    if (!org.contains("telecom"))
      ForReps(s, 7, [&](std::string_view rep) { Push(Body(payor), "telecom", ContactPoint(XtnOf(rep), "work")); });
    if (!Body(payor).contains("address"))
      ForReps(s, 5, [&](std::string_view rep) { Push(Body(payor), "address", Address(XadOf(rep))); });
    (void)org;
  } else {
    s.Mark(5);
    s.Mark(7);
  }
  json::object c = NewBody(index);
  if (!policy.empty()) {
    json::object id(kObjectReserve, sp_);
    Set(id, "value", policy);
    Push(c, "identifier", std::move(id));
  }
  Set(c, "status", "active");
  if (json::object t = CodeableConceptRaw(s.F(15), "0086"); !t.empty()) Set(c, "type", std::move(t));
  if (std::string sub = Txt(CxOf(First(s.F(49), d_)).id_number); !sub.empty()) Set(c, "subscriberId", sub);
  Set(c, "beneficiary", Reference(patient_));
  if (json::object rel = CodeableConceptRaw(s.F(17), "0063"); !rel.empty()) Set(c, "relationship", std::move(rel));
  json::object period(kObjectReserve, sp_);
  Put(period, "start", DateValue(s.F(12), {s, 12}));
  Put(period, "end", DateValue(s.F(13), {s, 13}));
  if (!period.empty()) Set(c, "period", std::move(period));
  json::array payors(sp_);
  // No insurance company given: the patient pays (Coverage.payor may be a Patient).
  payors.emplace_back(Reference(payor >= 0 ? payor : patient_));
  Set(c, "payor", std::move(payors));
  auto cls = [&](const char* type, std::string value, std::string name) {
    if (value.empty()) return;
    json::object k(kObjectReserve, sp_);
    Set(k, "type", ConceptOf(sp_, "http://terminology.hl7.org/CodeSystem/coverage-class", type));
    Set(k, "value", std::move(value));
    Put(k, "name", std::move(name));
    Push(c, "class", std::move(k));
  };
  cls("plan", Txt(plan.identifier), Txt(plan.text));
  cls("group", Txt(s.F(8)), Txt(C(First(s.F(9), d_), 1)));
  if (std::string order = Txt(s.F(22)); IsDigits(order) && std::atoi(order.c_str()) > 0)
    Set(c, "order", std::atoi(order.c_str()));
  SetBody(index, std::move(c));
}

// ---------------------------------------------------------------- MRG (A40)

void Builder::OnMrg(Seg& s) {
  if (patient_ < 0) {
    Warn(s.Loc(), "segment not mapped: no PID (surviving patient) before it");
    for (int f = 1; f < 64; ++f) s.Mark(f);
    return;
  }
  json::array identifiers(sp_);
  std::string key_system, key_value;
  for (int f : {1, 4}) {
    ForReps(s, f, [&](std::string_view rep) {
      std::string sys;
      json::object id = Identifier(CxOf(rep), &sys);
      if (id.empty()) return;
      if (key_value.empty()) {
        key_system = sys;
        key_value = std::string(id["value"].as_string());
      }
      identifiers.emplace_back(std::move(id));
    });
  }
  if (key_value.empty()) {
    Warn(s.Loc(1), "merge without a prior patient identifier; not mapped", "required");
    return;
  }
  std::string key = key_system + "|" + key_value;
  if (key == patient_key_) {
    Warn(s.Loc(1), "prior patient identifier equals the surviving one; merge not mapped", "invalid");
    return;
  }
  bool created = false;
  int old = Upsert("Patient", key, IdentifierQuery(key_system, key_value), false, &created);
  json::object p = NewBody(old);
  Set(p, "identifier", std::move(identifiers));
  Set(p, "active", false);
  ForReps(s, 7, [&](std::string_view rep) { Push(p, "name", HumanName(XpnOf(rep))); });
  json::object link(kObjectReserve, sp_);
  Set(link, "other", Reference(patient_));
  Set(link, "type", "replaced-by");
  json::array links(sp_);
  links.emplace_back(std::move(link));
  Set(p, "link", std::move(links));
  if (created) SetBody(old, std::move(p));
  json::object back(kObjectReserve, sp_);
  Set(back, "other", Reference(old));
  Set(back, "type", "replaces");
  Push(Body(patient_), "link", std::move(back));
}

}  // namespace junction::fhir::internal
