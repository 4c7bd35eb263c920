// HTTP-level helpers: query decoding, Prefer, ETag, dates, status lines.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "fhir/rest/rest_internal.h"

namespace junction::fhir::rest_internal {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Days since 1970-01-01 for a civil date (H. Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool ReadInt(std::string_view s, std::size_t pos, std::size_t len, int* out) {
  if (pos + len > s.size()) return false;
  auto r = std::from_chars(s.data() + pos, s.data() + pos + len, *out);
  return r.ec == std::errc() && r.ptr == s.data() + pos + len;
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
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '|' || c == ',' ||
                 c == '/' || c == '$';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
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
  // YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm); the store writes UTC with 'Z'.
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!ReadInt(instant, 0, 4, &y) || !ReadInt(instant, 5, 2, &mo) || !ReadInt(instant, 8, 2, &d) ||
      !ReadInt(instant, 11, 2, &h) || !ReadInt(instant, 14, 2, &mi) ||
      !ReadInt(instant, 17, 2, &s) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return {};
  }
  std::int64_t seconds =
      DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
      mi * 60 + s;
  std::size_t tz = instant.find_first_of("Z+-", 19);
  if (tz != std::string_view::npos && instant[tz] != 'Z') {
    int oh = 0, om = 0;
    if (ReadInt(instant, tz + 1, 2, &oh) && ReadInt(instant, tz + 4, 2, &om)) {
      int offset = oh * 3600 + om * 60;
      seconds -= instant[tz] == '+' ? offset : -offset;
    }
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string NowInstant() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string StatusLine(int status) {
  const char* text = "";
  switch (status) {
    case 200:
      text = "OK";
      break;
    case 201:
      text = "Created";
      break;
    case 204:
      text = "No Content";
      break;
    case 304:
      text = "Not Modified";
      break;
    case 400:
      text = "Bad Request";
      break;
    case 401:
      text = "Unauthorized";
      break;
    case 403:
      text = "Forbidden";
      break;
    case 404:
      text = "Not Found";
      break;
    case 405:
      text = "Method Not Allowed";
      break;
    case 406:
      text = "Not Acceptable";
      break;
    case 409:
      text = "Conflict";
      break;
    case 410:
      text = "Gone";
      break;
    case 412:
      text = "Precondition Failed";
      break;
    case 413:
      text = "Payload Too Large";
      break;
    case 415:
      text = "Unsupported Media Type";
      break;
    case 422:
      text = "Unprocessable Entity";
      break;
    case 500:
      text = "Internal Server Error";
      break;
    case 503:
      text = "Service Unavailable";
      break;
    default:
      break;
  }
  std::string line = std::to_string(status);
  if (*text) line += std::string(" ") + text;
  return line;
}

std::string_view IssueCode(int status) {
  switch (status) {
    case 400:
      return "invalid";
    case 401:
      return "login";
    case 403:
      return "forbidden";
    case 404:
      return "not-found";
    case 405:
    case 406:
    case 415:
      return "not-supported";
    case 409:
    case 412:
      return "conflict";
    case 410:
      return "deleted";
    case 413:
      return "too-costly";
    case 422:
      return "processing";
    case 503:
      return "transient";
    default:
      return status >= 500 ? "exception" : "invalid";
  }
}

std::optional<std::size_t> ParseCount(std::string_view text) {
  std::size_t value = 0;
  if (text.empty() || text.size() > 9) return std::nullopt;
  auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace junction::fhir::rest_internal
