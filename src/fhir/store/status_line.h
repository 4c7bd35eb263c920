// "200 OK": an HTTP status code with its reason phrase, as FHIR Bundle entry
// responses (`response.status`) and AuditEvent.outcomeDesc carry it. Shared by
// junction::fhir_store (audit rendering) and junction::fhir_rest (Bundles);
// the phrases are Boost.Beast's table.
//
//   StatusLine(201)   // "201 Created"
//   StatusLine(299)   // "299" (no phrase for an unknown code)
//
// Thread safety: pure function.
#pragma once

#include <boost/beast/http/status.hpp>
#include <cstdint>
#include <string>

namespace junction::fhir::store_internal {

inline std::string StatusLine(std::int64_t status) {
  namespace http = boost::beast::http;
  std::string line = std::to_string(status);
  const http::status known = status > 0 && status < 1000
                                 ? http::int_to_status(static_cast<unsigned>(status))
                                 : http::status::unknown;
  if (known != http::status::unknown) {
    line.push_back(' ');
    line.append(http::obsolete_reason(known));
  }
  return line;
}

}  // namespace junction::fhir::store_internal
