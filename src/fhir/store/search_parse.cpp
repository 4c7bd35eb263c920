#include "fhir/store/search_parse.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace junction::fhir::store_internal {

std::vector<std::string> SplitEscaped(std::string_view value, char sep) {
  std::vector<std::string> parts;
  std::string current;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size()) {
      current += c;
      current += value[++i];
    } else if (c == sep) {
      parts.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  parts.push_back(std::move(current));
  return parts;
}

std::string Unescape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) ++i;
    out += value[i];
  }
  return out;
}

std::pair<Prefix, std::string_view> SplitPrefix(std::string_view value) {
  static constexpr std::pair<std::string_view, Prefix> kPrefixes[] = {
      {"eq", Prefix::kEq}, {"ne", Prefix::kNe}, {"gt", Prefix::kGt},
      {"lt", Prefix::kLt}, {"ge", Prefix::kGe}, {"le", Prefix::kLe},
      {"sa", Prefix::kSa}, {"eb", Prefix::kEb}, {"ap", Prefix::kAp}};
  if (value.size() > 2) {
    char next = value[2];
    bool starts_value =
        std::isdigit(static_cast<unsigned char>(next)) || next == '-' || next == '+' || next == '.';
    if (starts_value) {
      for (const auto& [text, prefix] : kPrefixes) {
        if (value.substr(0, 2) == text) return {prefix, value.substr(2)};
      }
    }
  }
  return {Prefix::kEq, value};
}

std::optional<SearchNumber> ParseSearchNumber(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  // Syntax: [+-]digits[.digits][(e|E)[+-]digits]
  std::size_t i = 0;
  if (text[i] == '+' || text[i] == '-') ++i;
  std::size_t int_digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++int_digits;
  int decimals = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++decimals;
  }
  if (int_digits == 0 && decimals == 0) return std::nullopt;
  int exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    std::size_t start = i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    std::size_t digits_start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == digits_start || i - digits_start > 3) return std::nullopt;
    exponent = std::atoi(std::string(text.substr(start, i - start)).c_str());
  }
  if (i != text.size()) return std::nullopt;
  std::string copy(text[0] == '+' ? text.substr(1) : text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return std::nullopt;
  double half = 0.5 * std::pow(10.0, static_cast<double>(exponent - decimals));
  return SearchNumber{value, value - half, value + half};
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendEncoded(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == ',' ||
        c == '/' || c == '$') {
      *out += c;
    } else {
      *out += '%';
      *out += kHex[u >> 4];
      *out += kHex[u & 15];
    }
  }
}

}  // namespace

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!query.empty() && query.front() == '?') query.remove_prefix(1);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    std::size_t eq = piece.find('=');
    std::string_view name = piece.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    params.emplace_back(PercentDecode(name), PercentDecode(value));
  }
  return params;
}

std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    AppendEncoded(name, &out);
    out += '=';
    AppendEncoded(value, &out);
  }
  return out;
}

}  // namespace junction::fhir::store_internal
