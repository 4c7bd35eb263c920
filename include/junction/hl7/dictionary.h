// HL7 v2 dictionary: segments, fields, datatypes, message structures and
// HL7 tables for versions 2.1 to 2.7.1.
//
// The data is generated from the MIT-licensed npm package hl7-dictionary
// 1.0.1 (see tools/gen-dictionary and docs/dictionary.md). Versions 2.8 and
// later are answered with 2.7.1 and flagged, so the caller can warn.
//
//   std::string warning;
//   const Dictionary* dict = Dictionary::Resolve(msh12, &warning);
//   if (dict == nullptr) dict = Dictionary::ForVersion("2.5.1");  // caller's default
//   if (const FieldDef* f = dict->Field("PID", 5)) {
//     std::cout << "PID-5 " << f->name << "\n";  // "PID-5 Patient Name"
//   }
//   const MessageDef* oru = dict->Message(dict->StructureFor("ORU", "R01"));
//
// Ownership and thread safety: every pointer and view returned here refers to
// immutable data with static storage duration; never free it. The data is
// built once, on first use, under a function-local static, so every function
// is safe to call from any thread at any time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace junction::hl7 {

// How a field or component is used (HL7 "OPT" column).
enum class Usage : std::uint8_t {
  kOptional,     // O
  kRequired,     // R
  kConditional,  // C
  kBackward,     // B: kept for backward compatibility
  kUnknown,
};

// "O", "R", "C", "B" or "?".
std::string_view UsageCode(Usage usage);

// A segment field (SEG-n) or a datatype component (TYPE.n).
struct FieldDef {
  std::string_view name;      // short human name: "Patient Name"
  std::string_view datatype;  // "XPN"; "" when the package gives none
  Usage usage = Usage::kUnknown;
  std::uint32_t max_repetitions = 1;  // 0 = unbounded
  std::uint32_t max_length = 0;       // 0 = not given
  int table = 0;                      // HL7 table number; 0 = none

  bool required() const { return usage == Usage::kRequired; }
  bool repeats() const { return max_repetitions != 1; }
};

struct SegmentDef {
  std::string_view id;           // "PID"
  std::string_view description;  // "Patient Identification"
  std::span<const FieldDef> fields;

  // 1-based, as in PID-5; nullptr when out of range.
  const FieldDef* Field(std::size_t position) const;
};

// A datatype. Composite types list their components; primitive types have none.
struct DatatypeDef {
  std::string_view id;           // "XPN"
  std::string_view description;  // "Extended Person Name"
  std::span<const FieldDef> components;

  bool primitive() const { return components.empty(); }
  // 1-based, as in PID-5.1; nullptr when out of range.
  const FieldDef* Component(std::size_t position) const;
};

struct TableValue {
  std::string_view code;
  std::string_view description;
};

struct TableDef {
  int number = 0;                      // 1 for HL7 table 0001
  std::string_view description;        // "Administrative Sex"
  std::span<const TableValue> values;  // sorted by code

  // The description of `code`, or nullptr when the table does not list it.
  const TableValue* Find(std::string_view code) const;
};

enum class MessageNodeKind : std::uint8_t {
  kSegment,
  kGroup,
  kChoice,  // exactly one of the child segments, e.g. "OBR,ORO,RX1" in ORM_O01
};

// One position in a message structure: a segment, a group or a choice.
struct MessageNode {
  MessageNodeKind kind = MessageNodeKind::kSegment;
  std::string_view name;  // "PID", "PATIENT_RESULT", "OBR,ORO,RX1"
  std::string_view description;
  std::uint32_t min = 0;                  // 0 = optional, 1 = required
  std::uint32_t max = 1;                  // 0 = unbounded
  std::span<const MessageNode> children;  // group members or choice alternatives

  bool required() const { return min > 0; }
  bool repeats() const { return max != 1; }
  bool is_group() const { return kind == MessageNodeKind::kGroup; }
};

struct MessageDef {
  std::string_view id;           // "ORU_R01"
  std::string_view description;  // "Unsolicited transmission of an observation message"
  // A group named `id` (min 1, max 1) holding the top-level segments and groups.
  MessageNode root;
};

class Dictionary {
 public:
  // The versions with their own data, oldest first: "2.1" ... "2.7.1".
  static std::span<const std::string_view> Versions();

  // The newest version with data; later versions fall back to it.
  static constexpr std::string_view kNewestVersion = "2.7.1";

  // Exact versions 2.1, 2.2, 2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6, 2.7, 2.7.1.
  // Versions 2.8 and later ("2.8", "2.8.1", "2.8.2", "2.9", ...) return the
  // 2.7.1 dictionary and set *fell_back (when given) to true. Unknown or empty
  // versions return nullptr; the caller picks a default.
  static const Dictionary* ForVersion(std::string_view version, bool* fell_back = nullptr);

  // Like ForVersion, and on fallback or failure writes a one-line
  // human-readable warning to *warning (cleared otherwise).
  static const Dictionary* Resolve(std::string_view version, std::string* warning);

  // HL7 tables; the package's tables are the same for every version.
  static const TableDef* Table(int number);
  static std::span<const TableDef> Tables();

  std::string_view version() const { return version_; }

  // nullptr when this version does not define the id.
  const SegmentDef* Segment(std::string_view id) const;
  const DatatypeDef* Datatype(std::string_view id) const;
  const MessageDef* Message(std::string_view structure_id) const;
  // SEG-position (1-based); nullptr when unknown.
  const FieldDef* Field(std::string_view segment_id, std::size_t position) const;

  // All definitions of this version, sorted by id.
  std::span<const SegmentDef> segments() const { return segments_; }
  std::span<const DatatypeDef> datatypes() const { return datatypes_; }
  std::span<const MessageDef> messages() const { return messages_; }

  // The message structure id for a message type and trigger event, e.g.
  // ("ADT", "A04") -> "ADT_A01". Order of preference:
  //   1. `declared` (MSH-9.3) when this version defines it;
  //   2. from 2.3.1 on, HL7 table 0354 when it names a structure this version
  //      defines (2.5.1's own ADT_A04 entry, for instance, lacks SFT);
  //   3. "<code>_<trigger>" when this version defines it;
  //   4. before 2.3.1, table 0354 as a last resort;
  //   5. "ACK" for code ACK.
  // Returns "" when nothing fits. The view points into static data.
  std::string_view StructureFor(std::string_view code, std::string_view trigger,
                                std::string_view declared = {}) const;

  // Internal: built by the implementation only.
  struct Parts {
    std::string_view version;
    std::span<const SegmentDef> segments;
    std::span<const DatatypeDef> datatypes;
    std::span<const MessageDef> messages;
  };
  explicit Dictionary(const Parts& parts)
      : version_(parts.version),
        segments_(parts.segments),
        datatypes_(parts.datatypes),
        messages_(parts.messages) {}

 private:
  std::string_view version_;
  std::span<const SegmentDef> segments_;
  std::span<const DatatypeDef> datatypes_;
  std::span<const MessageDef> messages_;
};

}  // namespace junction::hl7
