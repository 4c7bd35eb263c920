#include "junction/hl7/structure.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "junction/hl7/dictionary.h"

namespace junction::hl7 {
namespace {

using Kind = StructureFinding::Kind;
using Ids = std::vector<std::string_view>;

const MessageDef& Def(std::string_view version, std::string_view structure) {
  const Dictionary* d = Dictionary::ForVersion(version);
  EXPECT_NE(d, nullptr);
  const MessageDef* m = d->Message(structure);
  EXPECT_NE(m, nullptr) << version << " " << structure;
  return *m;
}

MessageStructure MatchOk(const MessageDef& def, const Ids& ids) {
  Result<MessageStructure> s = MessageStructure::Match(def, ids);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

std::string Findings(const MessageStructure& s) {
  std::string out;
  for (const StructureFinding& f : s.findings()) out += f.ToString() + "\n";
  return out;
}

// Counts group instances named `name` anywhere in the tree.
std::size_t CountGroups(const MessageStructure& s, std::string_view name) {
  std::size_t n = 0;
  for (const MessageStructure::Group& g : s.groups()) n += g.name == name;
  return n;
}

TEST(StructureTest, OruR01TwoOrdersWithSeveralObservations) {
  const Ids ids = {"MSH", "PID", "PV1", "ORC", "OBR", "OBX", "OBX",
                   "OBX", "ORC", "OBR", "OBX", "NTE", "OBX"};
  MessageStructure s = MatchOk(Def("2.5.1", "ORU_R01"), ids);
  EXPECT_TRUE(s.conforms()) << Findings(s) << s.ToString();
  EXPECT_EQ(s.root().name, "ORU_R01");

  ASSERT_EQ(s.ChildGroups(0, "PATIENT_RESULT").size(), 1u);
  EXPECT_EQ(CountGroups(s, "ORDER_OBSERVATION"), 2u);
  EXPECT_EQ(CountGroups(s, "OBSERVATION"), 5u);

  auto o1 = s.FindGroup("PATIENT_RESULT/ORDER_OBSERVATION[1]");
  auto o2 = s.FindGroup("PATIENT_RESULT[1]/ORDER_OBSERVATION[2]");
  ASSERT_TRUE(o1 && o2);
  EXPECT_EQ(s.ChildGroups(*o1, "OBSERVATION").size(), 3u);
  EXPECT_EQ(s.ChildGroups(*o2, "OBSERVATION").size(), 2u);
  EXPECT_EQ(s.SegmentsOf(*o1, "OBX", /*recursive=*/true), (std::vector<std::size_t>{5, 6, 7}));
  EXPECT_EQ(s.SegmentsOf(*o2, "", /*recursive=*/true),
            (std::vector<std::size_t>{8, 9, 10, 11, 12}));
  EXPECT_EQ(s.SegmentsOf(*o2, "OBX"), std::vector<std::size_t>{});  // not direct children

  EXPECT_EQ(s.FindSegment("MSH"), 0u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT/PATIENT/PID"), 1u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT/PATIENT/VISIT/PV1"), 2u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT[1]/ORDER_OBSERVATION[1]/OBSERVATION[3]/OBX"), 7u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT[1]/ORDER_OBSERVATION[2]/OBR"), 9u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT[1]/ORDER_OBSERVATION[2]/OBSERVATION[1]/NTE"), 11u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT[1]/ORDER_OBSERVATION[2]/OBSERVATION[2]/OBX"), 12u);
  EXPECT_FALSE(s.FindSegment("PATIENT_RESULT[1]/ORDER_OBSERVATION[3]/OBR"));
  EXPECT_FALSE(s.FindSegment("PATIENT_RESULT/ORDER_OBSERVATION/OBSERVATION/OBX[2]"));

  const auto& g = s.groups()[*o2];
  EXPECT_EQ(g.repetition, 2u);
  EXPECT_EQ(s.GroupPath(*o2), "PATIENT_RESULT[1]/ORDER_OBSERVATION[2]");
  EXPECT_EQ(s.GroupPath(0), "");
  EXPECT_EQ(s.placements()[12].group,
            *s.FindGroup("PATIENT_RESULT/ORDER_OBSERVATION[2]/OBSERVATION[2]"));
  EXPECT_NE(s.ToString().find("\n    ORDER_OBSERVATION[2]\n      ORC\n"), std::string::npos)
      << s.ToString();
}

TEST(StructureTest, OruR01WithoutOrcStartsNewOrderOnObr) {
  const Ids ids = {"MSH", "PID", "OBR", "OBX", "OBR", "OBX", "OBX", "PID", "OBR"};
  MessageStructure s = MatchOk(Def("2.5.1", "ORU_R01"), ids);
  EXPECT_TRUE(s.conforms()) << Findings(s);
  EXPECT_EQ(s.ChildGroups(0, "PATIENT_RESULT").size(), 2u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT[1]/ORDER_OBSERVATION[2]/OBR"), 4u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT[2]/PATIENT/PID"), 7u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT[2]/ORDER_OBSERVATION/OBR"), 8u);
}

TEST(StructureTest, OmlO21ThreeOrdersGiveThreeInstances) {
  const Ids ids = {"MSH", "PID", "PV1", "ORC", "TQ1", "OBR", "OBX",
                   "SPM", "SPM", "ORC", "OBR", "SPM", "ORC", "OBR"};
  // Not 2.6: the package gives its groups wrong cardinalities (SPECIMEN 1..1).
  for (std::string_view v : {"2.5", "2.5.1", "2.7", "2.7.1"}) {
    MessageStructure s = MatchOk(Def(v, "OML_O21"), ids);
    EXPECT_EQ(s.ChildGroups(0, "ORDER").size(), 3u) << v << "\n" << s.ToString();
    EXPECT_EQ(CountGroups(s, "PRIOR_RESULT"), 0u) << v;
    EXPECT_EQ(CountGroups(s, "ORDER_PRIOR"), 0u) << v;
    for (const StructureFinding& f : s.findings()) {
      EXPECT_NE(f.kind, Kind::kUnexpectedSegment) << v << " " << f.ToString();
    }
    EXPECT_EQ(s.FindSegment("ORDER[2]/ORC"), 9u) << v;
    EXPECT_EQ(s.FindSegment("ORDER[3]/ORC"), 12u) << v;
  }
  MessageStructure s = MatchOk(Def("2.5.1", "OML_O21"), ids);
  EXPECT_TRUE(s.conforms()) << Findings(s);
  EXPECT_EQ(s.FindSegment("ORDER[1]/OBSERVATION_REQUEST/SPECIMEN[2]/SPM"), 8u);
  EXPECT_EQ(s.FindSegment("ORDER[1]/OBSERVATION_REQUEST/OBSERVATION/OBX"), 6u);
}

TEST(StructureTest, ZSegmentsAttachToTheCurrentGroup) {
  const Ids ids = {"MSH", "ZAA", "EVN", "PID", "ZPI", "PV1", "ZPV"};
  MessageStructure s = MatchOk(Def("2.5.1", "ADT_A01"), ids);
  EXPECT_TRUE(s.conforms()) << Findings(s);
  EXPECT_EQ(s.SegmentsOf(0), (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(s.placements()[4].expected);
  EXPECT_EQ(s.FindSegment("ZPI"), 4u);

  // Inside nested groups, a Z-segment stays with the innermost open group.
  MessageStructure oru =
      MatchOk(Def("2.5.1", "ORU_R01"), {"MSH", "PID", "OBR", "OBX", "ZOB", "OBX"});
  EXPECT_TRUE(oru.conforms()) << Findings(oru);
  EXPECT_EQ(oru.FindSegment("PATIENT_RESULT/ORDER_OBSERVATION/OBSERVATION[1]/ZOB"), 4u);
  EXPECT_EQ(oru.FindSegment("PATIENT_RESULT/ORDER_OBSERVATION/OBSERVATION[2]/OBX"), 5u);
}

TEST(StructureTest, UnexpectedSegmentsAreReportedAndKept) {
  const Ids ids = {"MSH", "EVN", "PID", "OBR", "PV1", "XYZ"};
  MessageStructure s = MatchOk(Def("2.5.1", "ADT_A01"), ids);
  ASSERT_EQ(s.findings().size(), 2u) << Findings(s);
  EXPECT_EQ(s.findings()[0].kind, Kind::kUnexpectedSegment);
  EXPECT_EQ(s.findings()[0].segment_index, 3u);
  EXPECT_EQ(s.findings()[0].name, "OBR");
  EXPECT_EQ(s.findings()[1].kind, Kind::kUnexpectedSegment);
  EXPECT_EQ(s.findings()[1].segment_index, 5u);
  EXPECT_NE(s.findings()[1].message.find("not part of ADT_A01"), std::string::npos);
  EXPECT_FALSE(s.placements()[3].expected);
  EXPECT_TRUE(s.placements()[4].expected);
  // PV1 still lands where it belongs; every segment appears once in the tree.
  EXPECT_EQ(s.FindSegment("PV1"), 4u);
  EXPECT_EQ(s.SegmentsOf(0, "", true).size(), ids.size());
  EXPECT_NE(s.ToString().find("OBR  (unexpected)"), std::string::npos);
  EXPECT_FALSE(s.findings()[0].is_error());
}

TEST(StructureTest, MissingRequiredSegmentsAndGroups) {
  MessageStructure adt = MatchOk(Def("2.5.1", "ADT_A01"), {"MSH", "PID", "PV1"});
  ASSERT_EQ(adt.findings().size(), 1u) << Findings(adt);
  EXPECT_EQ(adt.findings()[0].kind, Kind::kMissingSegment);
  EXPECT_EQ(adt.findings()[0].name, "EVN");
  EXPECT_EQ(adt.findings()[0].segment_index, StructureFinding::kNoSegment);
  EXPECT_TRUE(adt.findings()[0].is_error());
  EXPECT_EQ(adt.FindSegment("PID"), 1u);

  // OBX without its OBR: the order group is still opened, OBR reported missing.
  MessageStructure oru = MatchOk(Def("2.5.1", "ORU_R01"), {"MSH", "PID", "ORC", "OBX"});
  ASSERT_EQ(oru.findings().size(), 1u) << Findings(oru);
  EXPECT_EQ(oru.findings()[0].kind, Kind::kMissingSegment);
  EXPECT_EQ(oru.findings()[0].name, "OBR");
  EXPECT_EQ(oru.findings()[0].where, "PATIENT_RESULT[1]/ORDER_OBSERVATION[1]");
  EXPECT_EQ(oru.FindSegment("PATIENT_RESULT/ORDER_OBSERVATION/OBSERVATION/OBX"), 3u);

  MessageStructure bare = MatchOk(Def("2.5.1", "ORU_R01"), {"MSH"});
  ASSERT_EQ(bare.findings().size(), 1u) << Findings(bare);
  EXPECT_EQ(bare.findings()[0].kind, Kind::kMissingGroup);
  EXPECT_EQ(bare.findings()[0].name, "PATIENT_RESULT");

  MessageStructure empty = MatchOk(Def("2.5.1", "ACK"), {});
  ASSERT_EQ(empty.findings().size(), 2u) << Findings(empty);  // MSH, MSA
  EXPECT_EQ(empty.findings()[0].name, "MSH");
  EXPECT_EQ(empty.findings()[1].name, "MSA");
}

TEST(StructureTest, NoGroupIsInventedAroundAMissingAnchor) {
  // OBX with neither ORC nor OBR: out of place, not a new ORDER_OBSERVATION.
  MessageStructure oru = MatchOk(Def("2.5.1", "ORU_R01"), {"MSH", "PID", "OBX", "OBR", "OBX"});
  ASSERT_EQ(oru.findings().size(), 1u) << Findings(oru);
  EXPECT_EQ(oru.findings()[0].kind, Kind::kUnexpectedSegment);
  EXPECT_EQ(oru.findings()[0].segment_index, 2u);
  EXPECT_NE(oru.findings()[0].message.find("out of place"), std::string::npos);
  EXPECT_EQ(CountGroups(oru, "ORDER_OBSERVATION"), 1u);
  EXPECT_EQ(oru.FindSegment("PATIENT_RESULT/ORDER_OBSERVATION/OBSERVATION/OBX"), 4u);

  // A 2.8-style person observation (OBX before ORC) checked against 2.7.1.
  MessageStructure vxu =
      MatchOk(Def("2.7.1", "VXU_V04"), {"MSH", "PID", "IN1", "OBX", "ORC", "RXA", "OBX"});
  ASSERT_EQ(vxu.findings().size(), 1u) << Findings(vxu);
  EXPECT_EQ(vxu.findings()[0].segment_index, 3u);
  EXPECT_EQ(vxu.ChildGroups(0, "ORDER").size(), 1u);
}

TEST(StructureTest, TooManyRepetitions) {
  MessageStructure s = MatchOk(Def("2.5.1", "ADT_A01"), {"MSH", "EVN", "PID", "PID", "PV1"});
  ASSERT_EQ(s.findings().size(), 1u) << Findings(s);
  EXPECT_EQ(s.findings()[0].kind, Kind::kTooManyRepetitions);
  EXPECT_EQ(s.findings()[0].segment_index, 3u);
  EXPECT_FALSE(s.placements()[3].expected);
  EXPECT_EQ(s.FindSegment("PV1"), 4u);
}

TEST(StructureTest, ChoiceTakesAnyAlternative) {
  const Ids ids = {"MSH", "PID", "ORC", "RXO", "ORC", "OBR", "NTE"};
  MessageStructure s = MatchOk(Def("2.5.1", "ORM_O01"), ids);
  EXPECT_TRUE(s.conforms()) << Findings(s);
  EXPECT_EQ(s.ChildGroups(0, "ORDER").size(), 2u) << s.ToString();
  EXPECT_EQ(s.FindSegment("ORDER[1]/ORDER_DETAIL/RXO"), 3u);
  EXPECT_EQ(s.FindSegment("ORDER[2]/ORDER_DETAIL/OBR"), 5u);
}

TEST(StructureTest, RepeatingGroupsInAdt) {
  const Ids ids = {"MSH", "EVN", "PID", "PV1", "PR1", "ROL", "PR1", "IN1", "IN2", "IN1", "IN1"};
  MessageStructure s = MatchOk(Def("2.5.1", "ADT_A01"), ids);
  EXPECT_TRUE(s.conforms()) << Findings(s);
  EXPECT_EQ(s.ChildGroups(0, "PROCEDURE").size(), 2u);
  EXPECT_EQ(s.ChildGroups(0, "INSURANCE").size(), 3u);
  EXPECT_EQ(s.FindSegment("INSURANCE[1]/IN2"), 8u);
  EXPECT_EQ(s.FindSegment("PROCEDURE[1]/ROL"), 5u);
}

TEST(StructureTest, PathsAreValidated) {
  MessageStructure s = MatchOk(Def("2.5.1", "ORU_R01"), {"MSH", "PID", "OBR", "OBX"});
  EXPECT_EQ(s.FindGroup(""), 0u);
  EXPECT_EQ(s.FindGroup("/PATIENT_RESULT"), s.FindGroup("PATIENT_RESULT[1]"));
  for (std::string_view bad :
       {"PATIENT_RESULT[0]", "PATIENT_RESULT[x]", "PATIENT_RESULT[", "PATIENT_RESULT[]",
        "PATIENT_RESULT//X", "NOPE", "[1]", "PATIENT_RESULT[99999999]"}) {
    EXPECT_FALSE(s.FindGroup(bad)) << bad;
  }
  EXPECT_FALSE(s.FindSegment(""));
  EXPECT_FALSE(s.FindSegment(std::string(5000, 'A')));
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "PATIENT_RESULT/";
  EXPECT_FALSE(s.FindGroup(deep + "X"));
  EXPECT_TRUE(s.SegmentsOf(12345).empty());
  EXPECT_TRUE(s.ChildGroups(12345, "X").empty());
}

TEST(StructureTest, BoundsAndLargeInputs) {
  const MessageDef& oru = Def("2.5.1", "ORU_R01");
  std::vector<std::string_view> too_many(MessageStructure::kMaxSegments + 1, "OBX");
  Result<MessageStructure> r = MessageStructure::Match(oru, too_many);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);

  // Many repetitions stay linear and give one group per OBX.
  std::vector<std::string_view> ids = {"MSH", "PID", "OBR"};
  ids.insert(ids.end(), 20000, "OBX");
  MessageStructure s = MatchOk(oru, ids);
  EXPECT_TRUE(s.conforms());
  EXPECT_EQ(CountGroups(s, "OBSERVATION"), 20000u);
  EXPECT_EQ(s.FindSegment("PATIENT_RESULT/ORDER_OBSERVATION/OBSERVATION[20000]/OBX"), 20002u);

  // Garbage ids: every one is unexpected, nothing crashes.
  std::vector<std::string_view> junk = {"", "M", "MSHX", std::string_view("\0\0\0", 3), "ZZZ"};
  MessageStructure j = MatchOk(oru, junk);
  EXPECT_EQ(j.SegmentsOf(0, "", true).size(), junk.size());
}

TEST(StructureTest, EveryVersionAcceptsItsOwnMinimalMessages) {
  // Build, for each structure, the sequence of required segments (first
  // alternative of a choice) and check it conforms.
  for (std::string_view v : Dictionary::Versions()) {
    for (const MessageDef& m : Dictionary::ForVersion(v)->messages()) {
      // SUR_P09 is ambiguous for a greedy matcher without backtracking:
      // PSH after PRODUCT{PSH PDC} repeats PRODUCT (see docs/dictionary.md).
      if (m.id == "SUR_P09") continue;
      std::vector<std::string_view> ids;
      std::vector<std::pair<const MessageNode*, std::size_t>> stack = {{&m.root, 0}};
      while (!stack.empty() && ids.size() < 1000) {
        auto& [node, next] = stack.back();
        if (next >= node->children.size()) {
          stack.pop_back();
          continue;
        }
        const MessageNode& c = node->children[next++];
        if (!c.required()) continue;
        if (c.kind == MessageNodeKind::kSegment) ids.push_back(c.name);
        if (c.kind == MessageNodeKind::kChoice) ids.push_back(c.children.front().name);
        if (c.kind == MessageNodeKind::kGroup) stack.emplace_back(&c, 0);
      }
      MessageStructure s = MatchOk(m, ids);
      EXPECT_TRUE(s.conforms()) << v << " " << m.id << "\n" << Findings(s);
    }
  }
}

// Splits a file of concatenated messages on "MSH|" and returns, per message,
// its segment ids, MSH-9 and MSH-12.
struct RawMessage {
  std::vector<std::string> ids;
  std::string msh9;
  std::string version;
};

std::vector<RawMessage> ReadMessages(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  std::vector<RawMessage> out;
  std::size_t pos = text.find("MSH|");
  while (pos != std::string::npos) {
    std::size_t next = text.find("MSH|", pos + 4);
    std::string body = text.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    RawMessage m;
    std::size_t start = 0;
    while (start < body.size()) {
      std::size_t end = body.find_first_of("\r\n", start);
      if (end == std::string::npos) end = body.size();
      std::string line = body.substr(start, end - start);
      if (line.size() >= 3) {
        m.ids.push_back(line.substr(0, 3));
        if (m.ids.size() == 1) {
          std::vector<std::string> fields;
          std::stringstream ls(line);
          for (std::string f; std::getline(ls, f, '|');) fields.push_back(f);
          // fields[0] = "MSH", fields[1] = encoding chars -> MSH-n is fields[n - 1].
          if (fields.size() > 8) m.msh9 = fields[8];
          if (fields.size() > 11) m.version = fields[11];
        }
      }
      start = end + 1;
    }
    out.push_back(std::move(m));
    pos = next;
  }
  return out;
}

void CheckOmlCorpusFile(const std::string& name) {
  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  std::filesystem::path path =
      std::filesystem::path(root ? root : ".") / ".." / "shared" / "corpus" / "edge-cases" / name;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "corpus file absent: " << path;
  std::vector<RawMessage> messages = ReadMessages(path);
  ASSERT_FALSE(messages.empty());
  std::size_t oml = 0;
  for (const RawMessage& raw : messages) {
    const Dictionary* d = Dictionary::ForVersion(raw.version);
    if (d == nullptr) d = Dictionary::ForVersion("2.5.1");
    std::vector<std::string> parts;
    std::stringstream ms(raw.msh9);
    for (std::string p; std::getline(ms, p, '^');) parts.push_back(p);
    parts.resize(3);
    std::string_view structure = d->StructureFor(parts[0], parts[1], parts[2]);
    if (structure != "OML_O21") continue;
    ++oml;
    std::vector<std::string_view> ids(raw.ids.begin(), raw.ids.end());
    MessageStructure s = MatchOk(*d->Message(structure), ids);
    std::size_t orc = 0;
    for (auto id : ids) orc += id == "ORC";
    EXPECT_EQ(s.ChildGroups(0, "ORDER").size(), orc) << s.ToString();
    EXPECT_EQ(CountGroups(s, "ORDER_PRIOR"), 0u) << s.ToString();
    for (const StructureFinding& f : s.findings()) {
      EXPECT_NE(f.kind, Kind::kUnexpectedSegment) << f.ToString() << "\n" << s.ToString();
    }
  }
  EXPECT_GT(oml, 0u);
}

TEST(StructureCorpusTest, NhapiOmlO21) { CheckOmlCorpusFile("nhapi_oml_o21_7_messages.hl7"); }
TEST(StructureCorpusTest, HapiOmlO21) { CheckOmlCorpusFile("hapi_oml_o21_13_messages_concat.hl7"); }

}  // namespace
}  // namespace junction::hl7
