// The resource types of FHIR R4 (4.0.1): the concrete codes of the
// ResourceType value set (http://hl7.org/fhir/ValueSet/resource-types,
// without the abstract Resource and DomainResource). Routing, writes and
// Bundle entries accept only these; IsValidTypeName stays a syntax check.
//
//   if (!IsR4ResourceType("Patient")) ...  // false for "NoSuchType"
//
// Thread safety: constant data.
#pragma once

#include <span>
#include <string_view>

namespace junction::fhir::store_internal {

// True when `type` is a concrete R4 resource type (case-sensitive).
bool IsR4ResourceType(std::string_view type);

// The 146 names, sorted.
std::span<const std::string_view> R4ResourceTypes();

}  // namespace junction::fhir::store_internal
