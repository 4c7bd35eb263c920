#include "fhir/store/search_include.h"

#include <algorithm>
#include <unordered_set>

#include "fhir/store/index_values.h"
#include "fhir/store/search_params.h"

namespace junction::fhir::store_internal {
namespace {

// Bound parameters per statement stay far below SQLite's limit.
constexpr std::size_t kRidsPerQuery = 500;

Status BadInclude(std::string_view name, std::string_view why) {
  return Status::Invalid("search parameter '" + std::string(name) + "': " + std::string(why));
}

// One spec over one chunk of rids: appends the SQL that loads what it adds.
Sql IncludeSql(const IncludeSpec& spec, const Access& access,
               const std::vector<std::int64_t>& rids) {
  Sql sql;
  auto add_rids = [&](Sql* out) {
    out->Text("(");
    for (std::size_t i = 0; i < rids.size(); ++i) {
      if (i > 0) out->Text(", ");
      out->Add(rids[i]);
    }
    out->Text(")");
  };
  // "+ir.param": SQLite must start from the given rids (the rid or the
  // (target_type, target_id) index), never walk the parameter's every row.
  auto add_key = [&](Sql* out) {
    if (!spec.key.empty()) {
      out->Text(" AND +ir.param = ").Add(spec.key);
    } else if (!spec.source_type.empty()) {  // "Type:*": every reference parameter of Type
      // ('/' sorts right after '.')
      out->Text(" AND +ir.param > ")
          .Add(spec.source_type + ".")
          .Text(" AND ir.param < ")
          .Add(spec.source_type + "/");
    }
  };
  if (!spec.reverse) {
    sql.Text(
        "SELECT " + ResourceColumns("t") +
        " FROM idx_reference ir JOIN resources t ON t.type = ir.target_type AND t.id = ir.target_id"
        " WHERE ir.rid IN ");
    add_rids(&sql);
    add_key(&sql);
    if (!spec.target_type.empty()) sql.Text(" AND ir.target_type = ").Add(spec.target_type);
    sql.Text(" AND t.deleted = 0");
    AppendAccess("t", access, &sql);
    sql.Text(" ORDER BY t.rid");
  } else {
    sql.Text(
        "SELECT " + ResourceColumns("s") +
        " FROM resources m JOIN idx_reference ir ON ir.target_type = m.type AND ir.target_id = m.id"
        " JOIN resources s ON s.rid = ir.rid WHERE m.rid IN ");
    add_rids(&sql);
    add_key(&sql);
    if (!spec.target_type.empty()) sql.Text(" AND m.type = ").Add(spec.target_type);
    sql.Text(" AND s.deleted = 0");
    AppendAccess("s", access, &sql);
    sql.Text(" ORDER BY s.rid");
  }
  return sql;
}

}  // namespace

Result<IncludeSpec> ParseInclude(std::string_view name, std::string_view value) {
  IncludeSpec spec;
  std::string_view base = name.substr(0, name.find(':'));
  spec.reverse = base == "_revinclude";
  if (name.size() > base.size()) {
    std::string_view modifier = name.substr(base.size() + 1);
    if (modifier != "iterate" && modifier != "recurse") return BadInclude(name, "unknown modifier");
    spec.iterate = true;
  }
  if (value == "*") return spec;  // every reference of every included resource
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = value.find(':', start);
    parts.push_back(value.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || !IsValidTypeName(parts[0]) || parts[1].empty()) {
    return BadInclude(name, "expected SourceType:parameter[:TargetType]");
  }
  spec.source_type = std::string(parts[0]);
  if (parts.size() == 3) {
    if (!IsValidTypeName(parts[2])) return BadInclude(name, "the target is not a resource type");
    spec.target_type = std::string(parts[2]);
  }
  if (parts[1] == "*") return spec;
  const SearchParamDef* def = FindSearchParam(parts[0], parts[1]);
  if (def == nullptr) return Status::NotFound("unknown include parameter " + std::string(value));
  if (def->kind != ParamKind::kReference)
    return BadInclude(name, std::string(parts[1]) + " is not a reference");
  if (!spec.target_type.empty() && !def->targets.empty() &&
      std::find(def->targets.begin(), def->targets.end(), spec.target_type) == def->targets.end()) {
    return BadInclude(name, spec.target_type + " is not a target type of " + std::string(parts[1]));
  }
  spec.key = def->key;
  return spec;
}

Status AddIncludes(sqlite3* db, const std::vector<IncludeSpec>& specs, const Access& access,
                   const std::vector<LoadedResource>& matches,
                   std::vector<StoredResource>* included) {
  if (specs.empty()) return Status::Ok();
  std::unordered_set<std::int64_t> seen;
  std::vector<std::int64_t> frontier;
  for (const auto& m : matches) {
    seen.insert(m.rid);
    frontier.push_back(m.rid);
  }
  for (int round = 0; round <= kMaxIncludeRounds && !frontier.empty(); ++round) {
    std::vector<std::int64_t> added;
    for (const auto& spec : specs) {
      if (round > 0 && !spec.iterate) continue;
      for (std::size_t begin = 0; begin < frontier.size(); begin += kRidsPerQuery) {
        std::size_t end = std::min(frontier.size(), begin + kRidsPerQuery);
        std::vector<std::int64_t> chunk(frontier.begin() + static_cast<std::ptrdiff_t>(begin),
                                        frontier.begin() + static_cast<std::ptrdiff_t>(end));
        Sql sql = IncludeSql(spec, access, chunk);
        auto rows = LoadResources(db, sql.text, sql.values);
        if (!rows.ok()) return rows.status();
        for (auto& row : *rows) {
          if (included->size() >= kMaxIncluded) return Status::Ok();
          if (!seen.insert(row.rid).second) continue;
          added.push_back(row.rid);
          included->push_back(std::move(row.resource));
        }
      }
    }
    frontier = std::move(added);
  }
  return Status::Ok();
}

}  // namespace junction::fhir::store_internal
