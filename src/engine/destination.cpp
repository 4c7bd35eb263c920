// Destinations (skeleton; being implemented).
#include "junction/engine/destination.h"

namespace junction::engine {

std::string_view DestinationKindName(DestinationKind kind) {
  switch (kind) {
    case DestinationKind::kMllp: return "mllp";
    case DestinationKind::kHttp: return "http";
    case DestinationKind::kFile: return "file";
    case DestinationKind::kChannel: return "channel";
  }
  return "file";
}

Result<std::unique_ptr<Destination>> MakeDestination(const DestinationConfig& config,
                                                     const std::string& channel,
                                                     const DestinationEnv&) {
  return Status::Invalid("channel " + channel + " destination " + config.name +
                         ": destinations are not implemented yet");
}

Result<std::string> ExpandFileName(std::string_view, std::string_view, const std::string&,
                                   const std::string&, std::int64_t, std::int64_t) {
  return Status::Invalid("not implemented yet");
}

}  // namespace junction::engine
