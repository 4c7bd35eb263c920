// The audit trail: append, read and search (see audit_trail.h).
//
// Search choices: a parameter given twice is an AND, a comma is an OR.
// Tokens take "code", "system|code", "|code" and "system|"; references
// "Type/id", a bare id or an absolute URL ending in "Type/id". agent matches
// the agent's identifier (the token subject), altid the client id, address
// the client's network address (prefix, case-insensitive like a string
// search). Matches are in insertion order (_sort=date|_lastUpdated, or
// -date / -_lastUpdated for newest first). Modifiers are refused (400).
#include "fhir/store/audit_trail.h"

#include <boost/json.hpp>
#include <charconv>
#include <utility>
#include <vector>

#include "fhir/store/index_values.h"
#include "fhir/store/search_compile.h"
#include "fhir/store/search_parse.h"
#include "fhir/store/search_sql.h"
#include "fhir/store/status_line.h"

namespace junction::fhir::store_internal {
namespace {

namespace json = boost::json;

constexpr std::string_view kEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr std::string_view kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";
constexpr std::string_view kEventType = "http://terminology.hl7.org/CodeSystem/audit-event-type";
constexpr std::string_view kInteraction = "http://hl7.org/fhir/restful-interaction";
constexpr std::string_view kAction = "http://hl7.org/fhir/audit-event-action";
constexpr std::string_view kOutcome = "http://hl7.org/fhir/audit-event-outcome";
constexpr std::string_view kIdPrefix = "audit-";
constexpr std::size_t kMaxOffset = 1'000'000'000;
constexpr const char* kColumns =
    "a.seq, a.recorded_us, a.subtype, a.action, a.type, a.status, a.who, a.client_id, a.address,"
    " a.request_id, a.refs, a.patients, a.query";

Status BadParam(std::string_view name, std::string_view why) {
  return Status::Invalid("search parameter '" + std::string(name) + "': " + std::string(why));
}

// '\n'-framed list: "\na\nb\n" ("" when empty), so that one item is found
// with instr(column, '\n' || item || '\n').
std::string Framed(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (item.empty() || item.find('\n') != std::string::npos) continue;
    if (out.empty()) out += '\n';
    out += item;
    out += '\n';
  }
  return out;
}

std::vector<std::string_view> Unframe(std::string_view framed) {
  std::vector<std::string_view> items;
  while (!framed.empty()) {
    std::size_t cut = framed.find('\n');
    if (cut != 0) items.push_back(framed.substr(0, cut));
    if (cut == std::string_view::npos) break;
    framed.remove_prefix(cut + 1);
  }
  return items;
}

std::optional<std::int64_t> SeqOf(std::string_view id) {
  if (id.substr(0, kIdPrefix.size()) != kIdPrefix) return std::nullopt;
  std::string_view digits = id.substr(kIdPrefix.size());
  std::int64_t seq = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || seq <= 0 ||
      digits[0] == '0') {
    return std::nullopt;
  }
  return seq;
}

json::object Coding(std::string_view system, std::string_view code, std::string_view display) {
  json::object coding{{"system", system}, {"code", code}};
  if (!display.empty()) coding["display"] = display;
  return coding;
}

std::string_view OutcomeCode(std::int64_t status) {
  if (status >= 500) return "8";  // serious failure
  if (status >= 400) return "4";  // minor failure
  return "0";
}

// One row (kColumns) as an AuditEvent.
StoredResource Render(const SqliteStmt& s) {
  StoredResource out;
  out.type = "AuditEvent";
  out.id = std::string(kIdPrefix) + std::to_string(s.ColumnInt64(0));
  out.version = 1;
  out.last_updated = FormatInstant(s.ColumnInt64(1));
  std::string subtype = s.ColumnText(2);
  std::string action = s.ColumnText(3);
  std::string type = s.ColumnText(4);
  std::int64_t status = s.ColumnInt64(5);
  std::string who = s.ColumnText(6);
  std::string client_id = s.ColumnText(7);
  std::string address = s.ColumnText(8);
  std::string request_id = s.ColumnText(9);
  std::string refs = s.ColumnText(10);
  std::string patients = s.ColumnText(11);
  bool is_query = sqlite3_column_type(s.get(), 12) != SQLITE_NULL;
  std::string query = s.ColumnText(12);

  json::object event;
  event["resourceType"] = "AuditEvent";
  event["id"] = out.id;
  event["meta"] = json::object{{"versionId", "1"}, {"lastUpdated", out.last_updated}};
  event["type"] = Coding(kEventType, "rest", "RESTful Operation");
  event["subtype"] = json::array{Coding(kInteraction, subtype.empty() ? "operation" : subtype, "")};
  event["action"] = action;
  event["recorded"] = out.last_updated;
  event["outcome"] = OutcomeCode(status);
  event["outcomeDesc"] = StatusLine(status);
  json::object agent;
  json::object who_object;
  if (!who.empty()) {
    who_object["identifier"] = json::object{{"value", who}};
    who_object["display"] = who;
  } else {
    who_object["display"] = "anonymous";
  }
  agent["who"] = std::move(who_object);
  if (!client_id.empty()) agent["altId"] = client_id;
  agent["requestor"] = true;
  if (!address.empty()) agent["network"] = json::object{{"address", address}, {"type", "2"}};
  event["agent"] = json::array{std::move(agent)};
  event["source"] = json::object{
      {"observer", json::object{{"display", "junction"}}},
      {"type", json::array{Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4",
                                  "Application Server")}}};
  json::array entities;
  for (std::string_view reference : Unframe(refs)) {
    entities.push_back(json::object{{"what", json::object{{"reference", reference}}},
                                    {"type", Coding(kEntityType, "2", "System Object")},
                                    {"role", Coding(kObjectRole, "4", "Domain Resource")}});
  }
  if (is_query) {
    json::object entity{{"type", Coding(kEntityType, "2", "System Object")},
                        {"role", Coding(kObjectRole, "24", "Query")},
                        {"name", type.empty() ? std::string("system") : type}};
    entity["description"] = "search parameters: " + (query.empty() ? std::string("none") : query);
    entities.push_back(std::move(entity));
  }
  for (std::string_view patient : Unframe(patients)) {
    entities.push_back(
        json::object{{"what", json::object{{"reference", "Patient/" + std::string(patient)}}},
                     {"type", Coding(kEntityType, "1", "Person")},
                     {"role", Coding(kObjectRole, "1", "Patient")}});
  }
  if (!request_id.empty()) {
    entities.push_back(json::object{
        {"type", Coding(kEntityType, "2", "System Object")},
        {"name", "request"},
        {"detail",
         json::array{json::object{{"type", "request-id"}, {"valueString", request_id}}}}});
  }
  if (!entities.empty()) event["entity"] = std::move(entities);
  out.json = json::serialize(event);
  return out;
}

void AppendPatientAccess(const Access& access, Sql* sql) {
  if (!access.patient) return;
  sql->Text(" AND instr(a.patients, ").Add("\n" + *access.patient + "\n").Text(") > 0");
}

// --- search -----------------------------------------------------------------

struct Token {
  std::optional<std::string> system;  // nullopt: any system
  std::string code;                   // "" with a system: any code of it
};

Token ParseToken(std::string_view value) {
  Token t;
  std::size_t bar = value.find('|');
  if (bar == std::string_view::npos) {
    t.code = Unescape(value);
  } else {
    t.system = Unescape(value.substr(0, bar));
    t.code = Unescape(value.substr(bar + 1));
  }
  return t;
}

// A token on a column whose values all carry `system`.
void TokenOn(const Token& t, std::string_view system, std::string_view column, Sql* out) {
  if (t.system && !t.system->empty() && *t.system != system) {
    out->Text("0");
    return;
  }
  if (t.code.empty()) {
    out->Text(t.system ? "1" : "0");
    return;
  }
  out->Text(std::string(column) + " = ").Add(t.code);
}

// "Patient/1", "1", "http://host/fhir/Patient/1" -> ("Patient", "1") / ("", "1").
std::pair<std::string, std::string> SplitReference(std::string_view value) {
  std::size_t history = value.find("/_history/");
  if (history != std::string_view::npos) value = value.substr(0, history);
  std::size_t slash = value.rfind('/');
  if (slash == std::string_view::npos) return {"", std::string(value)};
  std::string_view id = value.substr(slash + 1);
  std::string_view head = value.substr(0, slash);
  std::size_t prev = head.rfind('/');
  std::string_view type = prev == std::string_view::npos ? head : head.substr(prev + 1);
  return {std::string(type), std::string(id)};
}

void PatientOn(std::string_view id, Sql* out) {
  out->Text("instr(a.patients, ").Add("\n" + std::string(id) + "\n").Text(") > 0");
}

// entity: a reference among the touched ones (a vread's "Type/id/_history/n"
// counts as Type/id) or a patient entity.
void EntityOn(std::string_view value, Sql* out) {
  auto [type, id] = SplitReference(Unescape(value));
  out->Text("(");
  if (type.empty()) {
    out->Text("instr(a.refs, ").Add("/" + id + "\n").Text(") > 0 OR instr(a.refs, ");
    out->Add("/" + id + "/_history/").Text(") > 0 OR ");
    PatientOn(id, out);
  } else {
    std::string ref = type + "/" + id;
    out->Text("instr(a.refs, ").Add("\n" + ref + "\n").Text(") > 0 OR instr(a.refs, ");
    out->Add("\n" + ref + "/_history/").Text(") > 0");
    if (type == "Patient") {
      out->Text(" OR ");
      PatientOn(id, out);
    }
  }
  out->Text(")");
}

// One filter parameter; false when `name` is not one.
Result<bool> Filter(std::string_view name, std::string_view value, Sql* out) {
  std::vector<std::string> terms = SplitEscaped(value, ',');
  auto each = [&](auto&& one) -> Status {
    out->Text(" AND (");
    for (std::size_t i = 0; i < terms.size(); ++i) {
      if (i > 0) out->Text(" OR ");
      JUNCTION_RETURN_IF_ERROR(one(std::string_view(terms[i])));
    }
    out->Text(")");
    return Status::Ok();
  };
  Status status;
  if (name == "_id") {
    status = each([&](std::string_view term) {
      auto seq = SeqOf(Unescape(term));
      if (seq) {
        out->Text("a.seq = ").Add(*seq);
      } else {
        out->Text("0");
      }
      return Status::Ok();
    });
  } else if (name == "date" || name == "_lastUpdated") {
    status = each([&](std::string_view term) -> Status {
      auto [prefix, rest] = SplitPrefix(term);
      auto range = ParseDateRange(rest);
      if (!range) return BadParam(name, "not a FHIR date or dateTime");
      DatePredicate(prefix, *range, "a.recorded_us", "a.recorded_us", out);
      return Status::Ok();
    });
  } else if (name == "patient") {
    status = each([&](std::string_view term) {
      auto [type, id] = SplitReference(Unescape(term));
      if (!type.empty() && type != "Patient") {
        out->Text("0");
      } else {
        PatientOn(id, out);
      }
      return Status::Ok();
    });
  } else if (name == "entity") {
    status = each([&](std::string_view term) {
      EntityOn(term, out);
      return Status::Ok();
    });
  } else if (name == "agent") {
    status = each([&](std::string_view term) {
      auto [type, id] = SplitReference(Unescape(term));
      out->Text("a.who = ").Add(id);
      return Status::Ok();
    });
  } else if (name == "altid") {
    status = each([&](std::string_view term) {
      Token t = ParseToken(term);
      if (t.system && !t.system->empty()) {
        out->Text("0");
      } else {
        out->Text("a.client_id = ").Add(t.code);
      }
      return Status::Ok();
    });
  } else if (name == "address") {
    status = each([&](std::string_view term) {
      std::string prefix = Unescape(term);
      out->Text("substr(lower(a.address), 1, ").Add(static_cast<std::int64_t>(prefix.size()));
      std::string lower = prefix;
      for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      out->Text(") = ").Add(lower);
      return Status::Ok();
    });
  } else if (name == "type") {
    status = each([&](std::string_view term) {
      TokenOn(ParseToken(term), kEventType, "'rest'", out);
      return Status::Ok();
    });
  } else if (name == "subtype") {
    status = each([&](std::string_view term) {
      TokenOn(ParseToken(term), kInteraction, "a.subtype", out);
      return Status::Ok();
    });
  } else if (name == "action") {
    status = each([&](std::string_view term) {
      TokenOn(ParseToken(term), kAction, "a.action", out);
      return Status::Ok();
    });
  } else if (name == "outcome") {
    status = each([&](std::string_view term) {
      Token t = ParseToken(term);
      if (t.system && !t.system->empty() && *t.system != kOutcome) {
        out->Text("0");
      } else if (t.code == "0") {
        out->Text("a.status < 400");
      } else if (t.code == "4") {
        out->Text("(a.status >= 400 AND a.status < 500)");
      } else if (t.code == "8") {
        out->Text("a.status >= 500");
      } else {
        out->Text(t.code.empty() && t.system ? "1" : "0");
      }
      return Status::Ok();
    });
  } else {
    return false;
  }
  if (!status.ok()) return status;
  return true;
}

Result<std::size_t> ParseSize(std::string_view name, std::string_view value) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    return BadParam(name, "expected a non-negative integer");
  }
  return n;
}

}  // namespace

bool IsAuditSearchParam(std::string_view name) {
  for (std::string_view known : {"_id", "_lastUpdated", "date", "patient", "entity", "agent",
                                 "altid", "address", "type", "subtype", "action", "outcome"}) {
    if (name == known) return true;
  }
  return false;
}

Status AttachAuditTrail(sqlite3* db, const std::string& path) {
  Result<SqliteStmt> attach = SqliteStmt::Prepare(db, "ATTACH DATABASE ?1 AS audit");
  if (!attach.ok()) return attach.status();
  attach->BindText(1, path);
  int rc = attach->Step();
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, "FHIR store: cannot attach the audit trail");
  return Status::Ok();
}

bool HasAuditTrail(sqlite3* db) { return sqlite3_db_filename(db, "audit") != nullptr; }

Result<std::int64_t> AuditAppender::Append(sqlite3* db, const AuditRecord& record,
                                           std::int64_t now_us) {
  if (insert_.get() == nullptr) {
    auto stmt = SqliteStmt::Prepare(
        db,
        "INSERT INTO audit.audit_events(recorded_us, subtype, action, type, status, who,"
        " client_id, address, request_id, refs, patients, query)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!stmt.ok()) return stmt.status();
    insert_ = std::move(*stmt);
  }
  std::string action(1, record.action);
  std::string refs = Framed(record.references);
  std::string patients = Framed(record.patients);
  std::string query;
  for (const auto& name : record.param_names) {
    if (!query.empty()) query += ", ";
    query += name;
  }
  insert_.Reset();
  insert_.BindInt64(1, record.recorded_us != 0 ? record.recorded_us : now_us);
  insert_.BindText(2, record.subtype);
  insert_.BindText(3, action);
  insert_.BindText(4, record.type);
  insert_.BindInt64(5, record.status);
  insert_.BindText(6, record.who);
  insert_.BindText(7, record.client_id);
  insert_.BindText(8, record.peer);
  insert_.BindText(9, record.request_id);
  insert_.BindText(10, refs);
  insert_.BindText(11, patients);
  if (record.query) {
    insert_.BindText(12, query);
  } else {
    insert_.BindNull(12);
  }
  int rc = insert_.Step();
  insert_.Reset();
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, "FHIR store: audit append failed");
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db));
}

Result<StoredResource> ReadAuditEvent(sqlite3* db, std::string_view id, const Access& access) {
  auto not_found = [&] {
    return Status::NotFound("AuditEvent/" + std::string(id.substr(0, 64)) + " is not known");
  };
  auto seq = SeqOf(id);
  if (!seq || !HasAuditTrail(db)) return not_found();
  Sql sql;
  sql.Text(std::string("SELECT ") + kColumns + " FROM audit.audit_events a WHERE a.seq = ");
  sql.Add(*seq);
  AppendPatientAccess(access, &sql);
  auto stmt = SqliteStmt::Prepare(db, sql.text);
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt64(1, *seq);
  if (access.patient) stmt->BindText(2, std::get<std::string>(sql.values[1]));
  int rc = stmt->Step();
  if (rc == SQLITE_DONE) return not_found();
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "FHIR store: audit read failed");
  return Render(*stmt);
}

Result<SearchPage> RunAuditSearch(sqlite3* db, const SearchRequest& request, const Access& access) {
  SearchPage page;
  Sql where;
  where.Text("1");
  AppendPatientAccess(access, &where);
  std::vector<std::pair<std::string, std::string>> canonical;
  std::optional<std::size_t> count;
  std::size_t offset = 0;
  bool descending = false;
  bool with_total = true;
  if (request.params.size() > 100) return Status::Invalid("more than 100 search parameters");
  for (const auto& [full, value] : request.params) {
    if (full.size() > 1024 || value.size() > 1024) {
      return BadParam(full.substr(0, 64), "longer than 1024 bytes");
    }
    if (full == "_count") {
      auto n = ParseSize(full, value);
      if (!n.ok()) return n.status();
      count = *n;
      continue;
    }
    if (full == "_offset") {
      auto n = ParseSize(full, value);
      if (!n.ok()) return n.status();
      if (*n > kMaxOffset) return BadParam(full, "at most 1000000000");
      offset = *n;
      continue;
    }
    if (full == "_format" || full == "_pretty") continue;
    if (full == "_sort") {
      for (const auto& key : SplitEscaped(value, ',')) {
        bool desc = !key.empty() && key[0] == '-';
        std::string name = desc ? key.substr(1) : key;
        if (name == "date" || name == "_lastUpdated") {
          descending = desc;
        } else {
          if (request.strict) return BadParam("_sort", "unknown sort parameter " + name);
          page.ignored_params.push_back("_sort=" + name);
        }
      }
      canonical.emplace_back(full, value);
      continue;
    }
    if (full == "_total") {
      if (value == "none") {
        with_total = false;
      } else if (value != "estimate" && value != "accurate") {
        return BadParam(full, "expected none, estimate or accurate");
      }
      canonical.emplace_back(full, value);
      continue;
    }
    if (full == "_summary") {
      if (value != "true" && value != "text" && value != "data" && value != "count" &&
          value != "false") {
        return BadParam(full, "expected true, text, data, count or false");
      }
      page.summary = value == "false" ? "" : value;
      canonical.emplace_back(full, value);
      continue;
    }
    if (full == "_elements") {
      for (auto& e : SplitEscaped(value, ',')) {
        if (!e.empty()) page.elements.push_back(Unescape(e));
      }
      canonical.emplace_back(full, value);
      continue;
    }
    if (value.empty()) continue;  // R4: parameters without a value are ignored
    std::string_view name = full;
    if (name.find(':') != std::string_view::npos || name.find('.') != std::string_view::npos) {
      std::string_view base = name.substr(0, name.find_first_of(":."));
      if (base == "_include" || base == "_revinclude" || base == "_has") {
        if (request.strict) return BadParam(full, "not supported on AuditEvent");
        page.ignored_params.push_back(full);
        continue;
      }
      return BadParam(full, "modifiers and chains are not supported on AuditEvent");
    }
    if (name == "_include" || name == "_revinclude") {
      if (request.strict) return BadParam(full, "not supported on AuditEvent");
      page.ignored_params.push_back(full + "=" + value);
      continue;
    }
    auto handled = Filter(name, value, &where);
    if (!handled.ok()) return handled.status();
    if (!*handled) {
      if (request.strict) return BadParam(full, "unknown search parameter");
      page.ignored_params.push_back(full);
      continue;
    }
    canonical.emplace_back(full, value);
  }

  std::size_t limit = std::min(request.default_count, request.max_count);
  if (count) limit = std::min(*count, request.max_count);
  if (page.summary == "count") limit = 0;

  if (HasAuditTrail(db)) {
    ReadTransaction txn(db);
    if (limit > 0) {
      Sql query;
      query.Text(std::string("SELECT ") + kColumns + " FROM audit.audit_events a WHERE ");
      query.Append(where);
      query.Text(descending ? " ORDER BY a.seq DESC LIMIT " : " ORDER BY a.seq LIMIT ");
      query.Add(static_cast<std::int64_t>(limit + 1))
          .Text(" OFFSET ")
          .Add(static_cast<std::int64_t>(offset));
      auto stmt = SqliteStmt::Prepare(db, query.text);
      if (!stmt.ok()) return stmt.status();
      for (std::size_t i = 0; i < query.values.size(); ++i) {
        int index = static_cast<int>(i + 1);
        if (const auto* s = std::get_if<std::string>(&query.values[i])) {
          stmt->BindText(index, *s);
        } else if (const auto* n = std::get_if<std::int64_t>(&query.values[i])) {
          stmt->BindInt64(index, *n);
        } else {
          stmt->BindDouble(index, std::get<double>(query.values[i]));
        }
      }
      for (;;) {
        int rc = stmt->Step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "FHIR store: audit search failed");
        if (page.matches.size() == limit) {
          page.next_query = "more";  // replaced below
          break;
        }
        page.matches.push_back(Render(*stmt));
      }
    }
    if (with_total || limit == 0) {
      if (limit > 0 && page.next_query.empty() && (!page.matches.empty() || offset == 0)) {
        page.total = static_cast<std::int64_t>(offset + page.matches.size());  // the last page
      } else {
        auto total = LoadInts(db, "SELECT COUNT(*) FROM audit.audit_events a WHERE " + where.text,
                              where.values);
        if (!total.ok()) return total.status();
        page.total = total->empty() ? 0 : total->front();
      }
    }
  } else if (with_total || limit == 0) {
    page.total = 0;
  }

  auto link = [&](std::size_t at) {
    auto params = canonical;
    params.emplace_back("_count", std::to_string(limit));
    if (at > 0) params.emplace_back("_offset", std::to_string(at));
    return EncodeQuery(params);
  };
  page.self_query = link(offset);
  if (!page.next_query.empty()) page.next_query = link(offset + limit);
  if (limit > 0 && offset > 0) page.prev_query = link(offset > limit ? offset - limit : 0);
  return page;
}

}  // namespace junction::fhir::store_internal
