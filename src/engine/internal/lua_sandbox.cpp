// LuaSandbox (lua_sandbox.h): the Lua state, its sandboxed environments and
// the message API (msg, segments, lookup, log, filter/drop, meta).
//
// Lua is C and reports errors with longjmp, which skips C++ destructors. So
// every C function below does its C++ work (strings, Status, maps) in helpers
// that return before any Lua call that may raise, and keeps the text it needs
// across such calls in Impl members, never in locals.
#include "engine/internal/lua_sandbox.h"

#include <spdlog/spdlog.h>
#include <lua.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

namespace junction::engine::internal {
namespace {

constexpr int kHookEvery = 1000;             // instructions between count hooks
constexpr std::size_t kMaxLogBytes = 1024;   // one log() line
constexpr std::size_t kMaxPathCache = 4096;  // distinct paths remembered per state
constexpr const char* kMessageType = "junction.message";
constexpr const char* kSegmentType = "junction.segment";

// A segment as seen by scripts: the n-th segment with this id.
struct SegmentRef {
  char id[4];
  int occurrence;
};

// The base functions a script may use (the rest of the base library is left out).
constexpr const char* kSafeGlobals[] = {
    "assert",       "error",    "ipairs",   "next",   "pairs",  "pcall",
    "rawequal",     "rawget",   "rawlen",   "rawset", "select", "setmetatable",
    "getmetatable", "tonumber", "tostring", "type",   "xpcall", "_VERSION"};
constexpr const char* kSafeLibraries[] = {"string", "table", "math", "utf8", "coroutine"};

}  // namespace

struct LuaSandbox::Impl {
  lua_State* L = nullptr;
  LuaLimits limits;
  std::shared_ptr<const Tables> tables;
  std::size_t memory_used = 0;
  std::uint64_t instructions = 0;
  bool limit_hit = false;

  hl7::Message* message = nullptr;
  const MessageContext* context = nullptr;
  bool meta_dirty = false;
  bool read_only = false;
  bool filtered = false;
  std::string filter_reason;
  int current_chunk = 0;
  std::size_t edit_bytes = 0;  // bytes of segment text rewritten by scripts for this message

  std::vector<std::pair<int, std::string>> chunk_names;  // registry ref -> "transform[4]"
  std::unordered_map<std::string, hl7::Path> path_cache;
  int msg_ref = LUA_NOREF;
  int meta_ref = LUA_NOREF;

  // Text kept across Lua calls that may raise (see the file comment).
  std::string key;
  std::string scratch;
  std::string error;

  const std::string& ChunkName() const {
    static const std::string kNone = "lua";
    for (const auto& [ref, name] : chunk_names) {
      if (ref == current_chunk) return name;
    }
    return kNone;
  }
};

namespace {

using Impl = LuaSandbox::Impl;

Impl* ImplOf(lua_State* L) { return *static_cast<Impl**>(lua_getextraspace(L)); }

void* Allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* impl = static_cast<Impl*>(ud);
  const std::size_t old = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    std::free(ptr);
    impl->memory_used -= old;
    return nullptr;
  }
  if (nsize > old && impl->memory_used - old + nsize > impl->limits.max_memory_bytes) {
    return nullptr;  // Lua raises "not enough memory" (LUA_ERRMEM)
  }
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) return nullptr;
  impl->memory_used = impl->memory_used - old + nsize;
  return p;
}

// Count hook: charges the instructions since the last call. Once the budget is
// spent it fires on every instruction, so a script catching the error with
// pcall is stopped again at its next instruction.
void Hook(lua_State* L, lua_Debug*) {
  Impl* impl = ImplOf(L);
  impl->instructions += static_cast<std::uint64_t>(lua_gethookcount(L));
  if (impl->instructions <= impl->limits.max_instructions) return;
  impl->limit_hit = true;
  lua_sethook(L, Hook, LUA_MASKCOUNT, 1);
  lua_pushfstring(L, "instruction limit exceeded (%I instructions)",
                  static_cast<lua_Integer>(impl->limits.max_instructions));
  lua_error(L);
}

// Raises impl->error, prefixed with the script position.
int RaiseError(lua_State* L, Impl* impl) {
  luaL_where(L, 1);
  lua_pushlstring(L, impl->error.data(), impl->error.size());
  lua_concat(L, 2);
  return lua_error(L);
}

bool SetError(Impl* impl, std::string_view a, std::string_view b = {}) {
  try {
    impl->error.assign(a);
    impl->error.append(b);
  } catch (...) {
  }
  return false;
}

// ---- Paths ----

// Parses impl->key (cached). Returns nullptr with impl->error set.
const hl7::Path* ParseKeyPath(Impl* impl) {
  try {
    auto it = impl->path_cache.find(impl->key);
    if (it != impl->path_cache.end()) return &it->second;
    auto parsed = hl7::Path::Parse(impl->key);
    if (!parsed.ok()) {
      SetError(impl, parsed.status().message());
      return nullptr;
    }
    if (impl->path_cache.size() >= kMaxPathCache) impl->path_cache.clear();
    return &impl->path_cache.emplace(impl->key, *parsed).first->second;
  } catch (...) {
    SetError(impl, "out of memory");
    return nullptr;
  }
}

bool PathFromText(Impl* impl, const char* prefix, std::string_view text, hl7::Path* out) {
  try {
    impl->key.assign(prefix);
    impl->key.append(text);
  } catch (...) {
    return SetError(impl, "out of memory");
  }
  const hl7::Path* path = ParseKeyPath(impl);
  if (path == nullptr) return false;
  *out = *path;
  return true;
}

bool RequireMessage(Impl* impl) {
  if (impl->message != nullptr) return true;
  return SetError(impl, "msg is only available while a message is processed");
}

bool RequireWritable(Impl* impl) {
  if (!RequireMessage(impl)) return false;
  if (!impl->read_only) return true;
  return SetError(impl, "a filter script cannot change the message");
}

// Charges a change of the segment `id`[occurrence] to the per-message budget
// (each change rewrites the segment, so repeated edits cost real memory
// outside Lua's own heap).
bool ChargeEdit(Impl* impl, std::string_view id, int occurrence, std::size_t extra) {
  const int index = impl->message->FindSegment(id, occurrence < 1 ? 1 : occurrence);
  std::size_t bytes = extra + 64;
  if (index >= 0) bytes += impl->message->SegmentText(static_cast<std::size_t>(index)).size();
  impl->edit_bytes += bytes;
  if (impl->edit_bytes <= impl->limits.max_memory_bytes) return true;
  return SetError(impl, "too many message changes for one message (memory limit)");
}

// The decoded value at the path into impl->scratch; false when absent.
bool ValueAt(Impl* impl, const hl7::Path& path, bool raw) {
  try {
    auto value = impl->message->GetRaw(path);
    if (!value) {
      impl->scratch.clear();
      return false;
    }
    const bool plain =
        raw || std::none_of(value->begin(), value->end(), [&](char c) {
          return c == impl->message->delimiters().escape || static_cast<unsigned char>(c) >= 0x80;
        });
    if (plain) {
      impl->scratch.assign(*value);
    } else {
      impl->scratch = impl->message->GetDecoded(path).value_or(std::string());
    }
    return true;
  } catch (...) {
    impl->scratch.clear();
    return false;
  }
}

bool Edit(Impl* impl, const hl7::Path& path, std::optional<std::string_view> value, bool raw) {
  try {
    if (!ChargeEdit(impl, path.SegmentId(), path.occurrence, value ? value->size() : 0)) {
      return false;
    }
    Status status = !value ? impl->message->Delete(path)
                    : raw  ? impl->message->SetRaw(path, *value)
                           : impl->message->Set(path, *value);
    if (!status.ok()) return SetError(impl, path.ToString() + ": ", status.message());
    return true;
  } catch (...) {
    return SetError(impl, "out of memory");
  }
}

// ---- msg ----

int MsgGetImpl(lua_State* L, bool raw) {
  Impl* impl = ImplOf(L);
  luaL_checkudata(L, 1, kMessageType);
  std::size_t len = 0;
  const char* text = luaL_checklstring(L, 2, &len);
  hl7::Path path;
  if (!RequireMessage(impl) || !PathFromText(impl, "", std::string_view(text, len), &path)) {
    return RaiseError(L, impl);
  }
  ValueAt(impl, path, raw);
  lua_pushlstring(L, impl->scratch.data(), impl->scratch.size());
  return 1;
}
int MsgGet(lua_State* L) { return MsgGetImpl(L, false); }
int MsgGetRaw(lua_State* L) { return MsgGetImpl(L, true); }

// Value argument of set: string or number; nil deletes.
std::optional<std::string_view> ValueArg(lua_State* L, int index) {
  if (lua_isnoneornil(L, index)) return std::nullopt;
  if (lua_type(L, index) != LUA_TSTRING && lua_type(L, index) != LUA_TNUMBER) {
    luaL_typeerror(L, index, "string, number or nil");
  }
  std::size_t len = 0;
  const char* s = lua_tolstring(L, index, &len);
  return std::string_view(s, len);
}

int MsgSetImpl(lua_State* L, bool raw) {
  Impl* impl = ImplOf(L);
  luaL_checkudata(L, 1, kMessageType);
  std::size_t len = 0;
  const char* text = luaL_checklstring(L, 2, &len);
  const std::optional<std::string_view> value = ValueArg(L, 3);
  hl7::Path path;
  if (!RequireWritable(impl) || !PathFromText(impl, "", std::string_view(text, len), &path) ||
      !Edit(impl, path, value, raw)) {
    return RaiseError(L, impl);
  }
  return 0;
}
int MsgSet(lua_State* L) { return MsgSetImpl(L, false); }
int MsgSetRaw(lua_State* L) { return MsgSetImpl(L, true); }

int MsgDelete(lua_State* L) {
  Impl* impl = ImplOf(L);
  luaL_checkudata(L, 1, kMessageType);
  std::size_t len = 0;
  const char* text = luaL_checklstring(L, 2, &len);
  hl7::Path path;
  if (!RequireWritable(impl) || !PathFromText(impl, "", std::string_view(text, len), &path) ||
      !Edit(impl, path, std::nullopt, false)) {
    return RaiseError(L, impl);
  }
  return 0;
}

int MsgCount(lua_State* L) {
  Impl* impl = ImplOf(L);
  luaL_checkudata(L, 1, kMessageType);
  std::size_t len = 0;
  const char* text = luaL_checklstring(L, 2, &len);
  hl7::Path path;
  if (!RequireMessage(impl) || !PathFromText(impl, "", std::string_view(text, len), &path)) {
    return RaiseError(L, impl);
  }
  lua_pushinteger(L, impl->message->Count(path));
  return 1;
}

void PushSegment(lua_State* L, std::string_view id, int occurrence) {
  auto* ref = static_cast<SegmentRef*>(lua_newuserdatauv(L, sizeof(SegmentRef), 0));
  std::memset(ref->id, 0, sizeof ref->id);
  std::memcpy(ref->id, id.data(), std::min<std::size_t>(id.size(), 3));
  ref->occurrence = occurrence;
  luaL_setmetatable(L, kSegmentType);
}

// Occurrence (1-based) of the segment at `index` among those with its id.
int OccurrenceOf(const hl7::Message& m, std::size_t index) {
  int n = 0;
  const std::string_view id = m.SegmentId(index);
  for (std::size_t i = 0; i <= index; ++i) n += m.SegmentId(i) == id;
  return n;
}

// Iterator of msg:segments([id]): upvalue 1 = id or nil, upvalue 2 = next position.
int SegmentsNext(lua_State* L) {
  Impl* impl = ImplOf(L);
  if (!RequireMessage(impl)) return RaiseError(L, impl);
  const lua_Integer n = lua_tointeger(L, lua_upvalueindex(2));
  const hl7::Message& m = *impl->message;
  if (lua_isnil(L, lua_upvalueindex(1))) {
    if (n < 1 || static_cast<std::size_t>(n) > m.SegmentCount()) return 0;
    const std::size_t index = static_cast<std::size_t>(n - 1);
    PushSegment(L, m.SegmentId(index), OccurrenceOf(m, index));
  } else {
    std::size_t len = 0;
    const char* id = lua_tolstring(L, lua_upvalueindex(1), &len);
    if (m.FindSegment(std::string_view(id, len), static_cast<int>(n)) < 0) return 0;
    PushSegment(L, std::string_view(id, len), static_cast<int>(n));
  }
  lua_pushinteger(L, n + 1);
  lua_replace(L, lua_upvalueindex(2));
  return 1;
}

int MsgSegments(lua_State* L) {
  luaL_checkudata(L, 1, kMessageType);
  if (lua_isnoneornil(L, 2)) {
    lua_pushnil(L);
  } else {
    std::size_t len = 0;
    luaL_checklstring(L, 2, &len);
    luaL_argcheck(L, len == 3, 2, "a segment id has 3 characters");
    lua_pushvalue(L, 2);
  }
  lua_pushinteger(L, 1);
  lua_pushcclosure(L, SegmentsNext, 2);
  return 1;
}

// msg:segment(id [, n]): the n-th segment with this id, or nil.
int MsgSegment(lua_State* L) {
  Impl* impl = ImplOf(L);
  luaL_checkudata(L, 1, kMessageType);
  std::size_t len = 0;
  const char* id = luaL_checklstring(L, 2, &len);
  const lua_Integer n = luaL_optinteger(L, 3, 1);
  if (!RequireMessage(impl)) return RaiseError(L, impl);
  if (len != 3 || n < 1 || n > INT32_MAX ||
      impl->message->FindSegment(std::string_view(id, len), static_cast<int>(n)) < 0) {
    lua_pushnil(L);
    return 1;
  }
  PushSegment(L, std::string_view(id, len), static_cast<int>(n));
  return 1;
}

int MsgSegmentCount(lua_State* L) {
  Impl* impl = ImplOf(L);
  luaL_checkudata(L, 1, kMessageType);
  if (!RequireMessage(impl)) return RaiseError(L, impl);
  lua_pushinteger(L, static_cast<lua_Integer>(impl->message->SegmentCount()));
  return 1;
}

bool InsertSegment(Impl* impl, std::size_t index, std::string_view raw) {
  try {
    if (raw.size() < 3) return SetError(impl, "a segment starts with a 3-character id");
    impl->edit_bytes += raw.size() + 64;
    if (impl->edit_bytes > impl->limits.max_memory_bytes) {
      return SetError(impl, "too many message changes for one message (memory limit)");
    }
    Status status = impl->message->InsertSegment(index, raw);
    if (!status.ok()) return SetError(impl, "add_segment: ", status.message());
    return true;
  } catch (...) {
    return SetError(impl, "out of memory");
  }
}

// msg:add_segment(raw [, position]): position is the 1-based index the new
// segment gets (2 .. count+1); the default appends.
int MsgAddSegment(lua_State* L) {
  Impl* impl = ImplOf(L);
  luaL_checkudata(L, 1, kMessageType);
  std::size_t len = 0;
  const char* raw = luaL_checklstring(L, 2, &len);
  if (!RequireWritable(impl)) return RaiseError(L, impl);
  const lua_Integer count = static_cast<lua_Integer>(impl->message->SegmentCount());
  const lua_Integer position = luaL_optinteger(L, 3, count + 1);
  luaL_argcheck(L, position >= 2 && position <= count + 1, 3, "position out of range");
  const std::size_t index = static_cast<std::size_t>(position - 1);
  if (!InsertSegment(impl, index, std::string_view(raw, len))) return RaiseError(L, impl);
  PushSegment(L, impl->message->SegmentId(index), OccurrenceOf(*impl->message, index));
  return 1;
}

bool RemoveSegments(Impl* impl, const hl7::Path& path, bool all, int* removed) {
  if (path.field != 0)
    return SetError(impl, "remove_segment takes a segment, e.g. \"NTE\" or \"NTE[2]\"");
  const std::string_view id = path.SegmentId();
  if (id == "MSH") return SetError(impl, "the MSH segment cannot be removed");
  try {
    for (int occurrence = all ? impl->message->CountSegments(id) : path.occurrence; occurrence >= 1;
         --occurrence) {
      const int index = impl->message->FindSegment(id, occurrence);
      if (index >= 0) {
        Status status = impl->message->DeleteSegment(static_cast<std::size_t>(index));
        if (!status.ok()) return SetError(impl, status.message());
        ++*removed;
      }
      if (!all) break;
    }
    return true;
  } catch (...) {
    return SetError(impl, "out of memory");
  }
}

// msg:remove_segment(x): x is a segment object, a 1-based index, "NTE" (every
// NTE) or "NTE[2]" (the second). Returns how many were removed.
int MsgRemoveSegment(lua_State* L) {
  Impl* impl = ImplOf(L);
  luaL_checkudata(L, 1, kMessageType);
  if (!RequireWritable(impl)) return RaiseError(L, impl);
  int removed = 0;
  if (auto* ref = static_cast<SegmentRef*>(luaL_testudata(L, 2, kSegmentType))) {
    hl7::Path path;
    std::memcpy(path.segment, ref->id, 4);
    path.occurrence = ref->occurrence;
    if (!RemoveSegments(impl, path, false, &removed)) return RaiseError(L, impl);
  } else if (lua_type(L, 2) == LUA_TNUMBER) {
    const lua_Integer index = luaL_checkinteger(L, 2);
    if (index == 1) {
      SetError(impl, "the MSH segment cannot be removed");
      return RaiseError(L, impl);
    }
    if (index >= 2 && static_cast<std::size_t>(index) <= impl->message->SegmentCount()) {
      if (!impl->message->DeleteSegment(static_cast<std::size_t>(index - 1)).ok()) {
        SetError(impl, "segment cannot be removed");
        return RaiseError(L, impl);
      }
      removed = 1;
    }
  } else {
    std::size_t len = 0;
    const char* text = luaL_checklstring(L, 2, &len);
    hl7::Path path;
    if (!PathFromText(impl, "", std::string_view(text, len), &path)) return RaiseError(L, impl);
    const bool all = len == 3 || path.occurrence == hl7::Path::kAll;
    if (path.occurrence == hl7::Path::kAll) path.occurrence = 1;
    if (!RemoveSegments(impl, path, all, &removed)) return RaiseError(L, impl);
  }
  lua_pushinteger(L, removed);
  return 1;
}

bool EncodeMessage(Impl* impl) {
  try {
    impl->scratch = impl->message->Encode();
    return true;
  } catch (...) {
    return SetError(impl, "out of memory");
  }
}

int MsgRaw(lua_State* L) {
  Impl* impl = ImplOf(L);
  luaL_checkudata(L, 1, kMessageType);
  if (!RequireMessage(impl) || !EncodeMessage(impl)) return RaiseError(L, impl);
  lua_pushlstring(L, impl->scratch.data(), impl->scratch.size());
  return 1;
}

// ---- segment objects ----

SegmentRef* CheckSegment(lua_State* L) {
  return static_cast<SegmentRef*>(luaL_checkudata(L, 1, kSegmentType));
}

// The path "<id>[occurrence]-<relative>" of a segment object.
bool SegmentPath(Impl* impl, const SegmentRef& ref, std::string_view relative, hl7::Path* out) {
  char prefix[5] = {ref.id[0], ref.id[1], ref.id[2], '-', 0};
  if (!PathFromText(impl, prefix, relative, out)) return false;
  if (out->occurrence != 1) return SetError(impl, "a segment path starts with the field number");
  out->occurrence = ref.occurrence;
  return true;
}

int SegGetImpl(lua_State* L, bool raw) {
  Impl* impl = ImplOf(L);
  const SegmentRef ref = *CheckSegment(L);
  std::size_t len = 0;
  const char* text = luaL_checklstring(L, 2, &len);
  hl7::Path path;
  if (!RequireMessage(impl) || !SegmentPath(impl, ref, std::string_view(text, len), &path)) {
    return RaiseError(L, impl);
  }
  ValueAt(impl, path, raw);
  lua_pushlstring(L, impl->scratch.data(), impl->scratch.size());
  return 1;
}
int SegGet(lua_State* L) { return SegGetImpl(L, false); }
int SegGetRaw(lua_State* L) { return SegGetImpl(L, true); }

int SegSetImpl(lua_State* L, bool raw) {
  Impl* impl = ImplOf(L);
  const SegmentRef ref = *CheckSegment(L);
  std::size_t len = 0;
  const char* text = luaL_checklstring(L, 2, &len);
  const std::optional<std::string_view> value = ValueArg(L, 3);
  hl7::Path path;
  if (!RequireWritable(impl) || !SegmentPath(impl, ref, std::string_view(text, len), &path) ||
      !Edit(impl, path, value, raw)) {
    return RaiseError(L, impl);
  }
  return 0;
}
int SegSet(lua_State* L) { return SegSetImpl(L, false); }
int SegSetRaw(lua_State* L) { return SegSetImpl(L, true); }

int SegDelete(lua_State* L) {
  Impl* impl = ImplOf(L);
  const SegmentRef ref = *CheckSegment(L);
  std::size_t len = 0;
  const char* text = luaL_checklstring(L, 2, &len);
  hl7::Path path;
  if (!RequireWritable(impl) || !SegmentPath(impl, ref, std::string_view(text, len), &path) ||
      !Edit(impl, path, std::nullopt, false)) {
    return RaiseError(L, impl);
  }
  return 0;
}

int SegId(lua_State* L) {
  const SegmentRef* ref = CheckSegment(L);
  lua_pushlstring(L, ref->id, 3);
  return 1;
}

// seg:index(): the 1-based position in the message, or nil once it is gone.
int SegIndex(lua_State* L) {
  Impl* impl = ImplOf(L);
  const SegmentRef ref = *CheckSegment(L);
  if (!RequireMessage(impl)) return RaiseError(L, impl);
  const int index = impl->message->FindSegment(std::string_view(ref.id, 3), ref.occurrence);
  if (index < 0) {
    lua_pushnil(L);
  } else {
    lua_pushinteger(L, index + 1);
  }
  return 1;
}

int SegRaw(lua_State* L) {
  Impl* impl = ImplOf(L);
  const SegmentRef ref = *CheckSegment(L);
  if (!RequireMessage(impl)) return RaiseError(L, impl);
  const int index = impl->message->FindSegment(std::string_view(ref.id, 3), ref.occurrence);
  if (index < 0) {
    lua_pushnil(L);
    return 1;
  }
  const std::string_view text = impl->message->SegmentText(static_cast<std::size_t>(index));
  lua_pushlstring(L, text.data(), text.size());
  return 1;
}

// ---- globals ----

// Finds table[key] into impl->scratch: 0 found, 1 default used, 2 neither, -1 no such table.
int LookupInto(Impl* impl, std::string_view table, std::string_view key) {
  try {
    impl->key.assign(table);
    auto it = impl->tables->find(impl->key);
    if (it == impl->tables->end()) {
      SetError(impl, "lookup: no table '", impl->key + "' (see tables: in the config)");
      return -1;
    }
    impl->key.assign(key);
    auto entry = it->second.entries.find(impl->key);
    if (entry != it->second.entries.end()) {
      impl->scratch = entry->second;
      return 0;
    }
    if (it->second.fallback) {
      impl->scratch = *it->second.fallback;
      return 1;
    }
    return 2;
  } catch (...) {
    SetError(impl, "out of memory");
    return -1;
  }
}

// lookup(table, key [, default]) -> value, the table's "*" default, `default`, or nil.
int Lookup(lua_State* L) {
  Impl* impl = ImplOf(L);
  std::size_t tlen = 0;
  std::size_t klen = 0;
  const char* table = luaL_checklstring(L, 1, &tlen);
  const char* key = luaL_checklstring(L, 2, &klen);
  const int found = LookupInto(impl, std::string_view(table, tlen), std::string_view(key, klen));
  if (found < 0) return RaiseError(L, impl);
  if (found == 0 || (found == 1 && lua_isnoneornil(L, 3))) {
    lua_pushlstring(L, impl->scratch.data(), impl->scratch.size());
  } else {
    lua_settop(L, 3);  // the caller's default, or nil
  }
  return 1;
}

// Joins the arguments like print() does, at most kMaxLogBytes.
void JoinArguments(lua_State* L, luaL_Buffer* b) {
  const int n = lua_gettop(L);
  luaL_buffinit(L, b);
  for (int i = 1; i <= n; ++i) {
    if (i > 1) luaL_addchar(b, ' ');
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(b);
  }
  luaL_pushresult(b);
}

void WriteLog(Impl* impl, std::string_view text) {
  try {
    if (text.size() > kMaxLogBytes) text = text.substr(0, kMaxLogBytes);
    const MessageContext* c = impl->context;
    spdlog::info("channel {}{}{}: message {}: {} (lua): {}", c ? c->channel : "",
                 c && !c->destination.empty() ? " destination " : "", c ? c->destination : "",
                 c ? c->message_id : 0, impl->ChunkName(), text);
  } catch (...) {
  }
}

int Log(lua_State* L) {
  luaL_Buffer b;
  JoinArguments(L, &b);
  std::size_t len = 0;
  const char* text = lua_tolstring(L, -1, &len);
  WriteLog(ImplOf(L), std::string_view(text, len));
  return 0;
}

bool NoteFiltered(Impl* impl, const char* what, std::string_view why) {
  try {
    impl->filtered = true;
    impl->filter_reason = std::string(what) + "()";
    if (!why.empty()) impl->filter_reason += ": " + std::string(why.substr(0, kMaxLogBytes));
    impl->error = impl->filter_reason;
  } catch (...) {
  }
  return false;
}

// filter([reason]) / drop([reason]): stop here; the message is filtered. The
// flag stays set even if the script catches the error with pcall.
int FilterImpl(lua_State* L, const char* what) {
  std::size_t len = 0;
  const char* why = luaL_optlstring(L, 1, "", &len);
  Impl* impl = ImplOf(L);
  NoteFiltered(impl, what, std::string_view(why, len));
  lua_pushlstring(L, impl->error.data(), impl->error.size());
  return lua_error(L);
}
int Filter(lua_State* L) { return FilterImpl(L, "filter"); }
int Drop(lua_State* L) { return FilterImpl(L, "drop"); }

// load(chunk [, name [, mode [, env]]]): text only, into the script's
// environment (upvalue 1) unless env is given. Upvalue 2 is the real load.
int SafeLoad(lua_State* L) {
  lua_settop(L, 4);
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushvalue(L, 1);
  if (lua_isnil(L, 2)) {
    lua_pushliteral(L, "=(load)");
  } else {
    lua_pushvalue(L, 2);
  }
  lua_pushliteral(L, "t");
  if (lua_isnil(L, 4)) {
    lua_pushvalue(L, lua_upvalueindex(1));
  } else {
    lua_pushvalue(L, 4);
  }
  lua_call(L, 4, LUA_MULTRET);
  return lua_gettop(L) - 4;
}

// Shallow copy of the table at the top of the stack (replaces it).
void CopyTable(lua_State* L) {
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, -3) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  lua_remove(L, -2);
}

// Pushes a new sandbox environment.
void PushEnvironment(lua_State* L, Impl* impl) {
  lua_newtable(L);
  const int env = lua_gettop(L);
  for (const char* name : kSafeGlobals) {
    lua_getglobal(L, name);
    lua_setfield(L, env, name);
  }
  for (const char* name : kSafeLibraries) {
    lua_getglobal(L, name);
    CopyTable(L);
    lua_setfield(L, env, name);
  }
  lua_pushvalue(L, env);
  lua_setfield(L, env, "_G");
  lua_pushvalue(L, env);
  lua_getglobal(L, "load");
  lua_pushcclosure(L, SafeLoad, 2);
  lua_setfield(L, env, "load");
  lua_pushcfunction(L, Log);
  lua_setfield(L, env, "log");
  lua_pushcfunction(L, Log);
  lua_setfield(L, env, "print");
  lua_pushcfunction(L, Lookup);
  lua_setfield(L, env, "lookup");
  lua_pushcfunction(L, Filter);
  lua_setfield(L, env, "filter");
  lua_pushcfunction(L, Drop);
  lua_setfield(L, env, "drop");
  lua_rawgeti(L, LUA_REGISTRYINDEX, impl->msg_ref);
  lua_setfield(L, env, "msg");
  lua_rawgeti(L, LUA_REGISTRYINDEX, impl->meta_ref);
  lua_setfield(L, env, "meta");
}

// Opens the libraries and builds the shared objects (in protected mode).
int Setup(lua_State* L) {
  Impl* impl = ImplOf(L);
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
  lua_settop(L, 0);
  // No bytecode out: string.dump goes from the one string table (strings'
  // metatable points at it too), and scripts cannot reach that metatable.
  lua_getglobal(L, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1)) {
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);

  static const luaL_Reg kMessageMethods[] = {{"get", MsgGet},
                                             {"get_raw", MsgGetRaw},
                                             {"set", MsgSet},
                                             {"set_raw", MsgSetRaw},
                                             {"delete", MsgDelete},
                                             {"count", MsgCount},
                                             {"segments", MsgSegments},
                                             {"segment", MsgSegment},
                                             {"segment_count", MsgSegmentCount},
                                             {"add_segment", MsgAddSegment},
                                             {"remove_segment", MsgRemoveSegment},
                                             {"raw", MsgRaw},
                                             {nullptr, nullptr}};
  static const luaL_Reg kSegmentMethods[] = {
      {"get", SegGet},        {"get_raw", SegGetRaw}, {"set", SegSet},
      {"set_raw", SegSetRaw}, {"delete", SegDelete},  {"id", SegId},
      {"index", SegIndex},    {"raw", SegRaw},        {nullptr, nullptr}};
  luaL_newmetatable(L, kMessageType);
  lua_newtable(L);
  luaL_setfuncs(L, kMessageMethods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
  luaL_newmetatable(L, kSegmentType);
  lua_newtable(L);
  luaL_setfuncs(L, kSegmentMethods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  lua_newuserdatauv(L, 1, 0);
  luaL_setmetatable(L, kMessageType);
  impl->msg_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  impl->meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

// Compiles (source, chunkname) into a function with its own environment;
// returns its registry reference.
int CompileProtected(lua_State* L) {
  Impl* impl = ImplOf(L);
  std::size_t len = 0;
  const char* source = lua_tolstring(L, 1, &len);
  const char* chunkname = lua_tostring(L, 2);
  if (luaL_loadbufferx(L, source, len, chunkname, "t") != LUA_OK) return lua_error(L);
  PushEnvironment(L, impl);
  if (lua_setupvalue(L, -2, 1) == nullptr) lua_pop(L, 1);  // a chunk without upvalues
  lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
  return 1;
}

void SetField(lua_State* L, const char* name, const std::string& value) {
  lua_pushlstring(L, value.data(), value.size());
  lua_setfield(L, -2, name);
}

// Runs chunk arg 1; refreshes `meta` first when a new message began.
int RunProtected(lua_State* L) {
  Impl* impl = ImplOf(L);
  const lua_Integer chunk = lua_tointeger(L, 1);
  if (impl->meta_dirty && impl->context != nullptr) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, impl->meta_ref);
    lua_pushinteger(L, impl->context->message_id);
    lua_setfield(L, -2, "id");
    SetField(L, "channel", impl->context->channel);
    SetField(L, "destination", impl->context->destination);
    SetField(L, "peer", impl->context->peer);
    lua_pushinteger(L, impl->context->received_at_us);
    lua_setfield(L, -2, "received_at");
    lua_pop(L, 1);
    impl->meta_dirty = false;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, chunk);
  lua_call(L, 0, 1);
  return 1;
}

// "name:3: text" -> "line 3: text" (errors of this chunk); others as they are.
std::string FormatError(std::string_view text, std::string_view name) {
  if (text.size() > name.size() + 1 && text.substr(0, name.size()) == name &&
      text[name.size()] == ':') {
    std::size_t pos = name.size() + 1;
    std::size_t digits = pos;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
      ++digits;
    }
    if (digits > pos && text.substr(digits, 2) == ": ") {
      return "line " + std::string(text.substr(pos, digits - pos)) + ": " +
             std::string(text.substr(digits + 2));
    }
  }
  return std::string(text);
}

}  // namespace

std::optional<LuaSyntaxError> CheckLuaSyntax(std::string_view source) {
  lua_State* L = luaL_newstate();
  if (L == nullptr) return LuaSyntaxError{0, "cannot create a Lua state"};
  std::optional<LuaSyntaxError> result;
  if (luaL_loadbufferx(L, source.data(), source.size(), "=lua", "t") != LUA_OK) {
    const char* text = lua_tostring(L, -1);
    std::string formatted = FormatError(text != nullptr ? text : "syntax error", "lua");
    LuaSyntaxError error;
    if (formatted.rfind("line ", 0) == 0) {
      error.line = std::atoi(formatted.c_str() + 5);
      error.reason = formatted.substr(formatted.find(": ") + 2);
    } else {
      error.reason = formatted;
    }
    result = std::move(error);
  }
  lua_close(L);
  return result;
}

Result<std::unique_ptr<LuaSandbox>> LuaSandbox::Create(LuaLimits limits,
                                                       std::shared_ptr<const Tables> tables) {
  std::unique_ptr<LuaSandbox> sandbox(new LuaSandbox());
  sandbox->impl_ = std::make_unique<Impl>();
  Impl* impl = sandbox->impl_.get();
  impl->limits = limits;
  impl->tables = tables ? std::move(tables) : std::make_shared<const Tables>();
  impl->L = lua_newstate(Allocate, impl);
  if (impl->L == nullptr) return Status::OutOfRange("lua: cannot create a state (memory limit)");
  *static_cast<Impl**>(lua_getextraspace(impl->L)) = impl;
  lua_pushcfunction(impl->L, Setup);
  if (lua_pcall(impl->L, 0, 0, 0) != LUA_OK) {
    return Status::OutOfRange("lua: cannot set up the sandbox (memory limit too small?)");
  }
  lua_sethook(impl->L, Hook, LUA_MASKCOUNT, kHookEvery);
  return sandbox;
}

LuaSandbox::~LuaSandbox() {
  if (impl_ && impl_->L != nullptr) lua_close(impl_->L);
}

std::size_t LuaSandbox::memory_used() const { return impl_->memory_used; }

Result<int> LuaSandbox::Compile(std::string_view source, const std::string& name) {
  lua_State* L = impl_->L;
  lua_settop(L, 0);
  lua_pushcfunction(L, CompileProtected);
  lua_pushlstring(L, source.data(), source.size());  // cannot fail: small pre-checked sizes
  lua_pushstring(L, ("=" + name).c_str());
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    const char* text = lua_tostring(L, -1);
    std::string reason = FormatError(text != nullptr ? text : "cannot compile", name);
    lua_settop(L, 0);
    return Status::Invalid(name + " (lua): " + reason);
  }
  const int ref = static_cast<int>(lua_tointeger(L, -1));
  lua_settop(L, 0);
  impl_->chunk_names.emplace_back(ref, name);
  return ref;
}

void LuaSandbox::BeginMessage(hl7::Message* message, const MessageContext& context) {
  impl_->message = message;
  impl_->context = &context;
  impl_->meta_dirty = true;
  impl_->instructions = 0;
  impl_->edit_bytes = 0;
  impl_->filtered = false;
  if (impl_->limit_hit) {
    impl_->limit_hit = false;
    lua_sethook(impl_->L, Hook, LUA_MASKCOUNT, kHookEvery);
  }
}

void LuaSandbox::EndMessage() {
  impl_->message = nullptr;
  impl_->context = nullptr;
}

LuaOutcome LuaSandbox::Run(int chunk, bool read_only) {
  Impl* impl = impl_.get();
  lua_State* L = impl->L;
  LuaOutcome outcome;
  impl->read_only = read_only;
  impl->filtered = false;
  impl->current_chunk = chunk;
  lua_settop(L, 0);
  lua_pushcfunction(L, RunProtected);
  lua_pushinteger(L, chunk);
  const int status = lua_pcall(L, 1, 1, 0);
  if (impl->filtered) {
    outcome.kind = LuaOutcome::Kind::kFiltered;
    outcome.reason = impl->filter_reason;
  } else if (status == LUA_OK) {
    outcome.truthy = lua_toboolean(L, -1) != 0;
  } else {
    outcome.kind = LuaOutcome::Kind::kError;
    if (status == LUA_ERRMEM) {
      outcome.reason =
          "memory limit exceeded (" + std::to_string(impl->limits.max_memory_bytes) + " bytes)";
    } else if (impl->limit_hit) {
      outcome.reason =
          "instruction limit exceeded (" + std::to_string(impl->limits.max_instructions) + ")";
    } else if (const char* text = lua_tostring(L, -1)) {
      outcome.reason = FormatError(text, impl->ChunkName());
    } else {
      outcome.reason = std::string("error object is a ") + luaL_typename(L, -1) + " value";
    }
  }
  lua_settop(L, 0);
  if (outcome.kind == LuaOutcome::Kind::kError) lua_gc(L, LUA_GCCOLLECT);
  impl->read_only = false;
  return outcome;
}

}  // namespace junction::engine::internal
