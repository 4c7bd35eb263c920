// HTTP-level helpers: query decoding, Prefer, ETag, dates, status lines.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "fhir/rest/rest_internal.h"
#include "fhir/store/index_values.h"
#include "fhir/store/search_parse.h"

namespace junction::fhir::rest_internal {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  if (!plus_is_space) return store_internal::PercentDecode(text);
  std::string spaced(text);  // a form body: '+' is a space, a literal '+' is %2B
  std::replace(spaced.begin(), spaced.end(), '+', ' ');
  return store_internal::PercentDecode(spaced);
}

Params ParseQuery(std::string_view raw, bool plus_is_space) {
  Params params;
  while (!raw.empty()) {
    std::size_t amp = raw.find('&');
    std::string_view part = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    std::string name = PercentDecode(part.substr(0, eq), plus_is_space);
    std::string value = eq == std::string_view::npos
                            ? std::string{}
                            : PercentDecode(part.substr(eq + 1), plus_is_space);
    if (!name.empty()) params.emplace_back(std::move(name), std::move(value));
  }
  return params;
}

std::string PreferValue(const RestRequest& request, std::string_view key) {
  // Prefer: return=minimal, handling=strict (',' or ';' separated, maybe several headers).
  for (const auto& [name, value] : request.headers) {
    if (!EqualsIgnoreCase(name, "prefer")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      std::size_t cut = rest.find_first_of(",;");
      std::string_view token = Trim(rest.substr(0, cut));
      rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + 1);
      std::size_t eq = token.find('=');
      if (eq == std::string_view::npos) continue;
      if (!EqualsIgnoreCase(Trim(token.substr(0, eq)), key)) continue;
      std::string_view v = Trim(token.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
  }
  return {};
}

std::string EtagVersion(std::string_view header) {
  std::string_view v = Trim(header);
  if (v.size() >= 2 && (v.substr(0, 2) == "W/" || v.substr(0, 2) == "w/")) v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 20) return {};
  for (char c : v) {
    if (c < '0' || c > '9') return {};
  }
  return std::string(v);
}

std::string Etag(std::int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

std::string HttpDate(std::string_view instant) {
  auto range = store_internal::ParseDateRange(instant);
  if (!range || instant.size() < 19) return {};  // an instant, not a bare date
  std::time_t t =
      static_cast<std::time_t>(range->lo_us / 1'000'000 - (range->lo_us % 1'000'000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string NowInstant() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return store_internal::FormatInstant(
      std::chrono::duration_cast<std::chrono::microseconds>(now).count());
}

std::string_view IssueCode(int status) { return IssueTypeForStatus(status); }

std::optional<std::size_t> ParseCount(std::string_view text) {
  std::size_t value = 0;
  if (text.empty() || text.size() > 9) return std::nullopt;
  auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace junction::fhir::rest_internal
