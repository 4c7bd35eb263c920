#include "fhir/store/index_extract.h"

#include <algorithm>
#include <map>
#include <optional>

#include "fhir/store/index_values.h"
#include "fhir/store/patient_compartment.h"
#include "fhir/store/search_params.h"

namespace junction::fhir::store_internal {
namespace {

namespace json = boost::json;

// ContactPoint.system codes: an object with one of these as `system` is a
// ContactPoint, not an Identifier (whose system is a URI).
bool IsContactSystem(std::string_view s) {
  return s == "phone" || s == "fax" || s == "email" || s == "pager" || s == "url" || s == "sms" ||
         s == "other";
}

std::string_view StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

std::optional<double> NumberOf(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

// Every value at `steps[i..]` below `node`; arrays are entered at every step.
void Collect(const json::value& node, const std::vector<std::string>& steps, std::size_t i,
             std::vector<const json::value*>& out) {
  if (node.is_array()) {
    for (const json::value& element : node.get_array()) Collect(element, steps, i, out);
    return;
  }
  if (i == steps.size()) {
    out.push_back(&node);
    return;
  }
  if (!node.is_object()) return;
  if (const json::value* child = node.get_object().if_contains(steps[i])) {
    Collect(*child, steps, i + 1, out);
  }
}

std::vector<std::string> SplitDots(std::string_view path) {
  std::vector<std::string> steps;
  while (true) {
    std::size_t dot = path.find('.');
    steps.emplace_back(path.substr(0, dot));
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return steps;
}

// A definition with its paths split into steps, computed once.
struct CompiledParam {
  const SearchParamDef* def;
  std::vector<std::vector<std::string>> paths;
};
using CompiledParams = std::map<std::string, std::vector<CompiledParam>, std::less<>>;

const CompiledParams& Compiled() {
  static const CompiledParams compiled = [] {
    CompiledParams out;
    for (const SearchParamDef& def : AllSearchParams()) {
      CompiledParam param{&def, {}};
      for (const std::string& path : def.paths) param.paths.push_back(SplitDots(path));
      out[def.type].push_back(std::move(param));
    }
    return out;
  }();
  return compiled;
}

class Extractor {
 public:
  explicit Extractor(IndexRows& rows) : rows_(rows) {}

  void Add(const SearchParamDef& def, const json::value& v) {
    switch (def.kind) {
      case ParamKind::kToken:
        Token(def, v);
        break;
      case ParamKind::kString:
        String(def, v);
        break;
      case ParamKind::kDate:
        Date(def, v);
        break;
      case ParamKind::kReference:
        Reference(def, v);
        break;
      case ParamKind::kQuantity:
        Quantity(def, v);
        break;
      case ParamKind::kNumber:
        if (auto n = NumberOf(v)) rows_.numbers.push_back({def.key, *n});
        break;
      case ParamKind::kUri:
        if (v.is_string()) rows_.uris.push_back({def.key, std::string(v.get_string())});
        break;
    }
  }

 private:
  void PushToken(const SearchParamDef& def, std::string_view system, std::string_view code,
                 std::string_view text) {
    rows_.tokens.push_back({def.key, std::string(system), std::string(code), std::string(text)});
  }

  void Token(const SearchParamDef& def, const json::value& v) {
    if (v.is_string()) {
      if (def.contact_system.empty()) PushToken(def, "", v.get_string(), "");
      return;
    }
    if (v.is_bool()) {
      PushToken(def, "", v.get_bool() ? "true" : "false", "");
      return;
    }
    if (!v.is_object()) return;
    const json::object& o = v.get_object();
    std::string_view system = StringAt(o, "system");
    if (!def.contact_system.empty()) {  // phone, email: ContactPoints of that system only
      if (system == def.contact_system && o.contains("value")) {
        PushToken(def, system, StringAt(o, "value"), "");
      }
      return;
    }
    if (const json::value* coding = o.if_contains("coding");
        coding != nullptr || o.contains("text")) {
      std::string_view cc_text = StringAt(o, "text");
      bool any = false;
      if (coding != nullptr && coding->is_array()) {
        for (const json::value& c : coding->get_array()) {
          if (!c.is_object()) continue;
          std::string_view display = StringAt(c.get_object(), "display");
          PushToken(def, StringAt(c.get_object(), "system"), StringAt(c.get_object(), "code"),
                    cc_text.empty() ? display : cc_text);
          any = true;
        }
      }
      if (!any && !cc_text.empty()) PushToken(def, "", "", cc_text);
      return;
    }
    if (o.contains("value")) {  // Identifier or ContactPoint
      std::string_view text;
      if (const json::value* type = o.if_contains("type"); type != nullptr && type->is_object()) {
        text = StringAt(type->get_object(), "text");
      }
      if (IsContactSystem(system)) text = "";
      PushToken(def, system, StringAt(o, "value"), text);
      return;
    }
    if (o.contains("code")) {  // Coding
      PushToken(def, system, StringAt(o, "code"), StringAt(o, "display"));
    }
  }

  void PushString(const SearchParamDef& def, std::string_view value) {
    if (value.empty()) return;
    rows_.strings.push_back({def.key, NormalizeString(value), std::string(value)});
  }

  void String(const SearchParamDef& def, const json::value& v) {
    if (v.is_string()) {
      PushString(def, v.get_string());
      return;
    }
    if (!v.is_object()) return;
    // HumanName and Address: every part is searchable.
    static constexpr std::string_view kParts[] = {"text",   "family",     "given",  "prefix",
                                                  "suffix", "line",       "city",   "district",
                                                  "state",  "postalCode", "country"};
    for (std::string_view part : kParts) {
      const json::value* p = v.get_object().if_contains(part);
      if (p == nullptr) continue;
      if (p->is_string()) PushString(def, p->get_string());
      if (p->is_array()) {
        for (const json::value& e : p->get_array()) {
          if (e.is_string()) PushString(def, e.get_string());
        }
      }
    }
  }

  void Date(const SearchParamDef& def, const json::value& v) {
    if (v.is_string()) {
      if (auto range = ParseDateRange(v.get_string())) {
        rows_.dates.push_back({def.key, range->lo_us, range->hi_us});
      }
      return;
    }
    if (!v.is_object()) return;  // Period: an open end reaches the end of time
    std::string_view start = StringAt(v.get_object(), "start");
    std::string_view end = StringAt(v.get_object(), "end");
    auto lo = start.empty() ? std::nullopt : ParseDateRange(start);
    auto hi = end.empty() ? std::nullopt : ParseDateRange(end);
    if (!lo && !hi) return;
    rows_.dates.push_back({def.key, lo ? lo->lo_us : kMinTimeUs, hi ? hi->hi_us : kMaxTimeUs});
  }

  void Reference(const SearchParamDef& def, const json::value& v) {
    std::string_view ref;
    if (v.is_string()) {  // canonical
      rows_.references.push_back({def.key, "", "", std::string(v.get_string())});
      return;
    }
    if (!v.is_object()) return;
    // Reference.identifier (a logical reference, with or without a literal
    // one): token rows under "<key>:identifier" for the :identifier modifier.
    if (const json::value* ident = v.get_object().if_contains("identifier");
        ident != nullptr && ident->is_object() && ident->get_object().contains("value")) {
      rows_.tokens.push_back({def.key + ":identifier",
                              std::string(StringAt(ident->get_object(), "system")),
                              std::string(StringAt(ident->get_object(), "value")), ""});
    }
    ref = StringAt(v.get_object(), "reference");
    if (ref.empty()) return;
    auto allowed = [&](std::string_view type) {
      return def.targets.empty() ||
             std::find(def.targets.begin(), def.targets.end(), type) != def.targets.end();
    };
    if (auto rel = SplitReference(ref)) {
      if (allowed(rel->type)) {
        rows_.references.push_back({def.key, std::move(rel->type), std::move(rel->id), ""});
      }
      return;
    }
    if (ref.rfind("http://", 0) == 0 || ref.rfind("https://", 0) == 0) {
      // Absolute: the type is the next-to-last segment ("…/Patient/123").
      std::string_view path = ref;
      std::size_t last = path.rfind('/');
      std::size_t prev = last == 0 ? std::string_view::npos : path.rfind('/', last - 1);
      std::string_view type =
          prev == std::string_view::npos ? "" : path.substr(prev + 1, last - prev - 1);
      if (def.targets.empty() || allowed(type)) {
        rows_.references.push_back({def.key, "", "", std::string(ref)});
      }
    }
    // urn:uuid (unresolved), #contained and conditional references are not indexed.
  }

  void Quantity(const SearchParamDef& def, const json::value& v) {
    if (!v.is_object()) return;
    const json::value* value = v.get_object().if_contains("value");
    auto n = value == nullptr ? std::nullopt : NumberOf(*value);
    if (!n) return;
    const json::object& o = v.get_object();
    rows_.quantities.push_back({def.key, *n, std::string(StringAt(o, "system")),
                                std::string(StringAt(o, "code")),
                                std::string(StringAt(o, "unit"))});
  }

  IndexRows& rows_;
};

}  // namespace

IndexRows ExtractIndex(std::string_view type, std::string_view id, const json::object& resource) {
  IndexRows rows;
  Extractor extractor(rows);
  std::vector<const json::value*> values;
  const CompiledParams& compiled = Compiled();
  for (std::string_view group : {std::string_view("Resource"), type}) {
    auto it = compiled.find(group);
    if (it == compiled.end() || (group == type && type == "Resource")) continue;
    for (const CompiledParam& param : it->second) {
      for (const std::vector<std::string>& steps : param.paths) {
        values.clear();
        if (const json::value* first = resource.if_contains(steps[0])) {
          Collect(*first, steps, 1, values);
        }
        for (const json::value* v : values) extractor.Add(*param.def, *v);
      }
    }
  }

  if (type == "Patient" && !id.empty()) rows.compartment.insert(std::string(id));
  for (std::string_view name : PatientCompartmentParams(type)) {
    std::string key = std::string(type) + "." + std::string(name);
    for (const ReferenceRow& ref : rows.references) {
      if (ref.param == key && ref.target_type == "Patient") rows.compartment.insert(ref.target_id);
    }
  }
  return rows;
}

}  // namespace junction::fhir::store_internal
