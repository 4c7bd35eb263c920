// Composite datatype accessors and numeric checks. See datatypes.h.
#include "junction/hl7/datatypes.h"

#include <array>
#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include "junction/hl7/escape.h"
#include "junction/hl7/message.h"

namespace junction::hl7 {
namespace {

// The widest composite here (XCN) has 23 components; pieces beyond N are ignored.
template <std::size_t N>
using Pieces = std::array<std::string_view, N>;

std::string Text(std::string_view raw, const Delimiters& d) {
  if (raw.empty()) return {};
  if (!NeedsUnescape(raw, d)) return std::string(raw);
  return Unescape(raw, d);
}

// Each composite is filled from pieces split on `sep`; the same code serves a
// field (sep = component) and a component (sep = subcomponent).
// An empty composite (most optional ones) is returned without splitting.
HD HdFrom(std::string_view raw, char sep, const Delimiters& d) {
  if (raw.empty()) return {};
  const auto p = FirstPieces<3>(raw, sep);
  return HD{Text(p[0], d), Text(p[1], d), Text(p[2], d)};
}

EI EiFrom(std::string_view raw, char sep, const Delimiters& d) {
  if (raw.empty()) return {};
  const auto p = FirstPieces<4>(raw, sep);
  return EI{Text(p[0], d), Text(p[1], d), Text(p[2], d), Text(p[3], d)};
}

CWE CweFrom(std::string_view raw, char sep, const Delimiters& d) {
  CWE c;
  if (raw.empty()) return c;
  const auto p = FirstPieces<14>(raw, sep);
  c.identifier = Text(p[0], d);
  c.text = Text(p[1], d);
  c.name_of_coding_system = Text(p[2], d);
  c.alternate_identifier = Text(p[3], d);
  c.alternate_text = Text(p[4], d);
  c.name_of_alternate_coding_system = Text(p[5], d);
  c.coding_system_version_id = Text(p[6], d);
  c.alternate_coding_system_version_id = Text(p[7], d);
  c.original_text = Text(p[8], d);
  c.second_alternate_identifier = Text(p[9], d);
  c.second_alternate_text = Text(p[10], d);
  c.name_of_second_alternate_coding_system = Text(p[11], d);
  c.second_alternate_coding_system_version_id = Text(p[12], d);
  c.coding_system_oid = Text(p[13], d);
  return c;
}

// Subcomponent-level parts of a component; only composite components use this.
HD HdSub(std::string_view raw, const Delimiters& d) { return HdFrom(raw, d.subcomponent, d); }
CWE CweSub(std::string_view raw, const Delimiters& d) { return CweFrom(raw, d.subcomponent, d); }

FN FnSub(std::string_view raw, const Delimiters& d) {
  if (raw.empty()) return {};
  const auto p = FirstPieces<5>(raw, d.subcomponent);
  return FN{Text(p[0], d), Text(p[1], d), Text(p[2], d), Text(p[3], d), Text(p[4], d)};
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Shape check shared by ParseNm and SN; the reason names the first bad character.
Status CheckNumber(std::string_view raw) {
  if (raw.empty()) return Status::Invalid("not a number: empty");
  std::size_t i = 0;
  if (raw[0] == '+' || raw[0] == '-') ++i;
  bool digit = false;
  bool point = false;
  for (; i < raw.size(); ++i) {
    const char c = raw[i];
    if (IsDigit(c)) {
      digit = true;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      std::string what;
      if (c == 'e' || c == 'E') {
        what = "exponents are not allowed";
      } else if (c == ' ') {
        what = "space at position " + std::to_string(i + 1);
      } else if (c == '.') {
        what = "second decimal point at position " + std::to_string(i + 1);
      } else if (c == '+' || c == '-') {
        what = "sign must come first";
      } else {
        what = "unexpected character at position " + std::to_string(i + 1);
      }
      return Status::Invalid("not a number: " + what);
    }
  }
  if (!digit) return Status::Invalid("not a number: no digits");
  return Status::Ok();
}

bool IsAbsentOrNull(std::string_view raw) { return raw.empty() || raw == "\"\""; }

}  // namespace

HD ParseHd(std::string_view raw, const Delimiters& d) { return HdFrom(raw, d.component, d); }
HD ParseHdComponent(std::string_view raw, const Delimiters& d) { return HdSub(raw, d); }
EI ParseEi(std::string_view raw, const Delimiters& d) { return EiFrom(raw, d.component, d); }
EI ParseEiComponent(std::string_view raw, const Delimiters& d) {
  return EiFrom(raw, d.subcomponent, d);
}
CWE ParseCwe(std::string_view raw, const Delimiters& d) { return CweFrom(raw, d.component, d); }
CWE ParseCweComponent(std::string_view raw, const Delimiters& d) { return CweSub(raw, d); }

std::string ParseText(std::string_view raw, const Delimiters& d) { return Text(raw, d); }

CX ParseCx(std::string_view raw, const Delimiters& d) {
  CX cx;
  if (raw.empty()) return cx;
  const auto p = FirstPieces<10>(raw, d.component);
  cx.id_number = Text(p[0], d);
  cx.check_digit = Text(p[1], d);
  cx.check_digit_scheme = Text(p[2], d);
  cx.assigning_authority = HdSub(p[3], d);
  cx.identifier_type_code = Text(p[4], d);
  cx.assigning_facility = HdSub(p[5], d);
  cx.effective_date = Text(p[6], d);
  cx.expiration_date = Text(p[7], d);
  cx.assigning_jurisdiction = CweSub(p[8], d);
  cx.assigning_agency_or_department = CweSub(p[9], d);
  return cx;
}

XPN ParseXpn(std::string_view raw, const Delimiters& d) {
  XPN x;
  if (raw.empty()) return x;
  const auto p = FirstPieces<14>(raw, d.component);
  x.family = FnSub(p[0], d);
  x.family_name = x.family.surname;
  x.given_name = Text(p[1], d);
  x.second_and_further_given_names = Text(p[2], d);
  x.suffix = Text(p[3], d);
  x.prefix = Text(p[4], d);
  x.degree = Text(p[5], d);
  x.name_type_code = Text(p[6], d);
  x.name_representation_code = Text(p[7], d);
  x.name_context = CweSub(p[8], d);
  x.name_validity_range = Text(p[9], d);
  x.name_assembly_order = Text(p[10], d);
  x.effective_date = Text(p[11], d);
  x.expiration_date = Text(p[12], d);
  x.professional_suffix = Text(p[13], d);
  return x;
}

XAD ParseXad(std::string_view raw, const Delimiters& d) {
  XAD x;
  if (raw.empty()) return x;
  const auto p = FirstPieces<14>(raw, d.component);
  const auto sad = FirstPieces<3>(p[0], d.subcomponent);
  x.street_address = SAD{Text(sad[0], d), Text(sad[1], d), Text(sad[2], d)};
  x.street = x.street_address.street_or_mailing_address;
  x.other_designation = Text(p[1], d);
  x.city = Text(p[2], d);
  x.state_or_province = Text(p[3], d);
  x.zip_or_postal_code = Text(p[4], d);
  x.country = Text(p[5], d);
  x.address_type = Text(p[6], d);
  x.other_geographic_designation = Text(p[7], d);
  x.county_parish_code = Text(p[8], d);
  x.census_tract = Text(p[9], d);
  x.address_representation_code = Text(p[10], d);
  x.address_validity_range = Text(p[11], d);
  x.effective_date = Text(p[12], d);
  x.expiration_date = Text(p[13], d);
  return x;
}

XTN ParseXtn(std::string_view raw, const Delimiters& d) {
  XTN x;
  if (raw.empty()) return x;
  const auto p = FirstPieces<12>(raw, d.component);
  x.telephone_number = Text(p[0], d);
  x.telecom_use_code = Text(p[1], d);
  x.equipment_type = Text(p[2], d);
  x.email_address = Text(p[3], d);
  x.country_code = Text(p[4], d);
  x.area_city_code = Text(p[5], d);
  x.local_number = Text(p[6], d);
  x.extension = Text(p[7], d);
  x.any_text = Text(p[8], d);
  x.extension_prefix = Text(p[9], d);
  x.speed_dial_code = Text(p[10], d);
  x.unformatted_telephone_number = Text(p[11], d);
  return x;
}

XCN ParseXcn(std::string_view raw, const Delimiters& d) {
  XCN x;
  if (raw.empty()) return x;
  const auto p = FirstPieces<23>(raw, d.component);
  x.id_number = Text(p[0], d);
  x.family = FnSub(p[1], d);
  x.family_name = x.family.surname;
  x.given_name = Text(p[2], d);
  x.second_and_further_given_names = Text(p[3], d);
  x.suffix = Text(p[4], d);
  x.prefix = Text(p[5], d);
  x.degree = Text(p[6], d);
  x.source_table = Text(p[7], d);
  x.assigning_authority = HdSub(p[8], d);
  x.name_type_code = Text(p[9], d);
  x.identifier_check_digit = Text(p[10], d);
  x.check_digit_scheme = Text(p[11], d);
  x.identifier_type_code = Text(p[12], d);
  x.assigning_facility = HdSub(p[13], d);
  x.name_representation_code = Text(p[14], d);
  x.name_context = CweSub(p[15], d);
  x.name_validity_range = Text(p[16], d);
  x.name_assembly_order = Text(p[17], d);
  x.effective_date = Text(p[18], d);
  x.expiration_date = Text(p[19], d);
  x.professional_suffix = Text(p[20], d);
  x.assigning_jurisdiction = CweSub(p[21], d);
  x.assigning_agency_or_department = CweSub(p[22], d);
  return x;
}

Result<double> ParseNm(std::string_view raw) {
  JUNCTION_RETURN_IF_ERROR(CheckNumber(raw));
  // from_chars takes no leading '+' and no bare "5." / ".5" edge cases differ
  // between libraries, so hand it a normalised copy: sign, digits, point, digits.
  std::string text;
  std::size_t i = 0;
  if (raw[0] == '-') text.push_back('-');
  if (raw[0] == '+' || raw[0] == '-') i = 1;
  std::string_view body = raw.substr(i);
  if (body.front() == '.') text.push_back('0');
  text.append(body);
  if (text.back() == '.') text.pop_back();
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return Status::Invalid("number out of range");
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::Invalid("not a number");
  }
  return value;
}

Result<std::uint32_t> ParseSi(std::string_view raw) {
  if (raw.empty()) return Status::Invalid("not a sequence number: empty");
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (!IsDigit(raw[i])) {
      if (raw[i] == '-' && i == 0) {
        return Status::Invalid("not a sequence number: negative");
      }
      return Status::Invalid("not a sequence number: unexpected character at position " +
                             std::to_string(i + 1));
    }
    if (i >= 4) return Status::Invalid("sequence number has more than 4 digits");
    value = value * 10 + static_cast<std::uint32_t>(raw[i] - '0');
  }
  return value;
}

Result<SN> ParseSn(std::string_view raw, const Delimiters& d) {
  const auto p = FirstPieces<5>(raw, d.component);
  if (!p[4].empty()) return Status::Invalid("SN has at most 4 components");
  SN sn{Text(p[0], d), Text(p[1], d), Text(p[2], d), Text(p[3], d)};
  static constexpr std::array<std::string_view, 6> kComparators = {">", "<", ">=", "<=", "=", "<>"};
  if (!sn.comparator.empty()) {
    bool known = false;
    for (auto c : kComparators) known = known || sn.comparator == c;
    if (!known) {
      return Status::Invalid("comparator \"" + sn.comparator + "\" is not one of > < >= <= = <>");
    }
  }
  if (!sn.num1.empty()) {
    Status s = CheckNumber(sn.num1);
    if (!s.ok()) return Status::Invalid("first number: " + s.message());
  }
  if (!sn.num2.empty()) {
    Status s = CheckNumber(sn.num2);
    if (!s.ok()) return Status::Invalid("second number: " + s.message());
  }
  const std::string& sep = sn.separator_suffix;
  if (sep.empty()) {
    if (!sn.num2.empty()) return Status::Invalid("second number without a separator");
  } else if (sep == "+") {
    if (sn.num1.empty()) return Status::Invalid("suffix \"+\" needs a first number");
    if (!sn.num2.empty()) return Status::Invalid("suffix \"+\" takes no second number");
  } else if (sep == "-" || sep == "/" || sep == "." || sep == ":") {
    if (sn.num1.empty() || sn.num2.empty()) {
      return Status::Invalid("separator \"" + sep + "\" needs a number on both sides");
    }
  } else {
    return Status::Invalid("separator/suffix \"" + sep + "\" is not one of - + / . :");
  }
  if (sn.num1.empty() && sn.num2.empty()) return Status::Invalid("SN has no number");
  return sn;
}

Status ValidateNM(std::string_view raw) {
  if (IsAbsentOrNull(raw)) return Status::Ok();
  return ParseNm(raw).status();
}

Status ValidateSI(std::string_view raw) {
  if (IsAbsentOrNull(raw)) return Status::Ok();
  return ParseSi(raw).status();
}

Status ValidateSN(std::string_view raw, const Delimiters& d) {
  if (IsAbsentOrNull(raw)) return Status::Ok();
  return ParseSn(raw, d).status();
}

}  // namespace junction::hl7
