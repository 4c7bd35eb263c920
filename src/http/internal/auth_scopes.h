// Scope helpers shared by the token endpoint and `junction token`.
//
//   ScopeCovers("user/*.*", "user/Observation.rs")  // true
//   SplitScopes("openid  user/*.rs")                // {"openid", "user/*.rs"}
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/status.h"

namespace junction::http::internal {

inline constexpr std::size_t kMaxScopes = 256;
inline constexpr std::size_t kMaxScopeBytes = 256;

// Whether granting `allowed` also grants `requested`: the same string, or two
// SMART scopes of the same context where allowed's type is `*` or the same
// and its permissions include requested's (v1 and v2 compare by meaning:
// `read` == `rs`, `write` == `cud`, `*` == `cruds`).
bool ScopeCovers(std::string_view allowed, std::string_view requested);

// Whether some scope in `allowed` covers `requested`.
bool AnyCovers(const std::vector<std::string>& allowed, std::string_view requested);

// Splits a space-separated scope list, dropping empty items and duplicates.
// kInvalidArgument past kMaxScopes items or kMaxScopeBytes per item.
Result<std::vector<std::string>> SplitScopes(std::string_view text);

}  // namespace junction::http::internal
