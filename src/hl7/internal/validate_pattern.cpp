// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s <regex>
// (std::function in the NFA states) at -O1 with sanitizers; it is confined to
// this file on purpose.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "hl7/internal/validate_pattern.h"

#include <regex>
#include <utility>

namespace junction::hl7::internal {

struct Pattern::Impl {
  std::regex regex;
};

Pattern::Pattern(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pattern::~Pattern() = default;

Result<std::shared_ptr<const Pattern>> Pattern::Compile(const std::string& pattern) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->regex = std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return Status::Invalid(std::string("not a valid regular expression (") + e.what() + ")");
  }
  return std::shared_ptr<const Pattern>(new Pattern(std::move(impl)));
}

bool Pattern::Search(std::string_view text) const {
  try {
    return std::regex_search(text.begin(), text.end(), impl_->regex);
  } catch (const std::regex_error&) {
    return false;  // error_complexity / error_stack: treated as no match
  }
}

}  // namespace junction::hl7::internal
