// The message tree for the console: segments, fields and components with
// their names from the HL7 dictionary of the message's version, raw ER7 and
// the decoded value side by side.
#include <map>
#include <optional>

#include "http/internal/api.h"
#include "junction/hl7/dictionary.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/message.h"

namespace junction::http::internal {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxTreeSegments = 2000;

std::string Decode(const hl7::Message& m, std::string_view raw) {
  std::string text;
  hl7::UnescapeTo(raw, m.delimiters(), &text);
  return m.charset().is_utf8_compatible() ? ValidUtf8(text) : m.charset().ToUtf8(text);
}

json::object Node(const hl7::Message& m, std::string path, std::string_view name,
                  std::string_view raw) {
  return {{"path", std::move(path)},
          {"name", name},
          {"raw", ValidUtf8(raw)},
          {"value", Decode(m, raw)}};
}

json::array Components(const hl7::Message& m, const hl7::Dictionary* dict, const std::string& path,
                       std::string_view datatype, std::string_view raw) {
  json::array out;
  const hl7::Delimiters& d = m.delimiters();
  if (raw.find(d.component) == std::string_view::npos) return out;
  const hl7::DatatypeDef* type =
      dict != nullptr && !datatype.empty() ? dict->Datatype(datatype) : nullptr;
  hl7::ForEachPiece(raw, d.component, [&](std::string_view comp, std::size_t ci) {
    if (comp.empty()) return;
    const hl7::FieldDef* def = type != nullptr ? type->Component(ci + 1) : nullptr;
    out.push_back(
        Node(m, path + "." + std::to_string(ci + 1), def != nullptr ? def->name : "", comp));
  });
  return out;
}

}  // namespace

json::array MessageTree(std::string_view raw) {
  json::array tree;
  auto parsed = hl7::Message::Parse(raw);
  if (!parsed.ok()) return tree;
  const hl7::Message& m = *parsed;
  std::string note;
  const hl7::Dictionary* dict = hl7::Dictionary::Resolve(m.Version(), &note);
  if (dict == nullptr) dict = hl7::Dictionary::ForVersion("2.5.1");
  std::map<std::string, int> seen;  // segment id -> occurrences so far
  for (std::size_t s = 0; s < m.SegmentCount() && s < kMaxTreeSegments; ++s) {
    const std::string id(m.SegmentId(s));
    const int index = ++seen[id];
    const hl7::SegmentDef* seg = dict != nullptr ? dict->Segment(id) : nullptr;
    const bool header = id == "MSH" || id == "BHS" || id == "FHS";
    json::array fields;
    for (int position = 1; position <= m.FieldCount(s); ++position) {
      const std::optional<std::string_view> value = m.FieldRaw(s, position);
      if (!value || value->empty()) continue;
      const hl7::FieldDef* def =
          seg != nullptr ? seg->Field(static_cast<std::size_t>(position)) : nullptr;
      const std::string path = id + "-" + std::to_string(position);
      json::object field = Node(m, path, def != nullptr ? def->name : "", *value);
      if (!(header && position <= 2)) {  // separators and encoding characters have no components
        const std::string_view first = value->substr(0, value->find(m.delimiters().repetition));
        field["components"] = Components(m, dict, path, def != nullptr ? def->datatype : "", first);
      }
      fields.push_back(std::move(field));
    }
    tree.push_back(json::object{{"segment", id},
                                {"index", index},
                                {"line", s + 1},
                                {"name", seg != nullptr ? seg->description : ""},
                                {"fields", std::move(fields)}});
  }
  return tree;
}

}  // namespace junction::http::internal
