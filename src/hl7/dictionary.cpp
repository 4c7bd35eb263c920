// Turns the compact generated records (hl7/generated/dictionary_data.h) into
// the public definition structs, once, on first use.
#include "junction/hl7/dictionary.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "hl7/generated/dictionary_data.h"

namespace junction::hl7 {
namespace {

namespace gen = internal::gen;

constexpr std::array<std::string_view, 10> kVersionNames = {
    "2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1"};
static_assert(kVersionNames.size() == gen::kVersionCount);
// MSH-9.3 (message structure) and table 0354 appear in 2.3.1.
constexpr std::size_t kFirstVersionWithStructureTable = 3;

std::string_view Str(std::uint32_t offset) {
  // Offsets come from the generator; guard anyway so bad data cannot read past the pool.
  if (offset >= gen::kStringsSize) return {};
  return std::string_view(gen::kStrings + offset);
}

Usage ToUsage(std::uint8_t u) {
  switch (u) {
    case 0:
      return Usage::kOptional;
    case 1:
      return Usage::kRequired;
    case 2:
      return Usage::kConditional;
    case 3:
      return Usage::kBackward;
    default:
      return Usage::kUnknown;
  }
}

template <typename T>
bool ById(const T& a, const T& b) {
  return a.id < b.id;
}

template <typename T>
const T* FindById(std::span<const T> sorted, std::string_view id) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), id,
                             [](const T& d, std::string_view key) { return d.id < key; });
  if (it == sorted.end() || it->id != id) return nullptr;
  return &*it;
}

struct Data {
  std::vector<FieldDef> fields;
  std::vector<MessageNode> nodes;
  std::vector<TableValue> table_values;
  std::vector<TableDef> tables;
  std::array<std::vector<SegmentDef>, gen::kVersionCount> segments;
  std::array<std::vector<DatatypeDef>, gen::kVersionCount> datatypes;
  std::array<std::vector<MessageDef>, gen::kVersionCount> messages;
  std::vector<Dictionary> dictionaries;

  std::span<const FieldDef> FieldRange(std::uint32_t first, std::uint32_t count) const {
    if (first > fields.size() || count > fields.size() - first) return {};
    return std::span<const FieldDef>(fields).subspan(first, count);
  }
  std::span<const MessageNode> NodeRange(std::uint32_t first, std::uint32_t count) const {
    if (first > nodes.size() || count > nodes.size() - first) return {};
    return std::span<const MessageNode>(nodes).subspan(first, count);
  }
};

Data Build() {
  Data d;
  d.fields.reserve(gen::kFieldCount);
  for (const gen::FieldRec& r : gen::kFields) {
    FieldDef f;
    f.name = Str(r.name);
    f.datatype = Str(r.datatype);
    f.usage = ToUsage(r.usage);
    f.max_repetitions = r.max_repetitions;
    f.max_length = r.max_length;
    f.table = r.table;
    d.fields.push_back(f);
  }

  // Sized up front: children spans point into this vector.
  d.nodes.resize(gen::kNodeCount);
  for (std::uint32_t i = 0; i < gen::kNodeCount; ++i) {
    const gen::NodeRec& r = gen::kNodes[i];
    MessageNode& n = d.nodes[i];
    n.kind = r.kind == 1   ? MessageNodeKind::kGroup
             : r.kind == 2 ? MessageNodeKind::kChoice
                           : MessageNodeKind::kSegment;
    n.name = Str(r.name);
    n.description = Str(r.description);
    n.min = r.min;
    n.max = r.max;
    n.children = d.NodeRange(r.first_child, r.child_count);
  }

  d.table_values.reserve(gen::kTableValueCount);
  for (const gen::TableValueRec& r : gen::kTableValues) {
    d.table_values.push_back({Str(r.code), Str(r.description)});
  }
  d.tables.reserve(gen::kTableCount);
  for (const gen::TableRec& r : gen::kTables) {
    TableDef t;
    t.number = static_cast<int>(r.number);
    t.description = Str(r.description);
    if (r.first_value <= d.table_values.size() &&
        r.value_count <= d.table_values.size() - r.first_value) {
      auto values = std::span<TableValue>(d.table_values).subspan(r.first_value, r.value_count);
      std::sort(values.begin(), values.end(),
                [](const TableValue& a, const TableValue& b) { return a.code < b.code; });
      t.values = values;
    }
    d.tables.push_back(t);
  }
  std::sort(d.tables.begin(), d.tables.end(),
            [](const TableDef& a, const TableDef& b) { return a.number < b.number; });

  d.dictionaries.reserve(gen::kVersionCount);
  for (std::uint32_t v = 0; v < gen::kVersionCount; ++v) {
    const gen::VersionRec& vr = gen::kVersions[v];
    for (std::uint32_t i = 0; i < vr.segment_count; ++i) {
      const gen::TypeRec& t = gen::kTypes[gen::kVersionSegments[vr.first_segment + i]];
      d.segments[v].push_back(
          {Str(t.id), Str(t.description), d.FieldRange(t.first_field, t.field_count)});
    }
    for (std::uint32_t i = 0; i < vr.datatype_count; ++i) {
      const gen::TypeRec& t = gen::kTypes[gen::kVersionDatatypes[vr.first_datatype + i]];
      d.datatypes[v].push_back(
          {Str(t.id), Str(t.description), d.FieldRange(t.first_field, t.field_count)});
    }
    for (std::uint32_t i = 0; i < vr.message_count; ++i) {
      const gen::MessageRec& m = gen::kMessages[gen::kVersionMessages[vr.first_message + i]];
      MessageDef def;
      def.id = Str(m.id);
      def.description = Str(m.description);
      def.root.kind = MessageNodeKind::kGroup;
      def.root.name = def.id;
      def.root.description = def.description;
      def.root.min = 1;
      def.root.max = 1;
      def.root.children = d.NodeRange(m.first_child, m.child_count);
      d.messages[v].push_back(def);
    }
    std::sort(d.segments[v].begin(), d.segments[v].end(), ById<SegmentDef>);
    std::sort(d.datatypes[v].begin(), d.datatypes[v].end(), ById<DatatypeDef>);
    std::sort(d.messages[v].begin(), d.messages[v].end(), ById<MessageDef>);
    d.dictionaries.emplace_back(
        Dictionary::Parts{kVersionNames[v], d.segments[v], d.datatypes[v], d.messages[v]});
  }
  return d;
}

const Data& GetData() {
  static const Data data = Build();  // thread-safe one-time init
  return data;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// True for "2.8", "2.8.1", "2.9", "2.10.3": a 2.x release newer than our data.
bool IsNewerThanData(std::string_view version) {
  if (version.substr(0, 2) != "2.") return false;
  std::string_view rest = version.substr(2);
  std::size_t dot = rest.find('.');
  std::string_view minor = rest.substr(0, dot);
  if (!AllDigits(minor) || minor.size() > 3) return false;
  if (dot != std::string_view::npos && !AllDigits(rest.substr(dot + 1))) return false;
  int value = 0;
  for (char c : minor) value = value * 10 + (c - '0');
  return value >= 8;
}

const gen::EventRec* FindEvent(std::string_view code, std::string_view trigger) {
  const gen::EventRec* begin = gen::kEvents;
  const gen::EventRec* end = gen::kEvents + gen::kEventCount;
  auto less = [](const gen::EventRec& e, std::pair<std::string_view, std::string_view> key) {
    std::string_view c(e.code);
    return c < key.first || (c == key.first && std::string_view(e.trigger) < key.second);
  };
  const gen::EventRec* it = std::lower_bound(begin, end, std::make_pair(code, trigger), less);
  if (it == end || code != it->code || trigger != it->trigger) return nullptr;
  return it;
}

}  // namespace

std::string_view UsageCode(Usage usage) {
  switch (usage) {
    case Usage::kOptional:
      return "O";
    case Usage::kRequired:
      return "R";
    case Usage::kConditional:
      return "C";
    case Usage::kBackward:
      return "B";
    case Usage::kUnknown:
      break;
  }
  return "?";
}

const FieldDef* SegmentDef::Field(std::size_t position) const {
  if (position == 0 || position > fields.size()) return nullptr;
  return &fields[position - 1];
}

const FieldDef* DatatypeDef::Component(std::size_t position) const {
  if (position == 0 || position > components.size()) return nullptr;
  return &components[position - 1];
}

const TableValue* TableDef::Find(std::string_view code) const {
  auto it =
      std::lower_bound(values.begin(), values.end(), code,
                       [](const TableValue& v, std::string_view key) { return v.code < key; });
  if (it == values.end() || it->code != code) return nullptr;
  return &*it;
}

std::span<const std::string_view> Dictionary::Versions() { return kVersionNames; }

const Dictionary* Dictionary::ForVersion(std::string_view version, bool* fell_back) {
  if (fell_back != nullptr) *fell_back = false;
  const Data& data = GetData();
  for (std::size_t i = 0; i < kVersionNames.size(); ++i) {
    if (kVersionNames[i] == version) return &data.dictionaries[i];
  }
  if (IsNewerThanData(version)) {
    if (fell_back != nullptr) *fell_back = true;
    return &data.dictionaries.back();
  }
  return nullptr;
}

const Dictionary* Dictionary::Resolve(std::string_view version, std::string* warning) {
  bool fell_back = false;
  const Dictionary* dict = ForVersion(version, &fell_back);
  if (warning != nullptr) {
    warning->clear();
    if (dict == nullptr && version.empty()) {
      *warning = "no HL7 version given";
    } else if (dict == nullptr) {
      // Bounded echo: the version comes from message data.
      *warning = "unknown HL7 version '" + std::string(version.substr(0, 16)) + "'";
    } else if (fell_back) {
      *warning = "HL7 version " + std::string(version) + " has no dictionary; using " +
                 std::string(kNewestVersion);
    }
  }
  return dict;
}

const TableDef* Dictionary::Table(int number) {
  const std::vector<TableDef>& tables = GetData().tables;
  auto it = std::lower_bound(tables.begin(), tables.end(), number,
                             [](const TableDef& t, int key) { return t.number < key; });
  if (it == tables.end() || it->number != number) return nullptr;
  return &*it;
}

std::span<const TableDef> Dictionary::Tables() { return GetData().tables; }

const SegmentDef* Dictionary::Segment(std::string_view id) const { return FindById(segments_, id); }

const DatatypeDef* Dictionary::Datatype(std::string_view id) const {
  return FindById(datatypes_, id);
}

const MessageDef* Dictionary::Message(std::string_view structure_id) const {
  return FindById(messages_, structure_id);
}

const FieldDef* Dictionary::Field(std::string_view segment_id, std::size_t position) const {
  const SegmentDef* seg = Segment(segment_id);
  return seg == nullptr ? nullptr : seg->Field(position);
}

std::string_view Dictionary::StructureFor(std::string_view code, std::string_view trigger,
                                          std::string_view declared) const {
  if (!declared.empty()) {
    if (const MessageDef* m = Message(declared)) return m->id;
  }
  const auto version_index = static_cast<std::size_t>(
      std::find(kVersionNames.begin(), kVersionNames.end(), version_) - kVersionNames.begin());
  const bool table_first = version_index >= kFirstVersionWithStructureTable;

  const MessageDef* from_table = nullptr;
  if (const gen::EventRec* e = FindEvent(code, trigger)) from_table = Message(e->structure);
  if (table_first && from_table != nullptr) return from_table->id;

  // Bounded: both parts are short in real messages; refuse anything odd.
  if (code.size() <= 8 && trigger.size() <= 8 && !code.empty() && !trigger.empty()) {
    std::string exact;
    exact.reserve(code.size() + 1 + trigger.size());
    exact.append(code).append("_").append(trigger);
    if (const MessageDef* m = Message(exact)) return m->id;
  }
  if (from_table != nullptr) return from_table->id;
  if (code == "ACK") {
    if (const MessageDef* m = Message("ACK")) return m->id;
  }
  return {};
}

}  // namespace junction::hl7
