// Validation against the HL7 dictionary (structure, fields, datatypes, tables)
// and against a local Profile. See include/junction/hl7/validate.h and
// docs/validation.md for the checks, codes and severities.
#include "junction/hl7/validate.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "junction/hl7/datatypes.h"
#include "junction/hl7/datetime.h"
#include "junction/hl7/dictionary.h"
#include "junction/hl7/escape.h"
#include "junction/hl7/structure.h"
#include "hl7/internal/validate_pattern.h"

namespace junction::hl7 {

// The compiled form of a Profile: its own copy of the rules (so a later edit of
// the Profile cannot desynchronise them), parsed paths and compiled regexes.
struct Profile::Compiled {
  struct Field {
    Profile::FieldRule rule;
    Path path;
    std::shared_ptr<const internal::Pattern> regex;  // null without a pattern
  };
  std::vector<Field> fields;
  std::vector<Profile::SegmentRule> segments;
  std::string message_code;     // from message_type "ADT^A01": "ADT"
  std::string trigger_event;    // "A01"; "" = any
};

namespace {

constexpr int kSegmentSequence = 100;
constexpr int kRequiredMissing = 101;
constexpr int kDataTypeError = 102;
constexpr int kTableValue = 103;
constexpr int kValueTooLong = 104;
constexpr int kUnsupportedType = 200;
constexpr int kUnsupportedEvent = 201;
constexpr int kUnsupportedVersion = 203;
constexpr int kInternal = 207;

// Offending values are echoed only for coded/format errors, and only this much.
constexpr std::size_t kMaxEcho = 32;
// A composite inside a subcomponent is read as its first component; this bounds
// the chain (TS inside DR inside XPN, ...).
constexpr int kMaxTypeDepth = 6;
// How many allowed values a profile finding lists before "...".
constexpr std::size_t kMaxListedValues = 10;

constexpr std::string_view kNull = "\"\"";

std::string Echo(std::string_view value) {
  std::string out;
  out.reserve(std::min(value.size(), kMaxEcho) + 5);
  out.push_back('\'');
  for (std::size_t i = 0; i < value.size() && i < kMaxEcho; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
  }
  if (value.size() > kMaxEcho) out += "...";
  out.push_back('\'');
  return out;
}

// "HL70001": HL7 table 0396 names HL7's own tables as HL7nnnn.
bool IsHl7TableSystem(std::string_view code) {
  return code.size() == 7 && code.substr(0, 3) == "HL7" &&
         std::all_of(code.begin() + 3, code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsZSegment(std::string_view id) { return !id.empty() && id[0] == 'Z'; }
bool IsHeader(std::string_view id) { return id == "MSH" || id == "BHS" || id == "FHS"; }

// "PID", "OBX[2]", plus "-5", "[2]", ".4", ".1" as given (0 = omitted).
std::string MakePath(std::string_view segment, int occurrence, int field = 0, int repetition = 1,
                     int component = 0, int subcomponent = 0) {
  std::string p(segment);
  if (occurrence > 1) p += "[" + std::to_string(occurrence) + "]";
  if (field <= 0) return p;
  p += "-" + std::to_string(field);
  if (repetition > 1) p += "[" + std::to_string(repetition) + "]";
  if (component > 0) {
    p += "." + std::to_string(component);
    if (subcomponent > 0) p += "." + std::to_string(subcomponent);
  }
  return p;
}

// Where a value sits, for building finding paths without allocating per value.
struct Where {
  std::string_view segment;
  int occurrence = 1;
  int field = 0;
  int repetition = 1;
  int component = 0;
  int subcomponent = 0;
  std::string_view name;  // field or component name, for messages

  std::string Path() const {
    return MakePath(segment, occurrence, field, repetition, component, subcomponent);
  }
};

class Validator {
 public:
  Validator(const Message& msg, const ValidationOptions& options, ValidationReport* report)
      : msg_(msg), options_(options), report_(*report), d_(msg.delimiters()) {}

  void Run();

 private:
  bool Full() const { return report_.truncated; }
  void Add(std::string path, Severity severity, int code, std::string message);

  void ResolveVersion();
  void CheckStructure();
  void CheckSegments();
  void CheckSegment(std::size_t index, int occurrence, const SegmentDef& def);
  void CheckField(Where where, const FieldDef& def, std::string_view raw,
                  std::string_view datatype);
  void CheckValue(const Where& where, std::string_view datatype, int table, std::string_view value,
                  int level, int depth);
  void CheckTable(const Where& where, std::string_view datatype, int table, std::string_view value);
  void CheckProfile(const Profile::Compiled& profile, std::string_view profile_name);
  void CheckProfileField(const Profile::Compiled::Field& rule, std::size_t index, int occurrence);

  const Message& msg_;
  const ValidationOptions& options_;
  ValidationReport& report_;
  const Delimiters& d_;
  const Dictionary* dict_ = nullptr;
  bool newer_version_ = false;  // 2.8+ checked against 2.7.1
  bool skip_tables_ = false;  // for MSH-9 / MSH-12: covered by 200/201/203
  std::vector<int> occurrence_;  // per segment index, 1-based occurrence of its id
};

void Validator::Add(std::string path, Severity severity, int code, std::string message) {
  if (report_.truncated) return;
  if (report_.findings.size() >= options_.max_findings) {
    report_.truncated = true;
    return;
  }
  report_.findings.push_back({std::move(path), severity, code, std::move(message)});
}

void Validator::ResolveVersion() {
  std::string_view version = msg_.Version();
  const Profile* profile = options_.profile;
  if (profile != nullptr && !profile->version.empty()) version = profile->version;
  bool fell_back = false;
  dict_ = Dictionary::ForVersion(version, &fell_back);
  if (dict_ != nullptr && fell_back) {
    newer_version_ = true;
    Add("MSH-12", Severity::kWarning, kUnsupportedVersion,
        "HL7 version " + Echo(version) + " has no dictionary here; checked against " +
            std::string(dict_->version()));
  } else if (dict_ == nullptr) {
    dict_ = Dictionary::ForVersion(options_.fallback_version);
    const char* what = version.empty() ? "no HL7 version given" : nullptr;
    std::string reason = what != nullptr ? what : "unknown HL7 version " + Echo(version);
    if (dict_ == nullptr) {
      dict_ = Dictionary::ForVersion("2.5.1");
      Add("", Severity::kWarning, kInternal,
          "fallback version " + Echo(options_.fallback_version) + " is unknown; using 2.5.1");
    }
    Add("MSH-12", Severity::kWarning, kUnsupportedVersion,
        reason + "; checked against " + std::string(dict_->version()));
  }
  report_.version_used = std::string(dict_->version());
}

void Validator::CheckStructure() {
  std::string_view code = msg_.MessageCode();
  std::string_view trigger = msg_.TriggerEvent();
  std::string_view declared = msg_.StructureId();
  if (code.empty()) return;  // MSH-9 missing: reported as a required field
  if (trigger.empty()) {
    // 2.1 and 2.2 carry the event in EVN-1 (MSH-9 is the type alone).
    if (int evn = msg_.FindSegment("EVN"); evn >= 0) {
      std::string_view evn1 = msg_.FieldRaw(static_cast<std::size_t>(evn), 1).value_or("");
      trigger = NthPiece(evn1, d_.component, 0).value_or("");
    }
  }
  std::string_view structure = dict_->StructureFor(code, trigger, declared);
  const MessageDef* def = structure.empty() ? nullptr : dict_->Message(structure);
  if (def == nullptr) {
    const TableDef* types = Dictionary::Table(76);
    bool known_type = types == nullptr || types->values.empty() || types->Find(code) != nullptr;
    std::string type = std::string(code.substr(0, 8));
    if (!trigger.empty()) type += "^" + std::string(trigger.substr(0, 8));
    if (known_type) {
      Add("MSH-9", Severity::kError, kUnsupportedEvent,
          "no message structure for " + Echo(type) + " in HL7 " + report_.version_used +
              "; segment order not checked");
    } else {
      Add("MSH-9", Severity::kError, kUnsupportedType,
          "unknown message type " + Echo(code) + " in HL7 " + report_.version_used +
              "; segment order not checked");
    }
    return;
  }
  report_.structure = std::string(def->id);
  if (!declared.empty() && declared != def->id) {
    Add("MSH-9.3", Severity::kWarning, kUnsupportedType,
        "message structure " + Echo(declared) + " is not defined in HL7 " + report_.version_used +
            "; checked as " + std::string(def->id));
  }

  std::vector<std::string_view> ids;
  ids.reserve(msg_.SegmentCount());
  for (std::size_t i = 0; i < msg_.SegmentCount(); ++i) ids.push_back(msg_.SegmentId(i));
  Result<MessageStructure> matched = MessageStructure::Match(*def, ids);
  if (!matched.ok()) {
    Add("", Severity::kError, kInternal,
        "segment order not checked: " + matched.status().message());
    return;
  }
  for (const StructureFinding& f : matched->findings()) {
    if (Full()) return;
    if (f.segment_index != StructureFinding::kNoSegment && f.segment_index < ids.size()) {
      std::string_view id = ids[f.segment_index];
      // Unknown segments get their own warning in CheckSegments.
      if (!IsZSegment(id) && dict_->Segment(id) == nullptr) continue;
      std::string path = MakePath(id, occurrence_[f.segment_index]);
      std::string where = f.where.empty() ? std::string() : " in " + f.where;
      if (f.kind == StructureFinding::Kind::kTooManyRepetitions) {
        Add(std::move(path), Severity::kError, kSegmentSequence,
            "segment " + std::string(id) + " repeats more often than " + std::string(def->id) +
                " allows" + where);
      } else {
        Add(std::move(path), Severity::kError, kSegmentSequence,
            "segment " + std::string(id) + " is not expected here in " + std::string(def->id) +
                where);
      }
    } else {
      bool group = f.kind == StructureFinding::Kind::kMissingGroup;
      std::string where = f.where.empty() ? std::string() : " in " + f.where;
      Add(group ? std::string() : f.name, Severity::kError, kSegmentSequence,
          std::string(group ? "required group " : "required segment ") + f.name +
              " is missing" + where + " (" + std::string(def->id) + ")");
    }
  }
}

void Validator::CheckSegments() {
  for (std::size_t i = 0; i < msg_.SegmentCount() && !Full(); ++i) {
    std::string_view id = msg_.SegmentId(i);
    if (IsZSegment(id)) continue;  // local segments: no definition to check against
    const SegmentDef* def = dict_->Segment(id);
    if (def == nullptr) {
      Add(MakePath(id, occurrence_[i]), Severity::kWarning, kSegmentSequence,
          "segment " + Echo(id) + " is not defined in HL7 " + report_.version_used +
              " and is not a Z-segment");
      continue;
    }
    CheckSegment(i, occurrence_[i], *def);
  }
}

void Validator::CheckSegment(std::size_t index, int occurrence, const SegmentDef& def) {
  std::string_view id = def.id;
  const bool header = IsHeader(id);
  const int present = msg_.FieldCount(index);
  const int defined = static_cast<int>(def.fields.size());
  const int last = std::max(present, defined);

  // OBX-5 takes its datatype from OBX-2 (lab results depend on this).
  std::string_view obx_type;
  if (id == "OBX") {
    std::string_view obx2 = msg_.FieldRaw(index, 2).value_or("");
    obx_type = NthPiece(obx2, d_.component, 0).value_or("");
    if (d_.repetition != '\0') obx_type = NthPiece(obx_type, d_.repetition, 0).value_or("");
  }

  for (int f = 1; f <= last && !Full(); ++f) {
    if (header && f <= 2) continue;  // separator and encoding characters
    std::string_view raw = f <= present ? msg_.FieldRaw(index, f).value_or("") : "";
    Where where{id, occurrence, f, 1, 0, 0, {}};
    const FieldDef* fd = def.Field(static_cast<std::size_t>(f));
    if (fd == nullptr) {
      // Later versions add fields; under a 2.8+ fallback that is expected.
      if (!raw.empty() && !newer_version_) {
        Add(where.Path(), Severity::kInfo, kDataTypeError,
            "field is not defined for " + std::string(id) + " in HL7 " + report_.version_used);
      }
      continue;
    }
    where.name = fd->name;
    if (raw.empty()) {
      if (fd->required()) {
        Add(where.Path(), Severity::kError, kRequiredMissing,
            "required field " + std::string(fd->name) + " is missing");
      }
      continue;
    }
    if (raw == kNull) continue;  // present but null: satisfies required, no format
    std::string_view datatype = fd->datatype;
    if (id == "OBX" && f == 5) datatype = obx_type;
    skip_tables_ = header && (f == 9 || f == 12);
    CheckField(where, *fd, raw, datatype);
  }
  skip_tables_ = false;
}

void Validator::CheckField(Where where, const FieldDef& def, std::string_view raw,
                           std::string_view datatype) {
  std::size_t repetitions = 0;
  bool length_reported = false;
  auto check = [&](std::string_view rep, std::size_t i) {
    repetitions = i + 1;
    if (Full() || rep.empty() || rep == kNull) return;
    where.repetition = static_cast<int>(i) + 1;
    if (options_.check_lengths && def.max_length > 0 && rep.size() > def.max_length &&
        !length_reported) {
      length_reported = true;  // once per field is enough
      Add(where.Path(), Severity::kWarning, kValueTooLong,
          std::string(def.name) + " is " + std::to_string(rep.size()) +
              " characters long; the maximum is " + std::to_string(def.max_length));
    }
    CheckValue(where, datatype, def.table, rep, 0, 0);
  };
  if (d_.repetition == '\0') {
    check(raw, 0);
  } else {
    ForEachPiece(raw, d_.repetition, check);
  }
  where.repetition = 1;
  if (def.max_repetitions != 0 && repetitions > def.max_repetitions && !Full()) {
    Add(where.Path(), Severity::kError, kDataTypeError,
        std::string(def.name) + " has " + std::to_string(repetitions) +
            " repetitions; at most " + std::to_string(def.max_repetitions) + " allowed");
  }
}

// Checks one value of `datatype`. level 0 is a field repetition, 1 a component,
// 2 a subcomponent; composites are split on the separator of the next level.
void Validator::CheckValue(const Where& where, std::string_view datatype, int table,
                           std::string_view value, int level, int depth) {
  if (value.empty() || value == kNull || Full() || depth > kMaxTypeDepth) return;
  // The separator that divides this value's own components, or '\0' at the bottom.
  const char split = level == 0 ? d_.component : level == 1 ? d_.subcomponent : '\0';

  Status status;
  std::string_view checked = value;
  if (datatype == "NM") {
    status = ValidateNM(value);
  } else if (datatype == "SI") {
    status = ValidateSI(value);
  } else if (datatype == "DT") {
    status = ValidateDT(value);
  } else if (datatype == "DTM") {
    status = ValidateDTM(value);
  } else if (datatype == "TM") {
    status = ValidateTM(value);
  } else if (datatype == "TS") {
    // TS is "DTM^precision"; only the time itself is checked.
    if (split != '\0') checked = value.substr(0, value.find(split));
    status = ValidateDTM(checked);
  } else if (datatype == "ID" || datatype == "IS") {
    CheckTable(where, datatype, table, value);
    return;
  } else {
    const DatatypeDef* type = datatype.empty() ? nullptr : dict_->Datatype(datatype);
    if (type == nullptr || type->primitive()) return;  // ST, TX, unknown, VARIES: free text
    auto component = [&](std::string_view piece, std::size_t i) {
      const FieldDef* c = type->Component(i + 1);
      if (c == nullptr || Full()) return;
      Where inner = where;
      inner.name = c->name;
      if (level == 0) {
        inner.component = static_cast<int>(i) + 1;
      } else {
        inner.subcomponent = static_cast<int>(i) + 1;
      }
      CheckValue(inner, c->datatype, c->table, piece, level + 1, depth + 1);
    };
    if (split == '\0') {
      // No separator left: a composite here is read as its first component.
      const FieldDef* c = type->Component(1);
      if (c != nullptr) CheckValue(where, c->datatype, c->table, value, level, depth + 1);
    } else {
      ForEachPiece(value, split, component);
    }
    return;
  }
  if (!status.ok()) {
    Add(where.Path(), Severity::kError, kDataTypeError,
        std::string(where.name) + ": " + Echo(checked) + " is not a valid " +
            std::string(datatype) + ": " + status.message());
  }
}

void Validator::CheckTable(const Where& where, std::string_view datatype, int table,
                           std::string_view value) {
  if (!options_.check_tables || skip_tables_ || table <= 0) return;
  std::string decoded;
  std::string_view code = value;
  if (NeedsUnescape(value, d_)) {
    decoded = Unescape(value, d_);
    code = decoded;
  }
  if (table == 125) {
    // Value type: the dictionary's datatypes for this version are the truth
    // (the shared table lacks types retired later, such as CE).
    if (dict_->Datatype(code) != nullptr) return;
  }
  // Coding systems (0396): "L" and "99zzz" name local systems, and the list of
  // external systems grows faster than any edition of the table, so a miss is
  // only a warning.
  const bool extensible = table == 396;
  if (extensible && (code == "L" || code.substr(0, 2) == "99" || IsHl7TableSystem(code))) return;
  const TableDef* def = Dictionary::Table(table);
  if (def == nullptr || def->values.empty()) return;  // no values to check against
  if (def->Find(code) != nullptr) return;
  char number[8];
  std::snprintf(number, sizeof number, "%04d", table % 10000);
  const bool user_defined = datatype == "IS";
  Add(where.Path(), user_defined || extensible ? Severity::kWarning : Severity::kError, kTableValue,
      std::string(where.name) + ": " + Echo(code) + " is not in HL7 table " + number + " (" +
          std::string(def->description) + ")" +
          (user_defined ? "; the table is user-defined, so local values may be fine" : ""));
}

// ---- Profiles ----

std::string_view SplitFirst(std::string_view* s, char sep) {
  std::size_t pos = s->find(sep);
  std::string_view head = s->substr(0, pos);
  *s = pos == std::string_view::npos ? std::string_view() : s->substr(pos + 1);
  return head;
}

// The values a rule addresses in one field: each selected repetition, narrowed
// to the component/subcomponent of the path.
template <typename F>
void ForEachRuleValue(std::string_view field, const Path& path, const Delimiters& d, F&& f) {
  auto narrow = [&](std::string_view rep, std::size_t i) {
    if (path.repetition_given && path.repetition != Path::kAll &&
        static_cast<int>(i) + 1 != path.repetition) {
      return;
    }
    std::string_view v = rep;
    if (path.component > 0) {
      v = NthPiece(rep, d.component, static_cast<std::size_t>(path.component - 1)).value_or("");
      if (path.subcomponent > 0) {
        v = d.subcomponent == '\0'
                ? (path.subcomponent == 1 ? v : std::string_view())
                : NthPiece(v, d.subcomponent, static_cast<std::size_t>(path.subcomponent - 1))
                      .value_or("");
      }
    }
    f(v, static_cast<int>(i) + 1);
  };
  if (d.repetition == '\0') {
    narrow(field, 0);
  } else {
    ForEachPiece(field, d.repetition, narrow);
  }
}

std::string ListValues(const std::set<std::string>& values) {
  std::string out;
  std::size_t n = 0;
  for (const std::string& v : values) {
    if (n == kMaxListedValues) {
      out += ", ...";
      break;
    }
    if (n++ > 0) out += ", ";
    out += v;
  }
  return out;
}

void Validator::CheckProfileField(const Profile::Compiled::Field& rule, std::size_t index,
                                  int occurrence) {
  const Path& p = rule.path;
  const Profile::FieldRule& r = rule.rule;
  std::string_view id = p.SegmentId();
  std::string_view field = msg_.FieldRaw(index, p.field).value_or("");
  if (IsHeader(id) && p.field <= 2) return;  // MSH-1/MSH-2 are delimiters, not values
  auto path_of = [&](int repetition) {
    return MakePath(id, occurrence, p.field, repetition, p.component, p.subcomponent);
  };
  const int shown_rep = p.repetition_given && p.repetition > 0 ? p.repetition : 1;

  // Repetition counts are about the whole field.
  int repetitions = 0;
  if (!field.empty()) {
    ForEachRuleValue(field, Path{}, d_, [&](std::string_view v, int) {
      if (!v.empty()) ++repetitions;
    });
  }
  bool present = false;
  ForEachRuleValue(field, p, d_, [&](std::string_view v, int) {
    if (!v.empty()) present = true;
  });
  if (r.required && !present) {
    Add(path_of(shown_rep), Severity::kError, kRequiredMissing,
        "profile requires " + p.ToString() + " to be valued");
  } else if (r.min_repetitions > 0 && repetitions < r.min_repetitions) {
    Add(path_of(1), Severity::kError, kRequiredMissing,
        "profile requires at least " + std::to_string(r.min_repetitions) +
            " repetition(s); found " + std::to_string(repetitions));
  }
  if (r.max_repetitions > 0 && repetitions > r.max_repetitions) {
    Add(path_of(1), Severity::kError, kDataTypeError,
        "profile allows at most " + std::to_string(r.max_repetitions) + " repetition(s); found " +
            std::to_string(repetitions));
  }
  if (r.allowed.empty() && !rule.regex) return;
  std::string decoded;
  ForEachRuleValue(field, p, d_, [&](std::string_view v, int repetition) {
    if (v.empty() || v == kNull || Full()) return;
    std::string_view text = v;
    if (NeedsUnescape(v, d_)) {
      decoded = Unescape(v, d_);
      text = decoded;
    }
    if (!r.allowed.empty() && r.allowed.find(std::string(text)) == r.allowed.end()) {
      Add(path_of(repetition), Severity::kError, kTableValue,
          Echo(text) + " is not allowed by the profile; expected one of: " +
              ListValues(r.allowed));
    }
    if (rule.regex) {
      if (text.size() > kMaxPatternInput) {
        Add(path_of(repetition), Severity::kError, kDataTypeError,
            "value is too long (" + std::to_string(text.size()) +
                " characters) to check against the profile pattern");
      } else if (!rule.regex->Search(text)) {
        Add(path_of(repetition), Severity::kError, kDataTypeError,
            Echo(text) + " does not match the profile pattern " + Echo(r.pattern));
      }
    }
  });
}

void Validator::CheckProfile(const Profile::Compiled& profile, std::string_view profile_name) {
  std::string name = profile_name.empty() ? std::string("profile") : "profile " + Echo(profile_name);
  if (!profile.message_code.empty()) {
    std::string_view code = msg_.MessageCode();
    std::string_view trigger = msg_.TriggerEvent();
    if (code != profile.message_code) {
      Add("MSH-9.1", Severity::kError, kUnsupportedType,
          "message type " + Echo(code) + " does not match " + name + " (" +
              profile.message_code + "); profile rules not applied");
      return;
    }
    if (!profile.trigger_event.empty() && trigger != profile.trigger_event) {
      Add("MSH-9.2", Severity::kError, kUnsupportedEvent,
          "trigger event " + Echo(trigger) + " does not match " + name + " (" +
              profile.trigger_event + "); profile rules not applied");
      return;
    }
  }
  for (const Profile::SegmentRule& s : profile.segments) {
    if (Full()) return;
    int count = msg_.CountSegments(s.segment);
    if (count < s.min) {
      Add(s.segment, Severity::kError, kSegmentSequence,
          name + " requires segment " + s.segment + " at least " + std::to_string(s.min) +
              " time(s); found " + std::to_string(count));
    } else if (s.max > 0 && count > s.max) {
      Add(s.segment, Severity::kError, kSegmentSequence,
          name + " allows segment " + s.segment + " at most " + std::to_string(s.max) +
              " time(s); found " + std::to_string(count));
    }
  }
  for (const Profile::Compiled::Field& rule : profile.fields) {
    std::string_view id = rule.path.SegmentId();
    if (rule.path.occurrence != Path::kAll && rule.path.occurrence > 1) {
      int index = msg_.FindSegment(id, rule.path.occurrence);
      if (index >= 0) CheckProfileField(rule, static_cast<std::size_t>(index), rule.path.occurrence);
      continue;
    }
    // No occurrence, [1] or [*]: the rule holds for every occurrence present
    // (Path cannot tell "PID-3" from "PID[1]-3").
    for (int occ = 1; !Full(); ++occ) {
      int index = msg_.FindSegment(id, occ);
      if (index < 0) break;
      CheckProfileField(rule, static_cast<std::size_t>(index), occ);
    }
  }
}

void Validator::Run() {
  // Occurrence of each segment's id, for paths like OBX[2]-5.
  occurrence_.assign(msg_.SegmentCount(), 1);
  {
    std::vector<std::pair<std::string_view, int>> seen;
    for (std::size_t i = 0; i < msg_.SegmentCount(); ++i) {
      std::string_view id = msg_.SegmentId(i);
      auto it = std::find_if(seen.begin(), seen.end(),
                             [&](const auto& e) { return e.first == id; });
      if (it == seen.end()) {
        seen.emplace_back(id, 1);
      } else {
        occurrence_[i] = ++it->second;
      }
    }
  }
  ResolveVersion();
  CheckStructure();
  CheckSegments();
  if (const Profile* profile = options_.profile; profile != nullptr && !Full()) {
    std::shared_ptr<const Profile::Compiled> compiled = profile->compiled;
    if (!compiled || compiled->fields.size() != profile->fields.size() ||
        compiled->segments.size() != profile->segments.size()) {
      // Not compiled (or edited since): compile a private copy for this call.
      Profile copy = *profile;
      Status s = CompileProfile(&copy);
      if (!s.ok()) {
        Add("", Severity::kError, kInternal, "invalid profile: " + s.message());
        return;
      }
      compiled = copy.compiled;
    }
    CheckProfile(*compiled, profile->name);
  }
}

}  // namespace

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "info";
  }
  return "error";
}

bool ValidationReport::ok() const { return errors() == 0; }

int ValidationReport::errors() const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [](const Finding& f) {
    return f.severity == Severity::kError;
  }));
}

int ValidationReport::warnings() const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [](const Finding& f) {
    return f.severity == Severity::kWarning;
  }));
}

Status CompileProfile(Profile* profile) {
  auto compiled = std::make_shared<Profile::Compiled>();
  if (!profile->message_type.empty()) {
    std::string_view type = profile->message_type;
    std::string_view code = SplitFirst(&type, '^');
    std::string_view trigger = SplitFirst(&type, '^');
    if (code.empty() || code.size() > 3 || trigger.size() > 3) {
      return Status::Invalid("message_type: expected CODE or CODE^EVENT, e.g. ADT^A01");
    }
    compiled->message_code = std::string(code);
    compiled->trigger_event = std::string(trigger);
  }
  for (std::size_t i = 0; i < profile->segments.size(); ++i) {
    const Profile::SegmentRule& s = profile->segments[i];
    std::string where = "segments[" + std::to_string(i) + "] (" + s.segment + "): ";
    bool id_ok = s.segment.size() == 3 &&
                 std::all_of(s.segment.begin(), s.segment.end(), [](char c) {
                   return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                 });
    if (!id_ok) return Status::Invalid(where + "segment: expected a 3-character segment id");
    if (s.min < 0) return Status::Invalid(where + "min: must be 0 or more");
    if (s.max < 0) return Status::Invalid(where + "max: must be 0 (unbounded) or more");
    if (s.max > 0 && s.min > s.max) return Status::Invalid(where + "min: greater than max");
    compiled->segments.push_back(s);
  }
  for (std::size_t i = 0; i < profile->fields.size(); ++i) {
    const Profile::FieldRule& r = profile->fields[i];
    std::string where = "fields[" + std::to_string(i) + "] (" + r.path + "): ";
    Result<Path> path = Path::Parse(r.path);
    if (!path.ok()) return Status::Invalid(where + "path: " + path.status().message());
    if (path->field <= 0) return Status::Invalid(where + "path: must name a field, e.g. PID-3");
    if (path->occurrence == 0) return Status::Invalid(where + "path: occurrence must be 1 or more");
    if (r.min_repetitions < 0) return Status::Invalid(where + "min_repetitions: must be 0 or more");
    if (r.max_repetitions < 0) return Status::Invalid(where + "max_repetitions: must be 0 or more");
    if (r.max_repetitions > 0 && r.min_repetitions > r.max_repetitions) {
      return Status::Invalid(where + "min_repetitions: greater than max_repetitions");
    }
    Profile::Compiled::Field field{r, *path, nullptr};
    if (!r.pattern.empty()) {
      auto pattern = internal::Pattern::Compile(r.pattern);
      if (!pattern.ok()) return Status::Invalid(where + "pattern: " + pattern.status().message());
      field.regex = *pattern;
    }
    compiled->fields.push_back(std::move(field));
  }
  profile->compiled = std::move(compiled);
  return Status::Ok();
}

ValidationReport Validate(const Message& message, const ValidationOptions& options) {
  ValidationReport report;
  Validator(message, options, &report).Run();
  return report;
}

}  // namespace junction::hl7
