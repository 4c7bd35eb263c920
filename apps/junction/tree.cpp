// `--tree`: every field of a message with its name from the HL7 dictionary
// (shared by `junction parse` and `junction messages show`).
#include "tree.h"

#include <string>
#include <utility>
#include <vector>

#include "output.h"
#include "junction/hl7/dictionary.h"
#include "junction/hl7/escape.h"

namespace junction::cli {
namespace {

bool IsHeader(std::string_view id) { return id == "MSH" || id == "BHS" || id == "FHS"; }

std::string Decode(const hl7::Message& m, std::string_view raw) {
  std::string text;
  hl7::UnescapeTo(raw, m.delimiters(), &text);
  if (!m.charset().is_utf8_compatible()) return m.charset().ToUtf8(text);
  return text;
}

const hl7::Dictionary* DictionaryFor(const hl7::Message& m, std::string* note) {
  const hl7::Dictionary* dict = hl7::Dictionary::Resolve(m.Version(), note);
  if (dict == nullptr) {
    dict = hl7::Dictionary::ForVersion("2.5.1");
    *note = "MSH-12 '" + std::string(m.Version()) + "' unknown, names from 2.5.1";
  }
  return dict;
}

void Line(int indent, const std::string& path, std::string_view name, std::string_view value,
          std::string* out) {
  out->append(static_cast<std::size_t>(indent), ' ');
  out->append(path);
  if (!name.empty()) {
    out->push_back(' ');
    out->append(name);
  }
  out->append(": ");
  AppendVisible(value, out);
  out->push_back('\n');
}

// The datatype's component definitions, or nullptr.
const hl7::DatatypeDef* Datatype(const hl7::Dictionary* dict, std::string_view id) {
  if (dict == nullptr || id.empty()) return nullptr;
  return dict->Datatype(id);
}

// One repetition: its value line, then its non-empty components and subcomponents.
void TreeRepetition(const hl7::Message& m, const hl7::Dictionary* dict, const std::string& path,
                    std::string_view name, std::string_view datatype, std::string_view raw,
                    std::string* out) {
  const hl7::Delimiters& d = m.delimiters();
  const bool has_sub = d.subcomponent != '\0' && raw.find(d.subcomponent) != std::string_view::npos;
  const bool composite = raw.find(d.component) != std::string_view::npos || has_sub;
  if (!composite) {
    Line(2, path, name, Decode(m, raw), out);
    return;
  }
  Line(2, path, name, raw, out);  // composite: the ER7 text, escapes kept
  const hl7::DatatypeDef* type = Datatype(dict, datatype);
  hl7::ForEachPiece(raw, d.component, [&](std::string_view comp, std::size_t ci) {
    if (comp.empty()) return;
    const hl7::FieldDef* cdef = type != nullptr ? type->Component(ci + 1) : nullptr;
    const std::string cpath = path + "." + std::to_string(ci + 1);
    const std::string_view cname = cdef != nullptr ? cdef->name : std::string_view();
    if (d.subcomponent == '\0' || comp.find(d.subcomponent) == std::string_view::npos) {
      Line(4, cpath, cname, Decode(m, comp), out);
      return;
    }
    Line(4, cpath, cname, comp, out);
    const hl7::DatatypeDef* ctype = Datatype(dict, cdef != nullptr ? cdef->datatype : "");
    hl7::ForEachPiece(comp, d.subcomponent, [&](std::string_view sub, std::size_t si) {
      if (sub.empty()) return;
      const hl7::FieldDef* sdef = ctype != nullptr ? ctype->Component(si + 1) : nullptr;
      Line(6, cpath + "." + std::to_string(si + 1), sdef != nullptr ? sdef->name : "",
           Decode(m, sub), out);
    });
  });
}

}  // namespace

void AppendTree(const hl7::Message& m, std::string* out) {
  std::string note;
  const hl7::Dictionary* dict = DictionaryFor(m, &note);
  out->append("  (dictionary ");
  out->append(dict != nullptr ? dict->version() : "none");
  if (!note.empty()) out->append("; " + note);
  out->append(")\n");
  const hl7::Delimiters& d = m.delimiters();
  std::vector<std::pair<std::string, int>> seen;  // occurrences so far per segment id
  for (std::size_t i = 0; i < m.SegmentCount(); ++i) {
    const std::string id(m.SegmentId(i));
    int occurrence = 1;
    for (auto& [sid, n] : seen) {
      if (sid == id) occurrence = ++n;
    }
    if (occurrence == 1) seen.emplace_back(id, 1);
    std::string label = id;
    if (m.CountSegments(id) > 1) label += "[" + std::to_string(occurrence) + "]";
    const hl7::SegmentDef* sdef = dict != nullptr ? dict->Segment(id) : nullptr;
    out->append(label);
    if (sdef != nullptr) out->append(" " + std::string(sdef->description));
    out->push_back('\n');
    for (int f = 1; f <= m.FieldCount(i); ++f) {
      const std::string_view raw = m.FieldRaw(i, f).value_or(std::string_view());
      if (raw.empty()) continue;
      const hl7::FieldDef* fdef = dict != nullptr ? dict->Field(id, static_cast<std::size_t>(f)) : nullptr;
      const std::string_view name = fdef != nullptr ? fdef->name : std::string_view();
      const std::string path = label + "-" + std::to_string(f);
      if (IsHeader(id) && f <= 2) {
        Line(2, path, name, raw, out);
        continue;
      }
      // OBX-5 has the type OBX-2 names.
      std::string datatype(fdef != nullptr ? fdef->datatype : "");
      if (id == "OBX" && f == 5) {
        datatype = Decode(m, m.FieldRaw(i, 2).value_or(std::string_view()));
      }
      const bool repeats = raw.find(d.repetition) != std::string_view::npos;
      hl7::ForEachPiece(raw, d.repetition, [&](std::string_view rep, std::size_t r) {
        if (rep.empty()) return;
        TreeRepetition(m, dict, repeats ? path + "[" + std::to_string(r + 1) + "]" : path, name,
                       datatype, rep, out);
      });
    }
  }
}


}  // namespace junction::cli
