#include "fhir/store/patient_compartment.h"

#include <map>

namespace junction::fhir::store_internal {

const std::vector<std::string_view>& PatientCompartmentParams(std::string_view type) {
  // From the R4 CompartmentDefinition "patient", for the types we index.
  static const std::map<std::string_view, std::vector<std::string_view>, std::less<>> kParams = {
      {"AllergyIntolerance", {"patient", "recorder", "asserter"}},
      {"Appointment", {"actor"}},
      {"AuditEvent", {"patient"}},
      {"Condition", {"patient", "asserter"}},
      {"Coverage", {"policy-holder", "subscriber", "beneficiary", "payor"}},
      {"DiagnosticReport", {"subject"}},
      {"DocumentReference", {"subject", "author"}},
      {"Encounter", {"patient"}},
      {"Immunization", {"patient"}},
      {"MedicationAdministration", {"patient", "performer", "subject"}},
      {"MedicationRequest", {"subject"}},
      {"MedicationStatement", {"subject"}},
      {"Observation", {"subject", "performer"}},
      {"Patient", {"link"}},
      {"Procedure", {"patient", "performer"}},
      {"Provenance", {"patient"}},
      {"RelatedPerson", {"patient"}},
      {"ServiceRequest", {"subject", "performer"}},
      {"Specimen", {"subject"}},
  };
  static const std::vector<std::string_view> kNone;
  auto it = kParams.find(type);
  return it == kParams.end() ? kNone : it->second;
}

}  // namespace junction::fhir::store_internal
