#include "junction/profile/profile_yaml.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "junction/hl7/message.h"
#include "junction/hl7/validate.h"

namespace junction::profile {
namespace {

const char kProfile[] = R"(name: adt-a01-strict
message_type: ADT^A01
version: "2.5.1"      # optional
segments:
  - { segment: PV1, min: 1, max: 1 }
fields:
  - { path: PID-3, required: true, min_repetitions: 1 }
  - { path: PID-8, allowed: [F, M, U] }
  - { path: PID-7, required: true, pattern: "^[0-9]{8}" }
)";

const char kAdt[] =
    "MSH|^~\\&|SEND|FAC|RECV|RFAC|20260101120000||ADT^A01^ADT_A01|CTRL1|P|2.5.1\r"
    "EVN|A01|20260101120000\r"
    "PID|1||123^^^HOSP^MR||DOE^JOHN||19800101|X\r"
    "PV1|1|I\r";

std::string ErrorOf(std::string_view yaml) {
  auto p = ParseProfileYaml(yaml, "p.yaml");
  EXPECT_FALSE(p.ok()) << yaml;
  return p.ok() ? std::string() : p.status().message();
}

TEST(ProfileYamlTest, ParsesTheDocumentedExample) {
  auto p = ParseProfileYaml(kProfile, "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->name, "adt-a01-strict");
  EXPECT_EQ(p->message_type, "ADT^A01");
  EXPECT_EQ(p->version, "2.5.1");
  ASSERT_EQ(p->segments.size(), 1u);
  EXPECT_EQ(p->segments[0].segment, "PV1");
  EXPECT_EQ(p->segments[0].min, 1);
  EXPECT_EQ(p->segments[0].max, 1);
  ASSERT_EQ(p->fields.size(), 3u);
  EXPECT_EQ(p->fields[0].path, "PID-3");
  EXPECT_TRUE(p->fields[0].required);
  EXPECT_EQ(p->fields[0].min_repetitions, 1);
  EXPECT_EQ(p->fields[1].allowed, (std::set<std::string>{"F", "M", "U"}));
  EXPECT_EQ(p->fields[2].pattern, "^[0-9]{8}");
  EXPECT_NE(p->compiled, nullptr);  // ready to use
}

TEST(ProfileYamlTest, LoadedProfileDrivesValidation) {
  auto p = ParseProfileYaml(kProfile, "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto msg = hl7::Message::Parse(kAdt);
  ASSERT_TRUE(msg.ok());
  hl7::ValidationOptions options;
  options.profile = &*p;
  hl7::ValidationReport r = hl7::Validate(*msg, options);
  bool sex = false;
  for (const hl7::Finding& f : r.findings) {
    if (f.path == "PID-8" && f.code == 103 && f.severity == hl7::Severity::kError) sex = true;
  }
  EXPECT_TRUE(sex);
  EXPECT_FALSE(r.ok());
}

TEST(ProfileYamlTest, UnknownKeyNamesFileLineAndKey) {
  std::string e = ErrorOf("name: x\nfields:\n  - { path: PID-3, requird: true }\n");
  EXPECT_EQ(e.rfind("p.yaml:3: requird: unknown key", 0), 0u) << e;
  e = ErrorOf("name: x\ncolour: blue\n");
  EXPECT_EQ(e.rfind("p.yaml:2: colour: unknown key", 0), 0u) << e;
  e = ErrorOf("name: x\nsegments:\n  - segment: PV1\n    mni: 1\n");
  EXPECT_EQ(e.rfind("p.yaml:4: mni: unknown key", 0), 0u) << e;
}

TEST(ProfileYamlTest, BadValuesNameFileLineAndKey) {
  std::string e = ErrorOf("name: x\nfields:\n  - { path: PID-3, required: maybe }\n");
  EXPECT_EQ(e, "p.yaml:3: required: expected true or false");
  e = ErrorOf("name: x\nsegments:\n  - { segment: PV1, min: -1 }\n");
  EXPECT_EQ(e.rfind("p.yaml:3: min: expected a whole number", 0), 0u) << e;
  e = ErrorOf("name: x\nsegments:\n  - { segment: PV1, min: 2, max: 1 }\n");
  EXPECT_EQ(e.rfind("p.yaml:3: min: ", 0), 0u) << e;
  e = ErrorOf("name: x\nfields:\n  - path: PID-3\n    allowed: F\n");
  EXPECT_EQ(e.rfind("p.yaml:4: allowed: expected a non-empty list", 0), 0u) << e;
  e = ErrorOf("name: x\nfields:\n  - path: PID-7\n    pattern: \"([0-9\"\n");
  EXPECT_EQ(e.rfind("p.yaml:4: pattern: not a valid regular expression", 0), 0u) << e;
  e = ErrorOf("name: x\nfields:\n  -\n    path: PID\n");
  EXPECT_EQ(e.rfind("p.yaml:4: path: ", 0), 0u) << e;
  e = ErrorOf("name: x\nfields:\n  - { required: true }\n");
  EXPECT_EQ(e.rfind("p.yaml:3: path: missing", 0), 0u) << e;
  e = ErrorOf("name: x\nversion: \"3.1\"\n");
  EXPECT_EQ(e.rfind("p.yaml:2: version: unknown HL7 version", 0), 0u) << e;
  e = ErrorOf("name: x\nmessage_type: ADMIT^A01\n");
  EXPECT_EQ(e.rfind("p.yaml:2: message_type: ", 0), 0u) << e;
  e = ErrorOf("name: x\nfields: PID-3\n");
  EXPECT_EQ(e.rfind("p.yaml:2: fields: expected a list", 0), 0u) << e;
  e = ErrorOf("name: [x]\n");
  EXPECT_EQ(e.rfind("p.yaml:1: name: expected a text value", 0), 0u) << e;
  e = ErrorOf("name: x\nname: y\n");
  EXPECT_EQ(e.rfind("p.yaml:2: name: given twice", 0), 0u) << e;
}

TEST(ProfileYamlTest, MalformedYamlAndEmptyInput) {
  std::string e = ErrorOf("name: x\nfields: [ { path: PID-3\n");
  EXPECT_EQ(e.rfind("p.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
  e = ErrorOf("");
  EXPECT_NE(e.find("empty profile"), std::string::npos) << e;
  e = ErrorOf("- a\n- b\n");
  EXPECT_NE(e.find("expected a mapping"), std::string::npos) << e;
  e = ErrorOf("fields: []\n");
  EXPECT_NE(e.find("name: missing"), std::string::npos) << e;
}

TEST(ProfileYamlTest, LoadsFilesAndReportsMissingOnes) {
  auto missing = LoadProfileYaml("/nonexistent/dir/p.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);

  const char* root = std::getenv("JUNCTION_SOURCE_DIR");
  std::filesystem::path example =
      std::filesystem::path(root != nullptr ? root : ".") / "examples/profiles/adt_a01_strict.yaml";
  auto p = LoadProfileYaml(example.string());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->name, "adt-a01-strict");
  EXPECT_FALSE(p->fields.empty());

  auto msg = hl7::Message::Parse(kAdt);
  ASSERT_TRUE(msg.ok());
  hl7::ValidationOptions options;
  options.profile = &*p;
  hl7::ValidationReport r = hl7::Validate(*msg, options);
  EXPECT_FALSE(r.ok());  // PID-8 "X" is not allowed; MSH-4 is present
}

}  // namespace
}  // namespace junction::profile
