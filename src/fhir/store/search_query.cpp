// Search execution over the index tables (see search_query.h): the result
// parameters (_count, _offset, _sort, _total, _summary, _elements, _include,
// _revinclude, _type), the WHERE clause from search_compile, paging links.
//
// Choices where R4 leaves room:
// - Matches are ordered by the _sort keys, then by rid (insertion order).
// - Paging is by offset. self/next/prev queries keep every applied parameter
//   in request order (ignored ones are dropped), then "_count=<effective>"
//   and "_offset=<n>" (left out when 0), percent-encoded (see EncodeQuery).
//   next exists when one more row than the page was found.
// - _total=estimate counts like accurate; _summary=count and _count=0 return
//   only the total. Parameters with an empty value are ignored.
// - Unknown parameters, _include targets and _sort keys are listed in
//   ignored_params ("name", "_include=value", "_sort=key"), or are
//   kInvalidArgument when the request is strict. Unknown modifiers are
//   always kInvalidArgument.
// - Date prefixes follow R4's range rules (search_compile.cpp); ap widens the
//   search range by 10% of its distance from now, at least one day.
#include "fhir/store/search_query.h"

#include <charconv>
#include <utility>

#include "fhir/store/index_values.h"
#include "fhir/store/search_compile.h"
#include "fhir/store/search_include.h"
#include "fhir/store/search_parse.h"
#include "fhir/store/search_sql.h"

namespace junction::fhir::store_internal {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::size_t kMaxOffset = 1'000'000'000;

Status BadParam(std::string_view name, std::string_view why) {
  return Status::Invalid("search parameter '" + std::string(name) + "': " + std::string(why));
}

Result<std::size_t> ParseCount(std::string_view name, std::string_view value) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
    return BadParam(name, "expected a non-negative integer");
  }
  return n;
}

Status CheckBounds(const Params& params) {
  if (params.size() > kMaxSearchParams) return Status::Invalid("more than 100 search parameters");
  for (const auto& [name, value] : params) {
    if (name.size() > kMaxValueBytes || value.size() > kMaxValueBytes) {
      return BadParam(name.substr(0, 64), "longer than 1024 bytes");
    }
  }
  return Status::Ok();
}

// Parameters that shape the result, not the match set.
struct ResultParams {
  std::optional<std::size_t> count;
  std::size_t offset = 0;
  std::vector<std::pair<std::string, bool>> sort;  // key, descending
  std::vector<IncludeSpec> includes;
  enum class Total { kNone, kAccurate } total = Total::kAccurate;
  std::string summary;
  std::vector<std::string> elements;
  std::vector<std::string> types;  // _type (system search)
};

bool IsIncludeName(std::string_view name) {
  std::string_view base = name.substr(0, name.find(':'));
  return base == "_include" || base == "_revinclude";
}

// Handles a result parameter; false when `name` is not one (a filter).
// `keep` tells whether it belongs in the paging links.
Result<bool> ResultParam(const SearchRequest& request, const std::string& name,
                         const std::string& value, ResultParams* rp, SearchPage* page, bool* keep) {
  *keep = true;
  if (name == "_count") {
    auto n = ParseCount(name, value);
    if (!n.ok()) return n.status();
    rp->count = *n;
    *keep = false;  // re-added with the effective value
  } else if (name == "_offset") {
    auto n = ParseCount(name, value);
    if (!n.ok()) return n.status();
    if (*n > kMaxOffset) return BadParam(name, "at most 1000000000");
    rp->offset = *n;
    *keep = false;
  } else if (name == "_sort") {
    for (const auto& item : SplitEscaped(value, ',')) {
      if (item.empty() || item == "-") return BadParam(name, "empty sort key");
      bool desc = item[0] == '-';
      rp->sort.emplace_back(desc ? item.substr(1) : item, desc);
    }
  } else if (IsIncludeName(name)) {
    auto spec = ParseInclude(name, value);
    if (spec.ok()) {
      rp->includes.push_back(std::move(*spec));
    } else if (spec.status().code() == StatusCode::kNotFound) {
      if (request.strict) return BadParam(name, "unknown include " + value);
      page->ignored_params.push_back(name + "=" + value);
      *keep = false;
    } else {
      return spec.status();
    }
  } else if (name == "_total") {
    if (value == "none") {
      rp->total = ResultParams::Total::kNone;
    } else if (value == "estimate" || value == "accurate") {
      rp->total = ResultParams::Total::kAccurate;  // an estimate costs as much here
    } else {
      return BadParam(name, "expected none, estimate or accurate");
    }
  } else if (name == "_summary") {
    if (value != "true" && value != "text" && value != "data" && value != "count" &&
        value != "false") {
      return BadParam(name, "expected true, text, data, count or false");
    }
    rp->summary = value == "false" ? "" : value;
  } else if (name == "_elements") {
    for (auto& e : SplitEscaped(value, ',')) {
      if (!e.empty()) rp->elements.push_back(Unescape(e));
    }
  } else if (name == "_type") {
    if (!request.type.empty()) return false;  // type-level: not a parameter of the type
    for (auto& t : SplitEscaped(value, ',')) {
      if (!IsValidTypeName(t)) return BadParam(name, "not a resource type");
      rp->types.push_back(std::move(t));
    }
  } else if (name == "_format" || name == "_pretty") {
    // Rendering, the REST layer's.
  } else {
    return false;
  }
  return true;
}

Status CheckType(std::string_view type) {
  if (!IsValidTypeName(type))
    return Status::Invalid("unknown resource type " + std::string(type.substr(0, 64)));
  return Status::Ok();
}

}  // namespace

Result<SearchPage> RunSearch(sqlite3* db, const SearchRequest& request, const Access& access) {
  if (!request.type.empty()) JUNCTION_RETURN_IF_ERROR(CheckType(request.type));
  JUNCTION_RETURN_IF_ERROR(CheckBounds(request.params));
  SearchPage page;
  ResultParams rp;
  CompileContext ctx{.access = &access};
  std::vector<Condition> conds;
  Params canonical;
  for (const auto& [name, value] : request.params) {
    bool keep = true;
    auto handled = ResultParam(request, name, value, &rp, &page, &keep);
    if (!handled.ok()) return handled.status();
    if (*handled) {
      if (keep) canonical.emplace_back(name, value);
      continue;
    }
    if (value.empty()) continue;  // R4: parameters without a value are ignored
    auto cond = CompileParam(ctx, request.type, "r", name, value);
    if (!cond.ok()) return cond.status();
    if (!cond->has_value()) {
      if (request.strict) return BadParam(name, "unknown search parameter");
      page.ignored_params.push_back(name);
      continue;
    }
    conds.push_back(std::move(**cond));
    canonical.emplace_back(name, value);
  }
  Sql where;
  AppendWhere("r", request.type.empty() ? rp.types : std::vector<std::string>{request.type}, conds,
              access, &where);
  Sql order;
  for (const auto& [key, desc] : rp.sort) {
    Sql expr;
    if (!AppendSortExpression(request.type, "r", key, desc, &expr)) {
      if (request.strict) return BadParam("_sort", "unknown sort parameter " + key);
      page.ignored_params.push_back("_sort=" + key);
      continue;
    }
    order.Append(expr).Text(", ");
  }
  order.Text("r.rid");

  std::size_t limit = std::min(request.default_count, request.max_count);
  if (rp.count) limit = std::min(*rp.count, request.max_count);
  if (rp.summary == "count") limit = 0;
  page.summary = rp.summary;
  page.elements = rp.elements;

  ReadTransaction txn(db);
  bool has_more = false;
  std::size_t page_rows = 0;
  if (limit > 0) {
    Sql query;
    query.Text("SELECT " + ResourceColumns("r") + " FROM resources r WHERE ").Append(where);
    query.Text(" ORDER BY ")
        .Append(order)
        .Text(" LIMIT ")
        .Add(static_cast<std::int64_t>(limit + 1));
    query.Text(" OFFSET ").Add(static_cast<std::int64_t>(rp.offset));
    auto rows = LoadResources(db, query.text, query.values);
    if (!rows.ok()) return rows.status();
    if (rows->size() > limit) {
      has_more = true;
      rows->resize(limit);
    }
    page_rows = rows->size();
    JUNCTION_RETURN_IF_ERROR(AddIncludes(db, rp.includes, access, *rows, &page.included));
    page.matches.reserve(rows->size());
    for (auto& row : *rows) page.matches.push_back(std::move(row.resource));
  }
  if (rp.total == ResultParams::Total::kAccurate || limit == 0) {
    if (limit > 0 && !has_more && (page_rows > 0 || rp.offset == 0)) {
      // The last page, read in the same transaction: the total is known
      // without counting again.
      page.total = static_cast<std::int64_t>(rp.offset + page_rows);
    } else {
      auto total =
          LoadInts(db, "SELECT COUNT(*) FROM resources r WHERE " + where.text, where.values);
      if (!total.ok()) return total.status();
      page.total = total->empty() ? 0 : total->front();
    }
  }

  auto link = [&](std::size_t offset) {
    Params params = canonical;
    params.emplace_back("_count", std::to_string(limit));
    if (offset > 0) params.emplace_back("_offset", std::to_string(offset));
    return EncodeQuery(params);
  };
  page.self_query = link(rp.offset);
  if (has_more) page.next_query = link(rp.offset + limit);
  if (limit > 0 && rp.offset > 0) page.prev_query = link(rp.offset > limit ? rp.offset - limit : 0);
  return page;
}

Result<SearchPage> RunEverything(sqlite3* db, std::string_view patient_id, std::size_t offset,
                                 std::size_t count, const Access& access) {
  offset = std::min(offset, kMaxOffset);
  count = std::min(count, kMaxOffset);
  ReadTransaction txn(db);
  Sql find;
  find.Text("SELECT r.rid FROM resources r WHERE r.type = 'Patient' AND r.id = ")
      .Add(std::string(patient_id));
  find.Text(" AND r.deleted = 0");
  AppendAccess("r", access, &find);
  auto found = LoadInts(db, find.text, find.values);
  if (!found.ok()) return found.status();
  if (found->empty())
    return Status::NotFound("Patient/" + std::string(patient_id.substr(0, 64)) + " not found");
  std::int64_t patient_rid = found->front();

  Sql where;
  where.Text("r.deleted = 0 AND (r.rid = ").Add(patient_rid);
  where.Text(" OR r.rid IN (SELECT rid FROM compartments WHERE patient = ")
      .Add(std::string(patient_id))
      .Text("))");
  AppendAccess("r", access, &where);
  SearchPage page;
  auto total = LoadInts(db, "SELECT COUNT(*) FROM resources r WHERE " + where.text, where.values);
  if (!total.ok()) return total.status();
  page.total = total->empty() ? 0 : total->front();
  if (count > 0) {
    Sql query;
    query.Text("SELECT " + ResourceColumns("r") + " FROM resources r WHERE ").Append(where);
    query.Text(" ORDER BY r.rid <> ").Add(patient_rid).Text(", r.rid LIMIT ");
    query.Add(static_cast<std::int64_t>(count))
        .Text(" OFFSET ")
        .Add(static_cast<std::int64_t>(offset));
    auto rows = LoadResources(db, query.text, query.values);
    if (!rows.ok()) return rows.status();
    for (auto& row : *rows) page.matches.push_back(std::move(row.resource));
  }
  auto link = [&](std::size_t at) {
    return "_offset=" + std::to_string(at) + "&_count=" + std::to_string(count);
  };
  page.self_query = link(offset);
  auto total_count = static_cast<std::size_t>(*page.total);
  if (count > 0 && offset + count < total_count) page.next_query = link(offset + count);
  if (count > 0 && offset > 0) page.prev_query = link(offset > count ? offset - count : 0);
  return page;
}

Result<std::vector<std::int64_t>> MatchRids(sqlite3* db, std::string_view type,
                                            std::string_view query, const Access& access,
                                            std::size_t limit) {
  JUNCTION_RETURN_IF_ERROR(CheckType(type));
  Params params = ParseQueryString(query);
  JUNCTION_RETURN_IF_ERROR(CheckBounds(params));
  CompileContext ctx{.access = &access};
  std::vector<Condition> conds;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    auto cond = CompileParam(ctx, type, "r", name, value);
    if (!cond.ok()) return cond.status();
    if (!cond->has_value()) return BadParam(name, "unknown search parameter in a condition");
    conds.push_back(std::move(**cond));
  }
  // A condition that names nothing would match every resource of the type.
  if (conds.empty())
    return Status::Invalid("a conditional operation needs at least one search parameter");
  Sql where;
  where.Text("SELECT r.rid FROM resources r WHERE ");
  AppendWhere("r", {std::string(type)}, conds, access, &where);
  where.Text(" ORDER BY r.rid LIMIT ");
  where.Add(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  return LoadInts(db, where.text, where.values);
}

}  // namespace junction::fhir::store_internal
