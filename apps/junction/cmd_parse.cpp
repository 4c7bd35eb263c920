// junction parse [FILE|-] [--tree | --json [--compact]]
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "input.h"
#include "output.h"
#include "junction/hl7/dictionary.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/json.h"
#include "junction/hl7/message.h"

namespace junction::cli {
namespace {

struct ParseOptions {
  std::string file = "-";
  bool tree = false;
  bool json = false;
  bool compact = false;
};

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

// "ADT^A01 (ADT_A01), control id X, version 2.5.1, 8 segments"
std::string Summary(const hl7::Message& m) {
  std::string out(m.MessageCode());
  if (!m.TriggerEvent().empty()) out += "^" + std::string(m.TriggerEvent());
  if (out.empty()) out = "(no MSH-9)";
  if (!m.StructureId().empty()) out += " (" + std::string(m.StructureId()) + ")";
  out += ", control id " + (m.ControlId().empty() ? std::string("(none)") : std::string(m.ControlId()));
  out += ", version " + (m.Version().empty() ? std::string("(none)") : std::string(m.Version()));
  out += ", " + std::to_string(m.SegmentCount()) + (m.SegmentCount() == 1 ? " segment" : " segments");
  return out;
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

void Tree(const hl7::Message& m, std::string* out) {
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

int Run(const ParseOptions& o) {
  auto input = InputFile::Open(o.file);
  if (!input.ok()) {
    ComplainLine(input.status().message());
    return kExitIo;
  }
  const std::string name = input->display_name();
  if (o.json) {
    auto json = hl7::FileToJson(input->bytes(), !o.compact);
    if (!json.ok()) {
      ComplainLine(Located(name, 0, json.status()));
      return kExitData;
    }
    json->push_back('\n');
    return WriteOut(*json) ? kExitOk : kExitIo;
  }
  std::vector<MessagePiece> pieces;
  Status split = SplitMessages(input->bytes(), &pieces);
  if (!split.ok()) {
    ComplainLine(Located(name, 0, split));
    return kExitData;
  }
  int rc = kExitOk;
  for (std::size_t n = 0; n < pieces.size(); ++n) {
    auto message = hl7::Message::Parse(pieces[n].bytes);
    std::string out = "message " + std::to_string(n + 1) + " at offset " +
                      std::to_string(pieces[n].offset) + ": ";
    if (!message.ok()) {
      ComplainLine(Located(name, pieces[n].offset, message.status()));
      rc = kExitData;
      continue;
    }
    out += Summary(*message) + "\n";
    if (o.tree) Tree(*message, &out);
    if (!WriteOut(out)) return kExitIo;
  }
  return rc;
}

}  // namespace

void AddParseCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ParseOptions>();
  CLI::App* cmd = app.add_subcommand(
      "parse",
      "Parse messages and describe them: a one-line summary per message (type, control id, "
      "version, segment count), --tree for every field with its dictionary name, or --json for "
      "the lossless JSON form (see `junction format`).");
  cmd->add_option("FILE", o->file, "input file, or - for stdin (default)");
  auto* tree = cmd->add_flag("--tree", o->tree,
                             "every non-empty field, repetition, component and subcomponent, "
                             "named from the dictionary of MSH-12 (2.5.1 when unknown)");
  auto* json = cmd->add_flag("--json", o->json,
                             "the lossless JSON form: one object, or an array for several messages");
  cmd->add_flag("--compact", o->compact, "with --json: one line instead of one segment per line")
      ->needs(json);
  tree->excludes(json);
  cmd->footer(kExitCodesHelp);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace junction::cli
