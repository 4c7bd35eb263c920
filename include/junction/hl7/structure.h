// MessageStructure: places a message's segments into the groups of its HL7
// message structure (e.g. ORU_R01's PATIENT_RESULT / ORDER_OBSERVATION /
// OBSERVATION), and reports what did not fit.
//
// It works on segment ids only, so it is independent of the Message class:
//
//   const Dictionary* dict = Dictionary::ForVersion("2.5.1");
//   const MessageDef* def = dict->Message(dict->StructureFor("ORU", "R01"));
//   std::vector<std::string_view> ids = {"MSH", "PID", "OBR", "OBX", "OBX", "OBR", "OBX"};
//   Result<MessageStructure> s = MessageStructure::Match(*def, ids);
//   // s->FindSegment("PATIENT_RESULT/ORDER_OBSERVATION[2]/OBSERVATION[1]/OBX") == 6
//   for (const StructureFinding& f : s->findings()) std::cerr << f.ToString() << "\n";
//
// Repeating groups become one group instance per repetition: three ORDER
// groups in an OML_O21 give ORDER[1], ORDER[2] and ORDER[3]. Segments whose
// id starts with 'Z' are accepted anywhere and attached to the innermost open
// group. See docs/dictionary.md for the matching rules.
//
// Ownership and thread safety: a MessageStructure is a value. It keeps views
// into the MessageDef (static dictionary data) and into the segment ids passed
// to Match, so those ids must outlive it if names are read back through
// groups(). Const methods are safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/dictionary.h"
#include "junction/hl7/status.h"

namespace junction::hl7 {

struct StructureFinding {
  enum class Kind {
    kUnexpectedSegment,   // the segment fits nowhere at this point
    kTooManyRepetitions,  // the segment fits, but it has already reached its maximum
    kMissingSegment,      // a required segment (or choice) is absent
    kMissingGroup,        // a required group is absent
  };
  static constexpr std::size_t kNoSegment = static_cast<std::size_t>(-1);

  Kind kind = Kind::kUnexpectedSegment;
  std::size_t segment_index = kNoSegment;  // 0-based; kNoSegment for missing elements
  std::string name;                        // segment id or group name concerned
  std::string where;  // group path, e.g. "PATIENT_RESULT[1]/ORDER_OBSERVATION[2]"; "" = top level
  std::string message;

  // "segment 4 (ZXY): ..." or "PATIENT_RESULT[1]: missing required segment PID".
  std::string ToString() const;
  bool is_error() const { return kind == Kind::kMissingSegment || kind == Kind::kMissingGroup; }
};

class MessageStructure {
 public:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  // Bounds: messages with more segments are refused; definitions nested deeper
  // than kMaxDepth are matched only down to that depth.
  static constexpr std::size_t kMaxSegments = 100000;
  static constexpr std::size_t kMaxDepth = 32;
  static constexpr std::size_t kMaxPathLength = 1024;

  struct Entry {
    bool is_group = false;
    std::size_t index = 0;  // segment index when !is_group, else group id
  };

  struct Group {
    std::string_view name;             // "ORDER_OBSERVATION"; the structure id for the root
    const MessageNode* def = nullptr;  // the definition this is an instance of
    std::size_t parent = kNone;        // group id; kNone for the root
    std::uint32_t repetition = 1;      // 1-based among same-named siblings
    std::vector<Entry> children;       // in message order
  };

  struct Placement {
    std::size_t group = kNone;  // the group the segment was attached to
    bool expected = true;       // false for unexpected / too-many segments
  };

  // Places `segment_ids` (in message order) into `def`. Fails only when a
  // bound is exceeded; structural problems are findings, not errors.
  static Result<MessageStructure> Match(const MessageDef& def,
                                        std::span<const std::string_view> segment_ids);

  // groups()[0] is the root (the message itself).
  const std::vector<Group>& groups() const { return groups_; }
  const Group& root() const { return groups_.front(); }
  const std::vector<StructureFinding>& findings() const { return findings_; }
  const std::vector<Placement>& placements() const { return placements_; }
  std::size_t segment_count() const { return placements_.size(); }
  // True when every segment fits and nothing required is missing (Z-segments allowed).
  bool conforms() const { return findings_.empty(); }

  // "PATIENT_RESULT[1]/ORDER_OBSERVATION[2]" for a group id; "" for the root.
  std::string GroupPath(std::size_t group) const;

  // Paths are NAME[n]/NAME[n]/..., repetitions 1-based and defaulting to 1,
  // relative to the root ("" is the root). FindGroup: every part names a group.
  // FindSegment: the last part is a segment id, [n] picking its n-th
  // occurrence directly inside that group ("OBSERVATION[3]/OBX",
  // "ORDER[2]/NTE[2]"). Return kNone-free optionals: nullopt when nothing matches.
  std::optional<std::size_t> FindGroup(std::string_view path) const;
  std::optional<std::size_t> FindSegment(std::string_view path) const;

  // Segment indices inside `group`, in order: direct children only, or the
  // whole subtree when `recursive`. An empty `segment_id` selects every segment.
  std::vector<std::size_t> SegmentsOf(std::size_t group, std::string_view segment_id = {},
                                      bool recursive = false) const;
  // Direct child groups of `group` named `name`, in order.
  std::vector<std::size_t> ChildGroups(std::size_t group, std::string_view name) const;

  // Indented tree, one line per group or segment, for debugging and --tree.
  std::string ToString() const;

  // The segment id at `index` as given to Match.
  std::string_view SegmentId(std::size_t index) const { return ids_[index]; }

 private:
  std::vector<Group> groups_;
  std::vector<Placement> placements_;
  std::vector<StructureFinding> findings_;
  std::vector<std::string_view> ids_;

  friend class StructureMatcher;
};

}  // namespace junction::hl7
