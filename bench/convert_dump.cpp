// Dumps what junction::fhir::Convert makes of every message in the given files
// (compact and pretty JSON plus the issue list, under four option sets), so
// that two builds of the converter can be compared byte for byte. Used by
// bench/convert-identity.sh; see docs/performance-fhir.md.
//
//   convert_dump FILE... > out.txt
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "junction/fhir/convert.h"
#include "junction/hl7/batch.h"
#include "junction/hl7/message.h"

int main(int argc, char** argv) {
  using namespace junction;
  std::vector<fhir::ConvertOptions> opts(4);
  opts[1].bundle = fhir::BundleType::kBatch;
  opts[1].default_timezone = "Europe/Berlin";
  opts[1].identifier_systems = {{"HOSPA", "http://hospa.example/mrn"}, {"LAB", "urn:oid:1.2.3"}};
  opts[2].bundle = fhir::BundleType::kCollection;
  opts[2].default_timezone = "+05:30";
  opts[2].local_system_base = "http://x.example/id/";
  opts[3].default_timezone = "America/New_York";
  for (int a = 1; a < argc; ++a) {
    std::ifstream f(argv[a], std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string bytes = ss.str();
    hl7::MessageSplitter splitter(bytes);
    hl7::MessageSpan span;
    int n = 0;
    while (splitter.Next(&span)) {
      auto m = hl7::Message::Parse(std::string_view(bytes).substr(span.offset, span.length));
      std::cout << "== " << argv[a] << " #" << n++ << "\n";
      if (!m.ok()) {
        std::cout << "parse: " << m.status().ToString() << "\n";
        continue;
      }
      for (std::size_t o = 0; o < opts.size(); ++o) {
        auto r = fhir::Convert(*m, opts[o]);
        if (!r.ok()) {
          std::cout << "err: " << r.status().ToString() << "\n";
          continue;
        }
        std::cout << fhir::Serialize(r->bundle, o == 0) << "\n";
        if (o == 0) std::cout << fhir::Serialize(r->bundle, false) << "\n";
        for (const auto& i : r->issues) std::cout << i.severity << "|" << i.location << "|" << i.message << "\n";
        // The Bundle moved, and a copy on other storage, still serialize.
        boost::json::object moved = std::move(r->bundle);
        boost::json::value keep(moved, boost::json::storage_ptr());
        if (boost::json::serialize(keep).empty()) std::cout << "empty\n";
      }
    }
  }
}
