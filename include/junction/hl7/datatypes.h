// Typed accessors for HL7 v2 composite datatypes, and checks for numeric ones.
//
//   Delimiters d;                                  // or msg->delimiters()
//   XPN name = ParseXpn("O\\T\\BRIEN&VAN^JOHN^^^DR", d);
//   name.family_name;    // "O&BRIEN" (escapes decoded)
//   name.family.own_surname_prefix; // "VAN"
//   CX id = ParseCx("12345^^^HOSP&1.2.3&ISO^MR", d);
//   id.assigning_authority.universal_id;  // "1.2.3"
//   Result<double> n = ParseNm("-12.5");      // -12.5; "1e3" is "not a number"
//
// Every Parse* takes the raw text of ONE field repetition (or of one component
// for types that can sit inside another, see "as a component" below) and the
// message's Delimiters. The text is split on the raw separators first and each
// piece is then unescaped, so "\T\" yields a literal '&' that never splits.
//
// Members are named after HL7 v2.5.1 (with later additions where noted) and hold
// decoded text in the message's character set (see charset.h for UTF-8):
//  - an absent or empty component is "";
//  - a present-but-null component (`""` on the wire) stays the two characters `""`,
//    so callers can tell "delete this value" from "no value";
//  - components past the last one a struct knows are ignored;
//  - a component that is a primitive type in 2.5.1 is decoded whole: if a
//    sender put a subcomponent separator in it anyway, that character is kept
//    rather than the rest of the text being dropped;
//  - composite components (HD inside CX, FN inside XPN, SAD inside XAD, CWE
//    inside CX) are split on the subcomponent separator. With only 3 declared
//    encoding characters (no subcomponent separator) they are not split.
// Date members (effective_date, ...) are kept as text; use ParseDt / ParseDtm.
//
// Composite parsers cannot fail: HL7 receivers keep what they can read. The
// numeric types (NM, SI, SN) report malformed text as Status::Invalid.
//
// Type names are the HL7 datatype codes (XPN, CX, ...) because that is what the
// standard and every interface spec call them.
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "junction/hl7/datetime.h"
#include "junction/hl7/delimiters.h"
#include "junction/hl7/status.h"

namespace junction::hl7 {

// HD: hierarchic designator.
struct HD {
  std::string namespace_id;       // HD-1 (IS)
  std::string universal_id;       // HD-2 (ST), e.g. an OID
  std::string universal_id_type;  // HD-3 (ID), e.g. "ISO", "DNS"
};

// CWE (coded with exceptions); also used for CE (2.5.1 components 1-6) and
// CNE (same layout as CWE).
struct CWE {
  std::string identifier;                                 // 1
  std::string text;                                       // 2
  std::string name_of_coding_system;                      // 3
  std::string alternate_identifier;                       // 4
  std::string alternate_text;                             // 5
  std::string name_of_alternate_coding_system;            // 6
  std::string coding_system_version_id;                   // 7 (2.5+)
  std::string alternate_coding_system_version_id;         // 8 (2.5+)
  std::string original_text;                              // 9 (2.5+)
  std::string second_alternate_identifier;                // 10 (2.7+)
  std::string second_alternate_text;                      // 11 (2.7+)
  std::string name_of_second_alternate_coding_system;     // 12 (2.7+)
  std::string second_alternate_coding_system_version_id;  // 13 (2.7+)
  std::string coding_system_oid;                          // 14 (2.7+)
};
using CE = CWE;
using CNE = CWE;

// CX: extended composite ID with check digit.
struct CX {
  std::string id_number;               // CX-1
  std::string check_digit;             // CX-2
  std::string check_digit_scheme;      // CX-3
  HD assigning_authority;              // CX-4 (subcomponents)
  std::string identifier_type_code;    // CX-5, e.g. "MR"
  HD assigning_facility;               // CX-6 (subcomponents)
  std::string effective_date;          // CX-7 (DT)
  std::string expiration_date;         // CX-8 (DT)
  CWE assigning_jurisdiction;          // CX-9 (subcomponents, 2.5+)
  CWE assigning_agency_or_department;  // CX-10 (subcomponents, 2.5+)
};

// FN: family name (the subcomponents of XPN-1 / XCN-2).
struct FN {
  std::string surname;                      // FN-1
  std::string own_surname_prefix;           // FN-2
  std::string own_surname;                  // FN-3
  std::string surname_prefix_from_partner;  // FN-4
  std::string surname_from_partner;         // FN-5
};

// XPN: extended person name.
struct XPN {
  std::string family_name;                     // XPN-1.1 (FN surname): the usual "family name"
  FN family;                                   // XPN-1 with all of its subcomponents
  std::string given_name;                      // 2
  std::string second_and_further_given_names;  // 3 (or initials)
  std::string suffix;                          // 4, e.g. "JR"
  std::string prefix;                          // 5, e.g. "DR"
  std::string degree;                          // 6 (deprecated)
  std::string name_type_code;                  // 7, e.g. "L"
  std::string name_representation_code;        // 8
  CWE name_context;                            // 9 (subcomponents)
  std::string name_validity_range;             // 10 (DR, raw-decoded; deprecated)
  std::string name_assembly_order;             // 11
  std::string effective_date;                  // 12 (TS)
  std::string expiration_date;                 // 13 (TS)
  std::string professional_suffix;             // 14
};

// SAD: street address (the subcomponents of XAD-1).
struct SAD {
  std::string street_or_mailing_address;  // SAD-1
  std::string street_name;                // SAD-2
  std::string dwelling_number;            // SAD-3
};

// XAD: extended address.
struct XAD {
  std::string street;                        // XAD-1.1 (SAD street or mailing address)
  SAD street_address;                        // XAD-1 with all of its subcomponents
  std::string other_designation;             // 2
  std::string city;                          // 3
  std::string state_or_province;             // 4
  std::string zip_or_postal_code;            // 5
  std::string country;                       // 6
  std::string address_type;                  // 7, e.g. "H"
  std::string other_geographic_designation;  // 8
  std::string county_parish_code;            // 9
  std::string census_tract;                  // 10
  std::string address_representation_code;   // 11
  std::string address_validity_range;        // 12 (DR, raw-decoded; deprecated)
  std::string effective_date;                // 13 (TS)
  std::string expiration_date;               // 14 (TS)
};

// XTN: extended telecommunication number.
struct XTN {
  std::string telephone_number;              // 1: the legacy formatted number, e.g. "(555)555-1234"
  std::string telecom_use_code;              // 2, e.g. "PRN", "NET"
  std::string equipment_type;                // 3, e.g. "PH", "Internet"
  std::string email_address;                 // 4
  std::string country_code;                  // 5 (NM)
  std::string area_city_code;                // 6 (NM)
  std::string local_number;                  // 7 (NM)
  std::string extension;                     // 8 (NM)
  std::string any_text;                      // 9
  std::string extension_prefix;              // 10
  std::string speed_dial_code;               // 11
  std::string unformatted_telephone_number;  // 12
};

// XCN: extended composite ID number and name for persons.
struct XCN {
  std::string id_number;                       // 1
  std::string family_name;                     // 2.1 (FN surname)
  FN family;                                   // 2 with all of its subcomponents
  std::string given_name;                      // 3
  std::string second_and_further_given_names;  // 4
  std::string suffix;                          // 5
  std::string prefix;                          // 6
  std::string degree;                          // 7
  std::string source_table;                    // 8
  HD assigning_authority;                      // 9 (subcomponents)
  std::string name_type_code;                  // 10
  std::string identifier_check_digit;          // 11
  std::string check_digit_scheme;              // 12
  std::string identifier_type_code;            // 13
  HD assigning_facility;                       // 14 (subcomponents)
  std::string name_representation_code;        // 15
  CWE name_context;                            // 16 (subcomponents)
  std::string name_validity_range;             // 17 (DR, raw-decoded; deprecated)
  std::string name_assembly_order;             // 18
  std::string effective_date;                  // 19
  std::string expiration_date;                 // 20
  std::string professional_suffix;             // 21
  CWE assigning_jurisdiction;                  // 22 (subcomponents)
  CWE assigning_agency_or_department;          // 23 (subcomponents)
};

// EI: entity identifier.
struct EI {
  std::string entity_identifier;  // 1
  std::string namespace_id;       // 2
  std::string universal_id;       // 3
  std::string universal_id_type;  // 4
};

// SN: structured numeric, e.g. ">^100", "^1^:^128", "^2^-^4", "^2^+".
struct SN {
  std::string comparator;        // "", ">", "<", ">=", "<=", "=", "<>"
  std::string num1;              // NM text as written
  std::string separator_suffix;  // "", "-", "+", "/", ".", ":"
  std::string num2;              // NM text as written
};

// Field-level parsers: `raw` is one repetition of a field of that type.
HD ParseHd(std::string_view raw, const Delimiters& d);
CX ParseCx(std::string_view raw, const Delimiters& d);
XPN ParseXpn(std::string_view raw, const Delimiters& d);
XAD ParseXad(std::string_view raw, const Delimiters& d);
XTN ParseXtn(std::string_view raw, const Delimiters& d);
CWE ParseCwe(std::string_view raw, const Delimiters& d);
inline CE ParseCe(std::string_view raw, const Delimiters& d) { return ParseCwe(raw, d); }
inline CNE ParseCne(std::string_view raw, const Delimiters& d) { return ParseCwe(raw, d); }
XCN ParseXcn(std::string_view raw, const Delimiters& d);
EI ParseEi(std::string_view raw, const Delimiters& d);

// "As a component": the same types when they sit inside another field's
// component (e.g. MSH-4 is HD at field level, but CX-4 holds an HD in one
// component). `raw` is that component; its parts are subcomponents.
HD ParseHdComponent(std::string_view raw, const Delimiters& d);
EI ParseEiComponent(std::string_view raw, const Delimiters& d);
CWE ParseCweComponent(std::string_view raw, const Delimiters& d);

// ID, IS, ST and other primitive text values: the decoded text.
std::string ParseText(std::string_view raw, const Delimiters& d);
inline std::string ParseId(std::string_view raw, const Delimiters& d) { return ParseText(raw, d); }
inline std::string ParseIs(std::string_view raw, const Delimiters& d) { return ParseText(raw, d); }

// NM: an optional leading '+' or '-', digits, and an optional decimal point
// ("12", "-0.5", ".5", "5."; at least one digit). No exponent, no spaces, no
// thousands separators. Reasons: "not a number: ...", "number out of range".
Result<double> ParseNm(std::string_view raw);
// SI: a non-negative integer of at most 4 digits (HL7 length 4).
Result<std::uint32_t> ParseSi(std::string_view raw);
// SN with validation (see SN): comparator and separator from the HL7 lists,
// num1/num2 valid NM, num2 only after a separator, "+" only as a suffix of num1,
// and "-", "/", ".", ":" only between two numbers.
Result<SN> ParseSn(std::string_view raw, const Delimiters& d);

// Validators for the datatype checker (the date/time ones are in datetime.h).
// Empty text (absent) and `""` (present-but-null) are Ok; see datetime.h.
Status ValidateNM(std::string_view raw);
Status ValidateSI(std::string_view raw);
Status ValidateSN(std::string_view raw, const Delimiters& d);

}  // namespace junction::hl7
