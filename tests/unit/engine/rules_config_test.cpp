// Parsing of tables, filters and transforms: what is accepted, and errors of
// the form `file:line: key: reason` with the full key path.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "rules_test_util.h"

namespace junction::engine {
namespace {

using testing::ParseSpec;

std::string ErrorOf(const std::string& yaml) {
  auto spec = ParseSpec(yaml, nullptr);
  if (spec.ok()) return "(no error)";
  return spec.status().message();
}

TEST(RulesConfig, IssueExampleParses) {
  std::shared_ptr<Tables> tables;
  auto spec = ParseSpec(
      "tables:\n"
      "  sex: { M: male, F: female, \"*\": unknown }\n"
      "filter:\n"
      "  all:\n"
      "    - { path: MSH-9.1, in: [ORU] }\n"
      "    - { path: PID-3.1, matches: \"^[0-9]+$\" }\n"
      "    - not: { path: OBX-11, equals: P }\n"
      "transform:\n"
      "  - set:    { path: MSH-5, value: EHR }\n"
      "  - copy:   { from: PID-3.1, to: PID-2.1 }\n"
      "  - delete: { path: PID-19 }\n"
      "  - map:    { path: PID-8, table: sex }\n"
      "  - lua: |\n"
      "      for obx in msg:segments(\"OBX\") do\n"
      "        if obx:get(\"3.3\") == \"\" then obx:set(\"3.3\", \"LN\") end\n"
      "      end\n",
      &tables);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_FALSE(spec->empty());
  ASSERT_EQ(tables->count("sex"), 1u);
  EXPECT_EQ(tables->at("sex").entries.at("M"), "male");
  EXPECT_EQ(tables->at("sex").fallback.value_or(""), "unknown");
  auto pipeline = Pipeline::Compile(*spec, tables);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  EXPECT_FALSE((*pipeline)->empty());
}

TEST(RulesConfig, EmptySectionsLeaveTheSpecEmpty) {
  auto spec = ParseSpec("filter:\ntransform: []\n", nullptr);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_TRUE(spec->empty());
}

TEST(RulesConfig, CsvTable) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("rules_config_test_" + std::to_string(::getpid()) + ".csv");
  {
    std::ofstream out(path);
    out << "# code,display\nM,male\n\"F\",\"fe,male\"\n*,unknown\n";
  }
  std::shared_ptr<Tables> tables;
  auto spec = ParseSpec("tables:\n  sex: { csv: " + path.string() + " }\n", &tables);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(tables->at("sex").entries.at("F"), "fe,male");
  EXPECT_EQ(tables->at("sex").fallback.value_or(""), "unknown");
  {
    std::ofstream out(path);
    out << "M,male\nF\n";
  }
  EXPECT_EQ(
      ErrorOf("tables:\n  sex: { csv: " + path.string() + " }\n"),
      "test.yaml:2: tables.sex.csv: " + path.string() + " line 2: expected two columns: key,value");
  std::filesystem::remove(path);
  EXPECT_EQ(ErrorOf("tables:\n  sex: { csv: /nonexistent/x.csv }\n"),
            "test.yaml:2: tables.sex.csv: cannot read file '/nonexistent/x.csv'");
}

TEST(RulesConfig, TableErrors) {
  EXPECT_EQ(
      ErrorOf("tables:\n  sex: [M, F]\n"),
      "test.yaml:2: tables.sex: must be a mapping { key: value, \"*\": default } or { csv: file }");
  EXPECT_EQ(ErrorOf("tables:\n  sex:\n    M: [male]\n"),
            "test.yaml:3: tables.sex.M: must be a string");
}

TEST(RulesConfig, FilterErrorsNameTheKeyAndLine) {
  EXPECT_EQ(ErrorOf("filter:\n  all:\n    - { path: MSH-9.1, in: [ORU] }\n"
                    "    - { path: PID-3.1, matches: \"[0-9\" }\n"),
            ErrorOf("filter:\n  all:\n    - { path: MSH-9.1, in: [ORU] }\n"
                    "    - { path: PID-3.1, matches: \"[0-9\" }\n"));  // deterministic
  const std::string bad_regex = ErrorOf(
      "filter:\n  all:\n    - { path: MSH-9.1, in: [ORU] }\n    - { path: PID-3.1, matches: "
      "\"[0-9\" }\n");
  EXPECT_EQ(bad_regex.rfind(
                "test.yaml:4: channels[0].filter.all[1].matches: invalid regular expression", 0),
            0u)
      << bad_regex;
  EXPECT_EQ(ErrorOf("filter:\n  { path: PID-3.1 }\n"),
            "test.yaml:2: channels[0].filter: needs a comparison: equals, in, matches, exists, "
            "empty, gt, ge, lt, le, before or after");
  EXPECT_EQ(ErrorOf("filter:\n  { equals: X }\n"),
            "test.yaml:2: channels[0].filter.path: is required");
  EXPECT_EQ(ErrorOf("filter:\n  { path: PID-3.1, equal: X }\n"),
            "test.yaml:2: channels[0].filter.equal: unknown key (expected one of: path, equals, "
            "in, matches, exists, empty, gt, ge, lt, le, before, after, ignore_case)");
  EXPECT_EQ(ErrorOf("filter:\n  any:\n    - { path: XX, equals: X }\n"),
            "test.yaml:3: channels[0].filter.any[0].path: path 'XX': expected a 3-character "
            "segment id");
  EXPECT_EQ(ErrorOf("filter:\n  not:\n    path: PID-7\n    before: 2024133\n"),
            ErrorOf("filter:\n  not:\n    path: PID-7\n    before: 2024133\n"));
  EXPECT_EQ(ErrorOf("filter:\n  not:\n    path: PID-7\n    before: 20241301\n")
                .rfind("test.yaml:4: channels[0].filter.not.before: must be an HL7 date/time", 0),
            0u);
  EXPECT_EQ(ErrorOf("filter:\n  { path: OBX-5, gt: ten }\n"),
            "test.yaml:2: channels[0].filter.gt: must be a number");
  EXPECT_EQ(ErrorOf("filter:\n  all: []\n"),
            "test.yaml:2: channels[0].filter.all: must be a list of at least one rule");
  EXPECT_EQ(ErrorOf("filter:\n  { all: [{ path: PID-8, exists: true }], path: PID-8 }\n"),
            "test.yaml:2: channels[0].filter: 'all' must be the only key of its rule");
}

TEST(RulesConfig, TransformErrorsNameTheKeyAndLine) {
  EXPECT_EQ(ErrorOf("tables:\n  sex: { M: male }\ntransform:\n  - set: { path: MSH-5, value: X }\n"
                    "  - copy: { from: PID-3.1, to: PID-2.1 }\n  - delete: { path: PID-19 }\n"
                    "  - map:\n      path: PID-8\n      table: gender\n"),
            "test.yaml:9: channels[0].transform[3].map.table: no table 'gender' in tables: "
            "(defined: sex)");
  EXPECT_EQ(ErrorOf("transform:\n  - set: { value: X }\n"),
            "test.yaml:2: channels[0].transform[0].set.path: is required");
  EXPECT_EQ(ErrorOf("transform:\n  - set: { path: PID-5, value: X, template: Y }\n"),
            "test.yaml:2: channels[0].transform[0].set.template: give either value or template, "
            "not both");
  EXPECT_EQ(
      ErrorOf("transform:\n  - set: { path: PID-5, template: \"{PID-5.1\" }\n"),
      "test.yaml:2: channels[0].transform[0].set.template: unclosed '{' (write {{ for a brace)");
  EXPECT_EQ(ErrorOf("transform:\n  - upper: { path: PID-5 }\n"),
            "test.yaml:2: channels[0].transform[0].upper: unknown key (expected one of: set, copy, "
            "delete, map, format_date, add_segment, remove_segment, rename_segment, version, lua)");
  EXPECT_EQ(ErrorOf("transform:\n  - { set: { path: PID-5, value: X }, delete: PID-6 }\n"),
            "test.yaml:2: channels[0].transform[0]: must be one step: set, copy, delete, map, "
            "format_date, add_segment, remove_segment, rename_segment, version or lua");
  EXPECT_EQ(ErrorOf("transform:\n  - format_date: { path: PID-7, to: \"%Q\" }\n"),
            "test.yaml:2: channels[0].transform[0].format_date.to: unknown conversion %Q (known: "
            "%Y %y %m %d %H %M %S %f %z %Z %%)");
  EXPECT_EQ(ErrorOf("transform:\n  - format_date: { path: PID-7, precision: week }\n"),
            "test.yaml:2: channels[0].transform[0].format_date.precision: must be one of year, "
            "month, day, hour, minute, second, fraction");
  EXPECT_EQ(ErrorOf("transform:\n  - add_segment: \"nte|1\"\n"),
            "test.yaml:2: channels[0].transform[0].add_segment: must start with a 3-character "
            "segment id, e.g. NTE|1||text");
  EXPECT_EQ(ErrorOf("transform:\n  - remove_segment: MSH\n"),
            "test.yaml:2: channels[0].transform[0].remove_segment: MSH cannot be removed");
  EXPECT_EQ(ErrorOf("transform:\n  - rename_segment: { from: ZPI }\n"),
            "test.yaml:2: channels[0].transform[0].rename_segment.to: is required");
  EXPECT_EQ(ErrorOf("transform:\n  - version: \"2|5\"\n"),
            "test.yaml:2: channels[0].transform[0].version: must be a version id such as 2.5.1");
  EXPECT_EQ(ErrorOf("transform:\n  - set: { path: MSH-2, value: X }\n"),
            "test.yaml:2: channels[0].transform[0].set.path: MSH-1 and MSH-2 are the delimiters "
            "and cannot be changed");
}

TEST(RulesConfig, LuaSyntaxErrorsPointAtTheFileLine) {
  // Block scalar: the script starts on line 4; its line 2 is file line 5.
  EXPECT_EQ(ErrorOf("transform:\n  - set: { path: MSH-5, value: X }\n  - lua: |\n"
                    "      local a = 1\n      local = 2\n"),
            "test.yaml:5: channels[0].transform[1].lua: lua syntax error: line 2: <name> "
            "expected near '='");
  // Inline: same line as the key.
  EXPECT_EQ(ErrorOf("filter:\n  lua: \"return (\"\n"),
            "test.yaml:2: channels[0].filter.lua: lua syntax error: line 1: unexpected symbol "
            "near <eof>");
}

}  // namespace
}  // namespace junction::engine
