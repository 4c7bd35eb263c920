// The R4 Patient CompartmentDefinition (private to junction::fhir_store):
// for each resource type, the search parameters whose Patient references
// put a resource into that patient's compartment. A Patient is in its own
// compartment (and, through `link`, in those of the patients it links to).
//
//   PatientCompartmentParams("Observation")  // {"subject", "performer"}
//
// Thread safety: immutable data.
#pragma once

#include <string_view>
#include <vector>

namespace junction::fhir::store_internal {

// Empty for types outside the compartment (Practitioner, Organization, ...).
const std::vector<std::string_view>& PatientCompartmentParams(std::string_view type);

}  // namespace junction::fhir::store_internal
