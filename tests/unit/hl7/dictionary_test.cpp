#include "junction/hl7/dictionary.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace junction::hl7 {
namespace {

const Dictionary& V(std::string_view version) {
  const Dictionary* d = Dictionary::ForVersion(version);
  EXPECT_NE(d, nullptr) << version;
  return *d;
}

TEST(DictionaryVersionTest, EveryListedVersionResolvesToItself) {
  auto versions = Dictionary::Versions();
  ASSERT_EQ(versions.size(), 10u);
  EXPECT_EQ(versions.front(), "2.1");
  EXPECT_EQ(versions.back(), Dictionary::kNewestVersion);
  for (std::string_view v : versions) {
    bool fell_back = true;
    const Dictionary* d = Dictionary::ForVersion(v, &fell_back);
    ASSERT_NE(d, nullptr) << v;
    EXPECT_EQ(d->version(), v);
    EXPECT_FALSE(fell_back) << v;
    EXPECT_FALSE(d->segments().empty()) << v;
    EXPECT_FALSE(d->messages().empty()) << v;
    EXPECT_FALSE(d->datatypes().empty()) << v;
  }
}

TEST(DictionaryVersionTest, NewerVersionsFallBackTo271WithWarning) {
  for (std::string_view v : {"2.8", "2.8.1", "2.8.2", "2.9", "2.9.1", "2.10"}) {
    bool fell_back = false;
    const Dictionary* d = Dictionary::ForVersion(v, &fell_back);
    ASSERT_NE(d, nullptr) << v;
    EXPECT_EQ(d->version(), "2.7.1");
    EXPECT_TRUE(fell_back) << v;
    std::string warning;
    EXPECT_EQ(Dictionary::Resolve(v, &warning), d);
    EXPECT_NE(warning.find("2.7.1"), std::string::npos) << warning;
    EXPECT_NE(warning.find(std::string(v)), std::string::npos) << warning;
  }
}

TEST(DictionaryVersionTest, UnknownOrEmptyVersionIsNull) {
  for (std::string_view v :
       {"", "2", "2.", "2.5.2", "2.0", "3.0", "2.8x", "2.8.", "v2.5", " 2.5"}) {
    bool fell_back = true;
    EXPECT_EQ(Dictionary::ForVersion(v, &fell_back), nullptr) << "'" << v << "'";
    EXPECT_FALSE(fell_back);
    std::string warning;
    EXPECT_EQ(Dictionary::Resolve(v, &warning), nullptr);
    EXPECT_FALSE(warning.empty());
  }
  std::string warning = "stale";
  EXPECT_NE(Dictionary::Resolve("2.5.1", &warning), nullptr);
  EXPECT_TRUE(warning.empty());
}

TEST(DictionarySegmentTest, Pid5IsRequiredRepeatingXpnPatientName) {
  const FieldDef* f = V("2.5.1").Field("PID", 5);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "Patient Name");
  EXPECT_EQ(f->datatype, "XPN");
  EXPECT_TRUE(f->required());
  EXPECT_EQ(UsageCode(f->usage), "R");
  EXPECT_EQ(f->max_repetitions, 0u);  // unbounded
  EXPECT_TRUE(f->repeats());
  EXPECT_EQ(f->table, 0);
}

TEST(DictionarySegmentTest, FieldsCarryTablesLengthsAndUsage) {
  const Dictionary& d = V("2.5.1");
  const SegmentDef* pid = d.Segment("PID");
  ASSERT_NE(pid, nullptr);
  EXPECT_EQ(pid->id, "PID");
  EXPECT_EQ(pid->description, "Patient Identification");
  EXPECT_EQ(pid->fields.size(), 39u);
  EXPECT_EQ(pid->Field(0), nullptr);
  EXPECT_EQ(pid->Field(40), nullptr);
  const FieldDef* sex = pid->Field(8);
  ASSERT_NE(sex, nullptr);
  EXPECT_EQ(sex->name, "Administrative Sex");
  EXPECT_EQ(sex->table, 1);
  EXPECT_EQ(sex->usage, Usage::kOptional);
  EXPECT_EQ(sex->max_repetitions, 1u);

  const FieldDef* msh9 = d.Field("MSH", 9);
  ASSERT_NE(msh9, nullptr);
  EXPECT_EQ(msh9->datatype, "MSG");
  EXPECT_EQ(msh9->max_length, 15u);
  EXPECT_TRUE(msh9->required());
  // The datatype of MSH-9 changed across versions.
  EXPECT_EQ(V("2.3").Field("MSH", 9)->datatype, "CM_MSG");

  // 2.7 marks withdrawn-for-compatibility fields B and conditional ones C.
  EXPECT_EQ(V("2.7").Field("PID", 2)->usage, Usage::kBackward);
  EXPECT_EQ(V("2.7").Field("PID", 35)->usage, Usage::kConditional);

  EXPECT_EQ(d.Segment("ZZZ"), nullptr);
  EXPECT_EQ(d.Segment(""), nullptr);
  EXPECT_EQ(d.Field("ZZZ", 1), nullptr);
  // SPM does not exist before 2.5.
  EXPECT_EQ(V("2.4").Segment("SPM"), nullptr);
  EXPECT_NE(d.Segment("SPM"), nullptr);
}

TEST(DictionaryDatatypeTest, CompositesHaveComponentsPrimitivesDoNot) {
  const Dictionary& d = V("2.5.1");
  const DatatypeDef* xpn = d.Datatype("XPN");
  ASSERT_NE(xpn, nullptr);
  EXPECT_EQ(xpn->description, "Extended Person Name");
  EXPECT_FALSE(xpn->primitive());
  ASSERT_NE(xpn->Component(1), nullptr);
  EXPECT_EQ(xpn->Component(1)->name, "Family Name");
  EXPECT_EQ(xpn->Component(1)->datatype, "FN");
  EXPECT_EQ(xpn->Component(2)->name, "Given Name");
  EXPECT_EQ(xpn->Component(0), nullptr);
  EXPECT_EQ(xpn->Component(xpn->components.size() + 1), nullptr);

  const DatatypeDef* st = d.Datatype("ST");
  ASSERT_NE(st, nullptr);
  EXPECT_TRUE(st->primitive());
  EXPECT_EQ(d.Datatype("NOPE"), nullptr);

  // Every field's datatype is defined in the same version.
  for (std::string_view v : Dictionary::Versions()) {
    const Dictionary& dv = V(v);
    for (const SegmentDef& seg : dv.segments()) {
      for (const FieldDef& f : seg.fields) {
        EXPECT_NE(dv.Datatype(f.datatype), nullptr) << v << " " << seg.id << " " << f.datatype;
      }
    }
  }
}

TEST(DictionaryTableTest, Table0001ListsSexCodes) {
  const TableDef* t = Dictionary::Table(1);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->number, 1);
  EXPECT_EQ(t->description, "Administrative Sex");
  ASSERT_NE(t->Find("F"), nullptr);
  EXPECT_EQ(t->Find("F")->description, "Female");
  ASSERT_NE(t->Find("M"), nullptr);
  EXPECT_EQ(t->Find("M")->description, "Male");
  EXPECT_EQ(t->Find("Q"), nullptr);
  EXPECT_EQ(t->Find(""), nullptr);
  EXPECT_EQ(Dictionary::Table(0), nullptr);
  EXPECT_EQ(Dictionary::Table(-3), nullptr);
  EXPECT_EQ(Dictionary::Table(99999), nullptr);

  auto tables = Dictionary::Tables();
  EXPECT_GT(tables.size(), 300u);
  for (std::size_t i = 1; i < tables.size(); ++i) {
    EXPECT_LT(tables[i - 1].number, tables[i].number);
  }
  // Lookups find every listed code (values are sorted for binary search).
  for (const TableDef& table : tables) {
    for (const TableValue& value : table.values) {
      ASSERT_EQ(table.Find(value.code), &value) << table.number << " " << value.code;
    }
  }
}

const MessageNode* Child(const MessageNode& node, std::string_view name) {
  for (const MessageNode& c : node.children) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

TEST(DictionaryMessageTest, OruR01HasNestedResultGroups) {
  const MessageDef* oru = V("2.5.1").Message("ORU_R01");
  ASSERT_NE(oru, nullptr);
  EXPECT_EQ(oru->id, "ORU_R01");
  EXPECT_EQ(oru->root.name, "ORU_R01");
  EXPECT_TRUE(oru->root.is_group());
  ASSERT_FALSE(oru->root.children.empty());
  EXPECT_EQ(oru->root.children.front().name, "MSH");

  const MessageNode* pr = Child(oru->root, "PATIENT_RESULT");
  ASSERT_NE(pr, nullptr);
  EXPECT_TRUE(pr->is_group());
  EXPECT_TRUE(pr->required());
  EXPECT_TRUE(pr->repeats());
  const MessageNode* oo = Child(*pr, "ORDER_OBSERVATION");
  ASSERT_NE(oo, nullptr);
  const MessageNode* obs = Child(*oo, "OBSERVATION");
  ASSERT_NE(obs, nullptr);
  EXPECT_EQ(obs->max, 0u);
  ASSERT_NE(Child(*obs, "OBX"), nullptr);
  EXPECT_EQ(Child(*obs, "OBX")->kind, MessageNodeKind::kSegment);
  EXPECT_EQ(V("2.5.1").Message("NOPE_X01"), nullptr);
}

TEST(DictionaryMessageTest, ChoicesListAlternativeSegments) {
  const MessageDef* orm = V("2.5.1").Message("ORM_O01");
  ASSERT_NE(orm, nullptr);
  const MessageNode* order = Child(orm->root, "ORDER");
  ASSERT_NE(order, nullptr);
  const MessageNode* detail = Child(*order, "ORDER_DETAIL");
  ASSERT_NE(detail, nullptr);
  ASSERT_FALSE(detail->children.empty());
  const MessageNode& choice = detail->children.front();
  EXPECT_EQ(choice.kind, MessageNodeKind::kChoice);
  std::set<std::string_view> alternatives;
  for (const MessageNode& alt : choice.children) alternatives.insert(alt.name);
  EXPECT_TRUE(alternatives.count("OBR"));
  EXPECT_TRUE(alternatives.count("RXO"));
}

TEST(DictionaryMessageTest, EveryStructureIsWellFormed) {
  for (std::string_view v : Dictionary::Versions()) {
    for (const MessageDef& m : V(v).messages()) {
      // Explicit stack: walk every node, check groups and choices are non-empty.
      std::vector<std::pair<const MessageNode*, int>> stack = {{&m.root, 0}};
      while (!stack.empty()) {
        auto [node, depth] = stack.back();
        stack.pop_back();
        ASSERT_LT(depth, 16) << v << " " << m.id;
        EXPECT_FALSE(node->name.empty()) << v << " " << m.id;
        EXPECT_LE(node->min, 1u);
        if (node->kind != MessageNodeKind::kSegment) {
          EXPECT_FALSE(node->children.empty()) << v << " " << m.id << " " << node->name;
        } else {
          EXPECT_TRUE(node->children.empty());
        }
        for (const MessageNode& c : node->children) stack.push_back({&c, depth + 1});
      }
    }
  }
}

TEST(DictionaryStructureForTest, MapsEventsToStructures) {
  const Dictionary& d = V("2.5.1");
  EXPECT_EQ(d.StructureFor("ORU", "R01"), "ORU_R01");
  EXPECT_EQ(d.StructureFor("ADT", "A01"), "ADT_A01");
  // Table 0354 wins from 2.3.1 on: the package's own ADT_A04 lacks SFT.
  EXPECT_EQ(d.StructureFor("ADT", "A04"), "ADT_A01");
  EXPECT_EQ(d.StructureFor("ADT", "A08"), "ADT_A01");
  EXPECT_EQ(d.StructureFor("ADT", "A28"), "ADT_A05");
  EXPECT_EQ(d.StructureFor("SIU", "S14"), "SIU_S12");
  EXPECT_EQ(d.StructureFor("MDM", "T03"), "MDM_T01");  // no MDM_T03 entry in 2.5.1
  EXPECT_EQ(d.StructureFor("MDM", "T04"), "MDM_T02");
  EXPECT_EQ(d.StructureFor("OML", "O21"), "OML_O21");
  EXPECT_EQ(d.StructureFor("VXU", "V04"), "VXU_V04");
  EXPECT_EQ(d.StructureFor("RDE", "O11"), "RDE_O11");
  EXPECT_EQ(d.StructureFor("DFT", "P03"), "DFT_P03");
  EXPECT_EQ(d.StructureFor("ACK", "A01"), "ACK");
  EXPECT_EQ(d.StructureFor("ZZZ", "Z99"), "");
  EXPECT_EQ(d.StructureFor("", ""), "");
  EXPECT_EQ(d.StructureFor(std::string(100, 'A'), "A01"), "");
  // A declared MSH-9.3 wins when this version knows it, and is ignored otherwise.
  EXPECT_EQ(d.StructureFor("ADT", "A08", "ADT_A05"), "ADT_A05");
  EXPECT_EQ(d.StructureFor("ADT", "A08", "BOGUS_X1"), "ADT_A01");
  // Before 2.3.1 there is no MSH-9.3; the version's own per-event entry is used.
  EXPECT_EQ(V("2.3").StructureFor("ADT", "A04"), "ADT_A04");
  EXPECT_EQ(V("2.3").StructureFor("ADT", "A01"), "ADT_A01");
  // Fallback 2.8 -> 2.7.1 still answers.
  EXPECT_EQ(Dictionary::ForVersion("2.8")->StructureFor("SIU", "S12"), "SIU_S12");
  // Whatever StructureFor returns exists in that version.
  for (std::string_view v : Dictionary::Versions()) {
    for (auto [code, trigger] : {std::pair{"ADT", "A04"},
                                 {"ORU", "R01"},
                                 {"ORM", "O01"},
                                 {"SIU", "S13"},
                                 {"MDM", "T05"},
                                 {"ADT", "A31"}}) {
      std::string_view s = V(v).StructureFor(code, trigger);
      if (!s.empty()) {
        EXPECT_NE(V(v).Message(s), nullptr) << v << " " << s;
      }
    }
  }
}

TEST(DictionaryThreadTest, ConcurrentFirstUseIsSafe) {
  std::vector<std::thread> threads;
  std::vector<const FieldDef*> results(4, nullptr);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&results, i] {
      results[static_cast<std::size_t>(i)] = Dictionary::ForVersion("2.5.1")->Field("PID", 5);
    });
  }
  for (auto& t : threads) t.join();
  for (const FieldDef* f : results) EXPECT_EQ(f, results[0]);
}

}  // namespace
}  // namespace junction::hl7
