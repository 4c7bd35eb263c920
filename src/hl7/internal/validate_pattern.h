// A compiled ECMAScript regex for profile patterns, kept behind a small
// interface so <regex> (and its GCC 12 warning quirk) stays in one file.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "junction/hl7/status.h"

namespace junction::hl7::internal {

class Pattern {
 public:
  // Invalid (with the regex library's reason) when `pattern` does not compile.
  static Result<std::shared_ptr<const Pattern>> Compile(const std::string& pattern);
  ~Pattern();
  Pattern(const Pattern&) = delete;
  Pattern& operator=(const Pattern&) = delete;

  // std::regex_search semantics: true when some part of `text` matches.
  // Callers bound `text` (std::regex recurses per character).
  bool Search(std::string_view text) const;

 private:
  struct Impl;
  explicit Pattern(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace junction::hl7::internal
