// File-name templates: CheckFileNameTemplate (config time) and ExpandFileName
// (per message). Substituted values are reduced to [A-Za-z0-9._-] so a message
// can never choose a directory or a hidden path outside the configured dir.
#include <ctime>
#include <optional>

#include "engine/internal/destination_names.h"
#include "junction/engine/destination.h"
#include "junction/hl7/message.h"
#include "junction/hl7/path.h"

namespace junction::engine {
namespace {

bool IsBuiltin(std::string_view name) {
  return name == "id" || name == "channel" || name == "destination" || name == "date" ||
         name == "time";
}

bool IsSafe(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string Safe(std::string_view value) {
  std::string out;
  out.reserve(std::min(value.size(), internal::kMaxPlaceholderBytes));
  for (char c : value) {
    if (out.size() >= internal::kMaxPlaceholderBytes) break;
    out.push_back(IsSafe(c) ? c : '_');
  }
  return out;
}

// Walks the template: literal text and placeholder names, in order.
template <typename Literal, typename Placeholder>
Status Walk(std::string_view t, Literal on_literal, Placeholder on_placeholder) {
  std::size_t i = 0;
  while (i < t.size()) {
    const std::size_t open = t.find_first_of("{}", i);
    const std::string_view literal =
        t.substr(i, open == std::string_view::npos ? t.npos : open - i);
    for (char c : literal) {
      if (c == '/' || c == '\\' || c == '\0') {
        return Status::Invalid(
            "the name must not contain '/', '\\' or NUL (it names a file in dir)");
      }
    }
    JUNCTION_RETURN_IF_ERROR(on_literal(literal));
    if (open == std::string_view::npos) break;
    if (t[open] == '}') return Status::Invalid("'}' without '{'");
    const std::size_t close = t.find_first_of("{}", open + 1);
    if (close == std::string_view::npos || t[close] != '}') {
      return Status::Invalid("'{' without '}'");
    }
    const std::string_view name = t.substr(open + 1, close - open - 1);
    if (!IsBuiltin(name) && !hl7::Path::Parse(name).ok()) {
      return Status::Invalid("unknown placeholder {" + std::string(name) +
                             "} (expected an HL7 path such as {MSH-10}, or {id}, {channel}, "
                             "{destination}, {date}, {time})");
    }
    JUNCTION_RETURN_IF_ERROR(on_placeholder(name));
    i = close + 1;
  }
  return Status::Ok();
}

}  // namespace

namespace internal {

Status CheckFileNameTemplate(std::string_view name_template) {
  if (name_template.empty()) return Status::Invalid("must not be empty");
  return Walk(
      name_template, [](std::string_view) { return Status::Ok(); },
      [](std::string_view) { return Status::Ok(); });
}

}  // namespace internal

Result<std::string> ExpandFileName(std::string_view name_template, std::string_view payload,
                                   const std::string& channel, const std::string& destination,
                                   std::int64_t message_id, std::int64_t now_us) {
  std::optional<Result<hl7::Message>> message;  // parsed on the first HL7 path
  std::tm tm{};
  const std::time_t seconds = static_cast<std::time_t>(now_us / 1'000'000);
  gmtime_r(&seconds, &tm);
  std::string out;
  Status st = Walk(
      name_template,
      [&](std::string_view literal) {
        out.append(literal);
        return Status::Ok();
      },
      [&](std::string_view name) {
        char buf[32];
        if (name == "id") {
          out += std::to_string(message_id);
        } else if (name == "channel") {
          out += Safe(channel);
        } else if (name == "destination") {
          out += Safe(destination);
        } else if (name == "date") {
          std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
          out += buf;
        } else if (name == "time") {
          std::strftime(buf, sizeof buf, "%H%M%S", &tm);
          out += buf;
        } else {
          if (!message) message.emplace(hl7::Message::Parse(payload));
          if (!(*message).ok()) {
            return Status::Invalid("{" + std::string(name) + "}: the message does not parse: " +
                                   (*message).status().ToString());
          }
          out += Safe((**message).Get(name));
        }
        return Status::Ok();
      });
  if (!st.ok()) return Status::Invalid("file name template: " + st.message());
  if (out.empty() || out == "." || out == "..") {
    return Status::Invalid("file name template gives '" + out + "', not a usable file name");
  }
  if (out.size() > internal::kMaxFileNameBytes) {
    return Status::Invalid("file name longer than " + std::to_string(internal::kMaxFileNameBytes) +
                           " bytes");
  }
  return out;
}

}  // namespace junction::engine
