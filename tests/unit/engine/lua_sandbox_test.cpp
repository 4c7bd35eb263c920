// Lua steps and predicates: the message API, and the sandbox: refused
// libraries, limits, and a Pipeline that stays usable after a script failed.
#include <gtest/gtest.h>

#include "engine/internal/lua_sandbox.h"
#include "rules_test_util.h"

namespace junction::engine {
namespace {

using testing::Build;
using testing::LabResult;
using Kind = StageResult::Kind;

std::string Indent(const std::string& script) {
  std::string out = "      ";
  for (char c : script) {
    out.push_back(c);
    if (c == '\n') out += "      ";
  }
  return out + "\n";
}

std::string LuaStep(const std::string& script) {
  return "transform:\n  - set: { path: MSH-5, value: BEFORE }\n  - lua: |\n" + Indent(script);
}

class LuaTest : public ::testing::Test {
 protected:
  void Compile(const std::string& script, LuaLimits limits = {}) {
    auto pipeline = Build(LuaStep(script), limits);
    ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
    pipeline_ = std::move(pipeline).value();
  }
  StageResult Run() {
    message_ = LabResult();
    MessageContext context;
    context.message_id = 42;
    context.channel = "lab";
    context.destination = "ehr";
    context.peer = "127.0.0.1:5000";
    context.received_at_us = 1700000000123456;
    return pipeline_->Run(&message_, context);
  }
  // The script fails with kError and `reason`; then a harmless run still works.
  void ExpectErrorThenRecovery(const std::string& reason_part) {
    StageResult r = Run();
    EXPECT_EQ(r.kind, Kind::kError) << r.reason;
    EXPECT_NE(r.reason.find(reason_part), std::string::npos) << r.reason;
    EXPECT_EQ(r.reason.rfind("transform[1] (lua): ", 0), 0u) << r.reason;
  }

  std::unique_ptr<Pipeline> pipeline_;
  hl7::Message message_ = LabResult();
};

TEST_F(LuaTest, MessageApi) {
  Compile(
      "assert(msg:get('PID-5.1') == 'DOE')\n"
      "assert(msg:get('PID-99') == '')\n"
      "msg:set('PID-5.2', 'JO|AN')\n"
      "assert(msg:get_raw('PID-5.2') == 'JO\\\\F\\\\AN')\n"
      "msg:set_raw('PID-9', 'A^B')\n"
      "msg:delete('PID-11')\n"
      "assert(msg:count('PID-3') == 2)\n"
      "local n = 0\n"
      "for obx in msg:segments('OBX') do\n"
      "  n = n + 1\n"
      "  if obx:get('3.3') == '' then obx:set('3.3', 'LN') end\n"
      "end\n"
      "assert(n == 2)\n"
      "local ids = {}\n"
      "for seg in msg:segments() do ids[#ids + 1] = seg:id() end\n"
      "assert(table.concat(ids, ',') == 'MSH,PID,OBR,OBX,OBX,NTE')\n"
      "local added = msg:add_segment('ZZ1|1|x', 3)\n"
      "assert(added:index() == 3 and added:get('2') == 'x')\n"
      "assert(msg:remove_segment('NTE') == 1)\n"
      "assert(msg:segment('OBX', 2):get('1') == '2')\n"
      "assert(msg:segment('OBX', 3) == nil)\n"
      "assert(msg:raw():sub(1, 4) == 'MSH|')\n"
      "assert(msg:segment_count() == 6)\n");
  StageResult r = Run();
  ASSERT_EQ(r.kind, Kind::kPass) << r.reason;
  EXPECT_EQ(message_.Get("MSH-5"), "BEFORE");  // earlier steps ran first
  EXPECT_EQ(message_.Get("PID-5.2"), "JO|AN");
  EXPECT_EQ(message_.Get("PID-9.2"), "B");
  EXPECT_EQ(message_.Get("PID-11"), "");
  EXPECT_EQ(message_.Get("OBX[1]-3.3"), "LN");
  EXPECT_EQ(message_.Get("OBX[2]-3.3"), "LN");
  EXPECT_EQ(message_.SegmentId(2), "ZZ1");
  EXPECT_EQ(message_.FindSegment("NTE"), -1);
}

TEST_F(LuaTest, MetaLookupAndLog) {
  auto pipeline = Build(
      "tables:\n  sex: { F: female, \"*\": unknown }\n"
      "transform:\n  - lua: |\n"
      "      assert(meta.id == 42 and meta.channel == 'lab' and meta.destination == 'ehr')\n"
      "      assert(meta.peer == '127.0.0.1:5000' and meta.received_at == 1700000000123456)\n"
      "      assert(lookup('sex', 'F') == 'female')\n"
      "      assert(lookup('sex', 'Z') == 'unknown')\n"
      "      assert(lookup('sex', 'Z', 'mine') == 'mine')\n"
      "      log('checked', 1, true)\n"
      "      msg:set('PID-8', lookup('sex', msg:get('PID-8')))\n");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  pipeline_ = std::move(pipeline).value();
  StageResult r = Run();
  ASSERT_EQ(r.kind, Kind::kPass) << r.reason;
  EXPECT_EQ(message_.Get("PID-8"), "female");
}

TEST_F(LuaTest, UnknownTableIsAScriptError) {
  Compile("return lookup('nope', 'x')");
  ExpectErrorThenRecovery("line 1: lookup: no table 'nope'");
}

TEST_F(LuaTest, FilterAndDropStopTheMessage) {
  Compile(
      "if msg:get('MSH-9.1') == 'ORU' then filter('lab results go elsewhere') end\n"
      "msg:set('MSH-6', 'NOT REACHED')");
  StageResult r = Run();
  EXPECT_EQ(r.kind, Kind::kFiltered);
  EXPECT_EQ(r.reason, "transform[1] (lua): filter(): lab results go elsewhere");
  Compile("pcall(drop)  -- catching it changes nothing\n");
  r = Run();
  EXPECT_EQ(r.kind, Kind::kFiltered);
  EXPECT_EQ(r.reason, "transform[1] (lua): drop()");
}

TEST_F(LuaTest, ErrorsCarryTheLineNumber) {
  Compile("local a = 1\nlocal b = nil\nreturn b.field\n");
  ExpectErrorThenRecovery("line 3: attempt to index a nil value (local 'b')");
  Compile("msg:get('NOT A PATH')");
  ExpectErrorThenRecovery("line 1: path 'NOT A PATH'");
  Compile("error({})");
  ExpectErrorThenRecovery("error object is a table value");
}

TEST_F(LuaTest, LuaFilterPredicate) {
  auto pipeline = Build(
      "filter:\n  all:\n    - { path: MSH-9.1, equals: ORU }\n"
      "    - lua: \"return tonumber(msg:get('OBX-5')) > 200\"\n");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status().message();
  pipeline_ = std::move(pipeline).value();
  StageResult r = Run();
  EXPECT_EQ(r.kind, Kind::kFiltered);
  EXPECT_EQ(r.reason, "filter.all[1] (lua): returned false");
  pipeline = Build("filter:\n  lua: \"msg:set('PID-8', 'M') return true\"\n");
  ASSERT_TRUE(pipeline.ok());
  pipeline_ = std::move(pipeline).value();
  r = Run();
  EXPECT_EQ(r.kind, Kind::kError);
  EXPECT_NE(r.reason.find("a filter script cannot change the message"), std::string::npos);
}

// ---- sandbox ----

TEST_F(LuaTest, DangerousLibrariesAreAbsent) {
  for (const char* script :
       {"os.execute('true')", "io.open('/etc/passwd')", "require('os')",
        "package.loadlib('x', 'y')", "debug.getinfo(1)", "dofile('/etc/passwd')",
        "loadfile('/etc/passwd')", "string.dump(print)", "collectgarbage('stop')",
        "getmetatable('').__index.dump(print)"}) {
    SCOPED_TRACE(script);
    Compile(script);
    ExpectErrorThenRecovery("line 1: attempt to");
    // The next message still runs.
    Compile("msg:set('PID-8', 'ok')");
    ASSERT_EQ(Run().kind, Kind::kPass);
  }
}

TEST_F(LuaTest, LoadReadsTextOnlyIntoTheSandbox) {
  Compile("local f = assert(load('return os'))\nassert(f() == nil)\nreturn 1");
  ASSERT_EQ(Run().kind, Kind::kPass);
  // A binary chunk (the header of Lua 5.4 bytecode) is refused.
  Compile("local f, err = load('\\27LuaT\\0')\nerror(err)");
  ExpectErrorThenRecovery("attempt to load a binary chunk");
}

TEST_F(LuaTest, InfiniteLoopStopsAndThePipelineStaysUsable) {
  LuaLimits limits;
  limits.max_instructions = 1'000'000;
  Compile("if msg:get('PID-8') == 'F' then while true do end end", limits);
  ExpectErrorThenRecovery("instruction limit exceeded (1000000)");
  ExpectErrorThenRecovery("instruction limit exceeded");  // budget is per message
}

TEST_F(LuaTest, CatchingTheLimitWithPcallDoesNotHelp) {
  LuaLimits limits;
  limits.max_instructions = 100'000;
  Compile("while true do pcall(function() while true do end end) end", limits);
  ExpectErrorThenRecovery("instruction limit exceeded");
  Compile("local co = coroutine.wrap(function() while true do end end)\nco()", limits);
  ExpectErrorThenRecovery("instruction limit exceeded");
}

TEST_F(LuaTest, StringRepBombHitsTheMemoryLimit) {
  LuaLimits limits;
  limits.max_memory_bytes = 8u << 20;
  Compile("local s = string.rep('x', 1 << 30)\nreturn #s", limits);
  ExpectErrorThenRecovery("memory");
  Compile("local t = {}\nfor i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end", limits);
  ExpectErrorThenRecovery("memory");
  Compile("msg:set('PID-8', ('y'):rep(10))", limits);
  ASSERT_EQ(Run().kind, Kind::kPass);
  EXPECT_EQ(message_.Get("PID-8"), "yyyyyyyyyy");
}

TEST_F(LuaTest, EndlessMessageEditsAreBounded) {
  LuaLimits limits;
  limits.max_memory_bytes = 4u << 20;
  limits.max_instructions = 100'000'000;
  Compile("local v = ('z'):rep(100000)\nfor i = 1, 1e7 do msg:set('NTE-3', v) end", limits);
  ExpectErrorThenRecovery("too many message changes");
}

TEST_F(LuaTest, GlobalsStayInTheScriptsOwnEnvironment) {
  auto pipeline = Build(
      "transform:\n"
      "  - lua: \"string.upper = nil; x = 1\"\n"
      "  - lua: \"assert(string.upper('a') == 'A'); assert(x == nil)\"\n");
  ASSERT_TRUE(pipeline.ok());
  pipeline_ = std::move(pipeline).value();
  StageResult r = Run();
  EXPECT_EQ(r.kind, Kind::kPass) << r.reason;
}

TEST(LuaSyntax, ReportsLine) {
  auto error = internal::CheckLuaSyntax("local a = 1\nlocal = 2\n");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->line, 2);
  EXPECT_NE(error->reason.find("near '='"), std::string::npos) << error->reason;
  EXPECT_FALSE(internal::CheckLuaSyntax("return 1").has_value());
}

}  // namespace
}  // namespace junction::engine
