// Greedy, standard-conformant placement of segments into message-structure
// groups. See docs/dictionary.md ("Structure matching") for the rules.
#include "junction/hl7/structure.h"

#include <algorithm>
#include <utility>

namespace junction::hl7 {
namespace {

bool IsZSegment(std::string_view id) { return !id.empty() && id.front() == 'Z'; }

// How far a match may stretch the definition. Tried in this order; the first
// mode that places the segment anywhere wins.
enum class Mode {
  // A group is entered only through its very first child (its anchor): an
  // ORC in OML_O21 repeats ORDER instead of sliding into PRIOR_RESULT's
  // optional ORDER_PRIOR/ORC.
  kAnchor,
  // Optional leading children of a group may be passed over.
  kSkipOptional,
  // Required members of an open group may be passed over too; they are
  // reported missing. A group is still never entered past a missing required
  // member: a segment that only fits that way is reported as out of place
  // instead of inventing a group around it.
  kSkipRequired,
};

// The mode used to enter a group that is not open yet.
Mode EntryMode(Mode mode) { return mode == Mode::kSkipRequired ? Mode::kSkipOptional : mode; }
constexpr Mode kModes[] = {Mode::kAnchor, Mode::kSkipOptional, Mode::kSkipRequired};

// True when a group may legitimately be empty: every member is optional or
// itself such a group. A "required" group like that is never reported missing.
bool ContentNullable(const MessageNode& node, std::size_t depth) {
  if (node.kind != MessageNodeKind::kGroup) return false;
  if (depth >= MessageStructure::kMaxDepth) return true;
  return std::all_of(node.children.begin(), node.children.end(), [&](const MessageNode& c) {
    return !c.required() || ContentNullable(c, depth + 1);
  });
}

// May this child be absent without a finding?
bool Skippable(const MessageNode& node, std::size_t depth) {
  return !node.required() || ContentNullable(node, depth);
}

// Can `node` begin with segment `id` under `mode`? Definition depth is bounded
// by `depth`, never by input.
bool CanStartWith(const MessageNode& node, std::string_view id, Mode mode, std::size_t depth) {
  if (depth >= MessageStructure::kMaxDepth) return false;
  switch (node.kind) {
    case MessageNodeKind::kSegment:
      return node.name == id;
    case MessageNodeKind::kChoice:
      return std::any_of(node.children.begin(), node.children.end(), [&](const MessageNode& c) {
        return CanStartWith(c, id, mode, depth + 1);
      });
    case MessageNodeKind::kGroup:
      for (const MessageNode& child : node.children) {
        if (CanStartWith(child, id, mode, depth + 1)) return true;
        if (mode == Mode::kAnchor) return false;
        if (!Skippable(child, depth + 1) && mode != Mode::kSkipRequired) return false;
      }
      return false;
  }
  return false;
}

std::string Quote(std::string_view id) {
  // Segment ids come from input: bound what is echoed back.
  return std::string(id.substr(0, 16));
}

}  // namespace

// Builds one MessageStructure. A stack of frames mirrors the open group
// instances, innermost last; each frame remembers which child of its group
// definition was used last and how often.
class StructureMatcher {
 public:
  StructureMatcher(const MessageDef& def, std::span<const std::string_view> ids) : def_(def) {
    out_.ids_.assign(ids.begin(), ids.end());
    out_.placements_.resize(ids.size());
    out_.groups_.push_back({def.id, &def.root, MessageStructure::kNone, 1, {}});
    stack_.push_back({&def.root, 0, -1, 0, {}});
  }

  MessageStructure Run() {
    for (std::size_t i = 0; i < out_.ids_.size(); ++i) Place(i);
    while (!stack_.empty()) {
      CloseFrame(stack_.back());
      stack_.pop_back();
    }
    return std::move(out_);
  }

 private:
  struct Frame {
    const MessageNode* node;  // group definition (the root for level 0)
    std::size_t group;        // output group id
    std::ptrdiff_t pos;       // child index used last; -1 before the first
    std::uint32_t count;      // repetitions of child `pos` in this instance
    // Instances created per child-group name, for 1-based repetition numbers.
    std::vector<std::pair<std::string_view, std::uint32_t>> group_counts;
  };

  static constexpr std::ptrdiff_t kNoChild = -1;

  // The child index of frame `f` that can take segment `id`, or kNoChild.
  // `pos` itself qualifies only while it may repeat; when it is full,
  // `*full` is set so the caller can report "too many repetitions".
  std::ptrdiff_t FindChild(const Frame& f, std::string_view id, Mode mode, std::size_t depth,
                           bool* full) const {
    const auto& children = f.node->children;
    const auto n = static_cast<std::ptrdiff_t>(children.size());
    const Mode entry = EntryMode(mode);
    for (std::ptrdiff_t i = std::max<std::ptrdiff_t>(f.pos, 0); i < n; ++i) {
      const MessageNode& child = children[static_cast<std::size_t>(i)];
      if (i == f.pos) {
        bool can_repeat = child.max == 0 || f.count < child.max;
        if (CanStartWith(child, id, entry, depth + 1)) {
          if (can_repeat) return i;
          if (full != nullptr) *full = true;
        }
        continue;  // already present, so never "missing"
      }
      if (CanStartWith(child, id, entry, depth + 1)) return i;
      // Optional siblings are always passed over; required ones only when asked.
      if (!Skippable(child, depth + 1) && mode != Mode::kSkipRequired) return kNoChild;
    }
    return kNoChild;
  }

  void Place(std::size_t index) {
    std::string_view id = out_.ids_[index];
    if (IsZSegment(id)) {
      // Local extensions: allowed anywhere, part of the innermost open group.
      Attach(stack_.back(), index, /*expected=*/true);
      return;
    }
    // One pass per mode, strictest first. Each pass tries the innermost open
    // group first, then closes groups upward.
    std::size_t full_level = MessageStructure::kNone;
    for (Mode mode : kModes) {
      for (std::size_t level = stack_.size(); level-- > 0;) {
        bool full = false;
        std::ptrdiff_t child = FindChild(stack_[level], id, mode, level, &full);
        if (full && full_level == MessageStructure::kNone) full_level = level;
        if (child != kNoChild) {
          Commit(level, child, index, mode);
          return;
        }
      }
    }
    if (full_level != MessageStructure::kNone) {
      Frame& f = stack_[full_level];
      Attach(f, index, /*expected=*/false);
      AddFinding(StructureFinding::Kind::kTooManyRepetitions, index, id, f.group,
                 "segment " + Quote(id) + " repeats more often than the structure allows");
      return;
    }
    Frame& top = stack_.back();
    Attach(top, index, /*expected=*/false);
    AddFinding(StructureFinding::Kind::kUnexpectedSegment, index, id, top.group,
               Contains(def_.root, id, 0)
                   ? "segment " + Quote(id) + " is out of place here"
                   : "segment " + Quote(id) + " is not part of " + std::string(def_.id));
  }

  static bool Contains(const MessageNode& node, std::string_view id, std::size_t depth) {
    if (node.kind == MessageNodeKind::kSegment) return node.name == id;
    if (depth >= MessageStructure::kMaxDepth) return false;
    return std::any_of(node.children.begin(), node.children.end(),
                       [&](const MessageNode& c) { return Contains(c, id, depth + 1); });
  }

  // Places segment `index` at child `child` of frame `level`, closing deeper
  // frames and opening group instances down to the segment.
  void Commit(std::size_t level, std::ptrdiff_t child, std::size_t index, Mode mode) {
    while (stack_.size() > level + 1) {
      CloseFrame(stack_.back());
      stack_.pop_back();
    }
    std::string_view id = out_.ids_[index];
    while (true) {
      Frame& f = stack_.back();
      const auto& children = f.node->children;
      for (std::ptrdiff_t j = f.pos + 1; j < child; ++j)
        ReportMissing(f, children[static_cast<std::size_t>(j)]);
      if (child == f.pos) {
        ++f.count;
      } else {
        f.pos = child;
        f.count = 1;
      }
      const MessageNode& node = children[static_cast<std::size_t>(child)];
      if (node.kind != MessageNodeKind::kGroup || stack_.size() >= MessageStructure::kMaxDepth) {
        Attach(f, index, /*expected=*/true);
        return;
      }
      std::size_t group = OpenGroup(f, node);
      stack_.push_back({&node, group, -1, 0, {}});
      child = FindChild(stack_.back(), id, EntryMode(mode), stack_.size() - 1, nullptr);
      if (child == kNoChild) {  // cannot happen: CanStartWith said yes; stay safe
        Attach(stack_.back(), index, /*expected=*/false);
        return;
      }
    }
  }

  std::size_t OpenGroup(Frame& parent, const MessageNode& node) {
    std::uint32_t repetition = 1;
    auto it = std::find_if(parent.group_counts.begin(), parent.group_counts.end(),
                           [&](const auto& p) { return p.first == node.name; });
    if (it == parent.group_counts.end()) {
      parent.group_counts.emplace_back(node.name, 1);
    } else {
      repetition = ++it->second;
    }
    std::size_t id = out_.groups_.size();
    out_.groups_.push_back({node.name, &node, parent.group, repetition, {}});
    out_.groups_[parent.group].children.push_back({true, id});
    return id;
  }

  void Attach(const Frame& f, std::size_t index, bool expected) {
    out_.groups_[f.group].children.push_back({false, index});
    out_.placements_[index] = {f.group, expected};
  }

  void CloseFrame(const Frame& f) {
    const auto& children = f.node->children;
    for (std::size_t j = static_cast<std::size_t>(f.pos + 1); j < children.size(); ++j) {
      ReportMissing(f, children[j]);
    }
  }

  void ReportMissing(const Frame& f, const MessageNode& node) {
    if (Skippable(node, stack_.size())) return;
    bool group = node.kind == MessageNodeKind::kGroup;
    AddFinding(
        group ? StructureFinding::Kind::kMissingGroup : StructureFinding::Kind::kMissingSegment,
        StructureFinding::kNoSegment, node.name, f.group,
        std::string("missing required ") + (group ? "group " : "segment ") +
            std::string(node.name));
  }

  void AddFinding(StructureFinding::Kind kind, std::size_t index, std::string_view name,
                  std::size_t group, std::string message) {
    StructureFinding finding;
    finding.kind = kind;
    finding.segment_index = index;
    finding.name = Quote(name);
    finding.where = out_.GroupPath(group);
    finding.message = std::move(message);
    out_.findings_.push_back(std::move(finding));
  }

  const MessageDef& def_;
  MessageStructure out_;
  std::vector<Frame> stack_;  // never deeper than kMaxDepth
};

std::string StructureFinding::ToString() const {
  std::string out;
  if (segment_index != kNoSegment) {
    out = "segment " + std::to_string(segment_index + 1) + " (" + name + ")";
    if (!where.empty()) out += " in " + where;
  } else {
    out = where.empty() ? "message" : where;
  }
  return out + ": " + message;
}

Result<MessageStructure> MessageStructure::Match(const MessageDef& def,
                                                 std::span<const std::string_view> segment_ids) {
  if (segment_ids.size() > kMaxSegments) {
    return Status::OutOfRange("message has " + std::to_string(segment_ids.size()) +
                              " segments; structure matching stops at " +
                              std::to_string(kMaxSegments));
  }
  return StructureMatcher(def, segment_ids).Run();
}

std::string MessageStructure::GroupPath(std::size_t group) const {
  std::vector<std::size_t> chain;
  for (std::size_t g = group; g < groups_.size() && g != 0 && chain.size() <= kMaxDepth;
       g = groups_[g].parent) {
    chain.push_back(g);
  }
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (!out.empty()) out += '/';
    out += groups_[*it].name;
    out += '[' + std::to_string(groups_[*it].repetition) + ']';
  }
  return out;
}

namespace {

struct PathPart {
  std::string_view name;
  std::size_t repetition = 1;
};

// Splits "A[1]/B/C[3]" into parts; nullopt on malformed text.
std::optional<std::vector<PathPart>> ParsePath(std::string_view path) {
  std::vector<PathPart> parts;
  if (path.size() > MessageStructure::kMaxPathLength) return std::nullopt;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return parts;
  while (true) {
    std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    PathPart p;
    std::size_t bracket = part.find('[');
    p.name = part.substr(0, bracket);
    if (p.name.empty()) return std::nullopt;
    if (bracket != std::string_view::npos) {
      std::string_view num = part.substr(bracket + 1);
      if (num.size() < 2 || num.back() != ']') return std::nullopt;
      num.remove_suffix(1);
      if (num.size() > 6) return std::nullopt;
      std::size_t value = 0;
      for (char c : num) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::size_t>(c - '0');
      }
      if (value == 0) return std::nullopt;
      p.repetition = value;
    }
    parts.push_back(p);
    if (parts.size() > MessageStructure::kMaxDepth) return std::nullopt;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

}  // namespace

std::vector<std::size_t> MessageStructure::ChildGroups(std::size_t group,
                                                       std::string_view name) const {
  std::vector<std::size_t> out;
  if (group >= groups_.size()) return out;
  for (const Entry& e : groups_[group].children) {
    if (e.is_group && groups_[e.index].name == name) out.push_back(e.index);
  }
  return out;
}

std::optional<std::size_t> MessageStructure::FindGroup(std::string_view path) const {
  auto parts = ParsePath(path);
  if (!parts) return std::nullopt;
  std::size_t group = 0;
  for (const PathPart& p : *parts) {
    std::vector<std::size_t> matches = ChildGroups(group, p.name);
    if (p.repetition > matches.size()) return std::nullopt;
    group = matches[p.repetition - 1];
  }
  return group;
}

std::optional<std::size_t> MessageStructure::FindSegment(std::string_view path) const {
  auto parts = ParsePath(path);
  if (!parts || parts->empty()) return std::nullopt;
  std::size_t group = 0;
  for (std::size_t i = 0; i + 1 < parts->size(); ++i) {
    std::vector<std::size_t> matches = ChildGroups(group, (*parts)[i].name);
    if ((*parts)[i].repetition > matches.size()) return std::nullopt;
    group = matches[(*parts)[i].repetition - 1];
  }
  const PathPart& last = parts->back();
  std::vector<std::size_t> segments = SegmentsOf(group, last.name);
  if (last.repetition > segments.size()) return std::nullopt;
  return segments[last.repetition - 1];
}

std::vector<std::size_t> MessageStructure::SegmentsOf(std::size_t group,
                                                      std::string_view segment_id,
                                                      bool recursive) const {
  std::vector<std::size_t> out;
  if (group >= groups_.size()) return out;
  // Explicit stack of (group, next child) keeps message order without recursion.
  std::vector<std::pair<std::size_t, std::size_t>> stack = {{group, 0}};
  while (!stack.empty()) {
    auto& [g, next] = stack.back();
    const std::vector<Entry>& children = groups_[g].children;
    if (next >= children.size()) {
      stack.pop_back();
      continue;
    }
    const Entry e = children[next++];
    if (e.is_group) {
      if (recursive) stack.emplace_back(e.index, 0);
    } else if (segment_id.empty() || ids_[e.index] == segment_id) {
      out.push_back(e.index);
    }
  }
  return out;
}

std::string MessageStructure::ToString() const {
  std::string out = std::string(root().name) + "\n";
  std::vector<std::pair<std::size_t, std::size_t>> stack = {{0, 0}};
  while (!stack.empty()) {
    auto& [g, next] = stack.back();
    const std::vector<Entry>& children = groups_[g].children;
    if (next >= children.size()) {
      stack.pop_back();
      continue;
    }
    const Entry e = children[next++];
    std::string indent(2 * stack.size(), ' ');
    if (e.is_group) {
      out += indent + std::string(groups_[e.index].name) + "[" +
             std::to_string(groups_[e.index].repetition) + "]\n";
      stack.emplace_back(e.index, 0);
    } else {
      out += indent + std::string(ids_[e.index]);
      if (!placements_[e.index].expected) out += "  (unexpected)";
      out += "\n";
    }
  }
  return out;
}

}  // namespace junction::hl7
