// Parsing of destinations, file sources and `fhir:`. The grammar is in
// docs/destinations.md; every error is `file:line: key: reason` with the full
// key path (e.g. `channels[0].destinations[1].http.url`).
#include "engine/internal/destination_config.h"

#include <charconv>
#include <optional>
#include <utility>

#include "engine/internal/destination_names.h"
#include "engine/internal/rules_config.h"
#include "junction/engine/sender.h"
#include "junction/fhir/convert.h"
#include "junction/hl7/message.h"

namespace junction::engine::internal {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMinTimeout{1};
constexpr milliseconds kMaxTimeout{kMaxTimeoutMs};
constexpr std::int64_t kMaxFileSourceBytes = std::int64_t{1} << 30;
constexpr std::size_t kMaxHeaders = 64;
constexpr std::int64_t kMaxMllpWindow = 256;  // messages in flight on one MLLP connection
constexpr std::size_t kMaxHeaderValueBytes = 8192;

constexpr const char* kKinds = "mllp, http, file, channel, fhir-convert, fhir-store";

std::string Last(const std::string& key) {
  const std::size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > kMaxChannelNameBytes) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

const std::string kNameRule =
    "must be 1 to " + std::to_string(kMaxChannelNameBytes) + " letters, digits, '_' or '-'";

// RFC 9110 token characters (header names).
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status ParseTlsClient(ConfigParser& p, const YAML::Node& node, int line, const std::string& key,
                      std::optional<TlsClientConfig>* out) {
  if (node.IsNull()) return Status::Ok();  // "tls:" with nothing: no TLS
  TlsClientConfig tls;
  JUNCTION_RETURN_IF_ERROR(
      p.ForEachKey(node, line, key, {"ca", "cert", "key", "server_name", "verify"},
                   [&](const std::string& k, const YAML::Node& v, int l) -> Status {
                     const std::string name = Last(k);
                     if (name == "verify") {
                       auto b = p.Bool(v, l, k);
                       if (!b.ok()) return b.status();
                       tls.verify = *b;
                     } else if (name == "server_name") {
                       auto s = p.NonEmpty(v, l, k);
                       if (!s.ok()) return s.status();
                       tls.server_name = *s;
                     } else {
                       auto f = p.ReadableFile(v, l, k);
                       if (!f.ok()) return f.status();
                       (name == "ca" ? tls.ca : name == "cert" ? tls.cert : tls.key) = *f;
                     }
                     return Status::Ok();
                   }));
  if (tls.cert.empty() != tls.key.empty()) {
    return p.ErrorAt(line, key + (tls.cert.empty() ? ".cert" : ".key"),
                     "cert and key go together (client certificate for mutual TLS)");
  }
  *out = std::move(tls);
  return Status::Ok();
}

Status ParseMllp(ConfigParser& p, const YAML::Node& node, int line, const std::string& key,
                 MllpDestinationConfig* out) {
  if (!node.IsMap()) return p.Error(node, line, key, "must be a mapping with at least connect");
  bool have_connect = false;
  JUNCTION_RETURN_IF_ERROR(p.ForEachKey(
      node, line, key, {"connect", "connect_timeout", "response_timeout", "on_ae", "window", "tls"},
      [&](const std::string& k, const YAML::Node& v, int l) -> Status {
        const std::string name = Last(k);
        if (name == "connect") {
          auto s = p.NonEmpty(v, l, k);
          if (!s.ok()) return s.status();
          Status st = ParseTarget(*s, &out->host, &out->port);
          if (!st.ok()) return p.Error(v, l, k, st.message());
          have_connect = true;
        } else if (name == "connect_timeout" || name == "response_timeout") {
          auto d = ParseDuration(p, v, l, k, kMinTimeout, kMaxTimeout);
          if (!d.ok()) return d.status();
          (name == "connect_timeout" ? out->connect_timeout : out->response_timeout) = *d;
        } else if (name == "on_ae") {
          auto s = p.Enum(v, l, k, {"error", "retry"});
          if (!s.ok()) return s.status();
          out->on_ae = *s == "retry" ? AeAction::kRetry : AeAction::kError;
        } else if (name == "window") {
          auto n = p.Int(v, l, k, 1, kMaxMllpWindow);
          if (!n.ok()) return n.status();
          out->window = static_cast<std::size_t>(*n);
        } else {
          return ParseTlsClient(p, v, l, k, &out->tls);
        }
        return Status::Ok();
      }));
  if (!have_connect) return p.ErrorAt(line, key + ".connect", "is required (HOST:PORT)");
  return Status::Ok();
}

// http[s]://host[:port][/path[?query]]
Status ParseUrl(std::string_view url, HttpDestinationConfig* out) {
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    out->https = false;
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    out->https = true;
    rest = url.substr(8);
  } else {
    return Status::Invalid("must start with http:// or https://");
  }
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f) return Status::Invalid("must not contain spaces or control bytes");
  }
  const std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  std::string target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!target.empty() && target[0] == '?') target = "/" + target;
  if (target.find('#') != std::string::npos) return Status::Invalid("must not contain a fragment");
  if (authority.find('@') != std::string_view::npos) {
    return Status::Invalid("must not contain user info (use headers for credentials)");
  }
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::Invalid("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::Invalid("expected ':PORT' after ']'");
      port = after.substr(1);
      if (port.empty()) return Status::Invalid("empty port");
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return Status::Invalid("empty port");
    }
  }
  if (host.empty()) return Status::Invalid("has no host");
  unsigned value = out->https ? 443 : 80;
  if (!port.empty()) {
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return Status::Invalid("port must be a number from 1 to 65535");
    }
  }
  out->url = std::string(url);
  out->host = std::string(host);
  out->port = static_cast<std::uint16_t>(value);
  out->target = std::move(target);
  return Status::Ok();
}

Status ParseHttp(ConfigParser& p, const YAML::Node& node, int line, const std::string& key,
                 bool fhir, HttpDestinationConfig* out) {
  if (!node.IsMap()) return p.Error(node, line, key, "must be a mapping with at least url");
  bool have_url = false;
  bool have_body = false;
  int tls_line = line;
  if (fhir) out->body = HttpBody::kJson;
  JUNCTION_RETURN_IF_ERROR(p.ForEachKey(
      node, line, key, {"url", "body", "content_type", "headers", "timeout", "tls"},
      [&](const std::string& k, const YAML::Node& v, int l) -> Status {
        const std::string name = Last(k);
        if (name == "url") {
          auto s = p.NonEmpty(v, l, k);
          if (!s.ok()) return s.status();
          Status st = ParseUrl(*s, out);
          if (!st.ok()) return p.Error(v, l, k, st.message());
          have_url = true;
        } else if (name == "body") {
          auto s = p.Enum(v, l, k, {"er7", "json"});
          if (!s.ok()) return s.status();
          if (fhir && *s != "json") {
            return p.Error(v, l, k, "fhir-convert posts the Bundle as JSON; must be json");
          }
          out->body = *s == "json" ? HttpBody::kJson : HttpBody::kEr7;
          have_body = true;
        } else if (name == "content_type") {
          auto s = p.NonEmpty(v, l, k);
          if (!s.ok()) return s.status();
          if (s->find_first_of("\r\n") != std::string::npos) {
            return p.Error(v, l, k, "must not contain line breaks");
          }
          out->content_type = *s;
        } else if (name == "headers") {
          if (v.IsNull()) return Status::Ok();
          if (!v.IsMap()) return p.Error(v, l, k, "must be a mapping (Header-Name: value)");
          if (v.size() > kMaxHeaders) {
            return p.Error(v, l, k, "at most " + std::to_string(kMaxHeaders) + " headers");
          }
          for (auto it = v.begin(); it != v.end(); ++it) {
            const int hl = ConfigParser::LineOf(it->first, l);
            const std::string hname = it->first.IsScalar() ? it->first.Scalar() : "?";
            const std::string hk = k + "." + hname;
            if (!IsToken(hname)) return p.Error(it->first, hl, hk, "is not a valid header name");
            const std::string lower = Lower(hname);
            if (lower == "host" || lower == "content-length" || lower == "transfer-encoding" ||
                lower == "connection" || lower == "content-type") {
              return p.Error(it->first, hl, hk,
                             "is set by Junction" +
                                 std::string(lower == "content-type" ? " (use content_type)" : ""));
            }
            for (const auto& [seen, unused] : out->headers) {
              if (Lower(seen) == lower) return p.Error(it->first, hl, hk, "duplicate header");
            }
            auto value = p.Scalar(it->second, hl, hk, "a string");
            if (!value.ok()) return value.status();
            if (value->find_first_of("\r\n") != std::string::npos ||
                value->find('\0') != std::string::npos) {
              return p.Error(it->second, hl, hk, "must not contain line breaks");
            }
            if (value->size() > kMaxHeaderValueBytes) {
              return p.Error(it->second, hl, hk,
                             "longer than " + std::to_string(kMaxHeaderValueBytes) + " bytes");
            }
            out->headers.emplace_back(hname, *value);
          }
        } else if (name == "timeout") {
          auto d = ParseDuration(p, v, l, k, kMinTimeout, kMaxTimeout);
          if (!d.ok()) return d.status();
          out->timeout = *d;
        } else {
          tls_line = l;
          return ParseTlsClient(p, v, l, k, &out->tls);
        }
        return Status::Ok();
      }));
  if (!have_url) return p.ErrorAt(line, key + ".url", "is required");
  if (out->tls && !out->https) {
    return p.ErrorAt(tls_line, key + ".tls", "needs an https:// url");
  }
  (void)have_body;
  return Status::Ok();
}

Status ParseFile(ConfigParser& p, const YAML::Node& node, int line, const std::string& key,
                 bool fhir, FileDestinationConfig* out) {
  if (!node.IsMap()) return p.Error(node, line, key, "must be a mapping with at least dir");
  if (fhir) out->name = "{MSH-10}.json";
  bool have_dir = false;
  JUNCTION_RETURN_IF_ERROR(
      p.ForEachKey(node, line, key, {"dir", "name"},
                   [&](const std::string& k, const YAML::Node& v, int l) -> Status {
                     auto s = p.NonEmpty(v, l, k);
                     if (!s.ok()) return s.status();
                     if (Last(k) == "dir") {
                       out->dir = *s;
                       have_dir = true;
                       return Status::Ok();
                     }
                     Status st = CheckFileNameTemplate(*s);
                     if (!st.ok()) return p.Error(v, l, k, st.message());
                     out->name = *s;
                     return Status::Ok();
                   }));
  if (!have_dir) return p.ErrorAt(line, key + ".dir", "is required");
  return Status::Ok();
}

Status ParseFhirConvert(ConfigParser& p, const YAML::Node& node, int line, const std::string& key,
                        DestinationConfig* out) {
  if (!node.IsMap()) return p.Error(node, line, key, "must be a mapping with at least to");
  FhirConvertConfig fhir;
  bool have_to = false;
  JUNCTION_RETURN_IF_ERROR(p.ForEachKey(
      node, line, key, {"bundle", "to"}, [&](const std::string& k, const YAML::Node& v, int l) {
        if (Last(k) == "bundle") {
          auto s = p.Enum(v, l, k, {"transaction", "batch", "collection"});
          if (!s.ok()) return s.status();
          fhir.bundle = *s;
          return Status::Ok();
        }
        if (!v.IsMap() || v.size() != 1) {
          return p.Error(v, l, k, "must be a mapping with exactly one of http, file");
        }
        have_to = true;
        return p.ForEachKey(v, l, k, {"http", "file"},
                            [&](const std::string& tk, const YAML::Node& tv, int tl) -> Status {
                              if (Last(tk) == "http") {
                                out->kind = DestinationKind::kHttp;
                                return ParseHttp(p, tv, tl, tk, true, &out->http);
                              }
                              out->kind = DestinationKind::kFile;
                              return ParseFile(p, tv, tl, tk, true, &out->file);
                            });
      }));
  if (!have_to) return p.ErrorAt(line, key + ".to", "is required ({ http: ... } or { file: ... })");
  out->fhir_convert = std::move(fhir);
  return Status::Ok();
}

Status ParseRetry(ConfigParser& p, const YAML::Node& node, int line, const std::string& key,
                  RetryConfig* out) {
  return p.ForEachKey(node, line, key, {"max_attempts", "backoff"},
                      [&](const std::string& k, const YAML::Node& v, int l) -> Status {
                        if (Last(k) == "max_attempts") {
                          auto n = p.Int(v, l, k, 1, kMaxAttemptsLimit);
                          if (!n.ok()) return n.status();
                          out->max_attempts = static_cast<int>(*n);
                          return Status::Ok();
                        }
                        auto s = p.NonEmpty(v, l, k);
                        if (!s.ok()) return s.status();
                        const std::string form = "must be INITIAL..MAX, e.g. 1s..5m";
                        const std::size_t dots = s->find("..");
                        if (dots == std::string::npos) return p.Error(v, l, k, form);
                        auto initial = DurationFromText(s->substr(0, dots));
                        auto max = DurationFromText(s->substr(dots + 2));
                        if (!initial || !max) return p.Error(v, l, k, form);
                        if (*initial < kMinTimeout || *max > kMaxTimeout) {
                          return p.Error(v, l, k, "each bound must be from 1ms to 1d");
                        }
                        if (*initial > *max) return p.Error(v, l, k, "INITIAL must not exceed MAX");
                        out->initial_backoff = *initial;
                        out->max_backoff = *max;
                        return Status::Ok();
                      });
}

}  // namespace

std::optional<milliseconds> DurationFromText(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + digits, value);
  const std::string_view unit = text.substr(digits);
  std::int64_t scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else if (unit == "d") {
    scale = 86'400'000;
  } else {
    return std::nullopt;
  }
  return milliseconds(value * scale);  // at most 10^12 * 8.64e7 < 2^63
}

std::string FormatDuration(milliseconds d) {
  const std::int64_t ms = d.count();
  struct Unit {
    std::int64_t scale;
    const char* name;
  };
  for (Unit u : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"}}) {
    if (ms != 0 && ms % u.scale == 0) return std::to_string(ms / u.scale) + u.name;
  }
  return std::to_string(ms) + "ms";
}

Result<milliseconds> ParseDuration(ConfigParser& parser, const YAML::Node& node, int line,
                                   const std::string& key, milliseconds min, milliseconds max) {
  auto s = parser.Scalar(node, line, key, "a duration (e.g. 5s, 250ms, 1m, 2h, 7d)");
  if (!s.ok()) return s.status();
  auto d = DurationFromText(*s);
  if (!d) {
    return parser.Error(node, line, key,
                        "must be a duration: a number with ms, s, m, h or d (e.g. 5s, 250ms), or "
                        "a bare number of milliseconds");
  }
  if (*d < min || *d > max) {
    return parser.Error(node, line, key,
                        "must be from " + FormatDuration(min) + " to " + FormatDuration(max));
  }
  return *d;
}

Status ParseDestination(ConfigParser& parser, const YAML::Node& node, int line,
                        const std::string& key, const Tables& tables, DestinationConfig* out) {
  ConfigParser& p = parser;
  out->line = ConfigParser::LineOf(node, line);
  line = out->line;
  if (!node.IsMap()) {
    return p.Error(node, line, key,
                   std::string("must be a mapping with name and one of ") + kKinds);
  }
  std::string kind_key;  // the kind given first
  YAML::Node filter, transform;
  int filter_line = line, transform_line = line;
  JUNCTION_RETURN_IF_ERROR(
      p.ForEachKey(node, line, key,
                   {"name", "mllp", "http", "file", "channel", "fhir-convert", "fhir-store",
                    "filter", "transform", "retry", "ordering"},
                   [&](const std::string& k, const YAML::Node& v, int l) -> Status {
                     const std::string name = Last(k);
                     if (name == "name") {
                       auto s = p.NonEmpty(v, l, k);
                       if (!s.ok()) return s.status();
                       if (!IsName(*s)) return p.Error(v, l, k, kNameRule);
                       out->name = *s;
                       return Status::Ok();
                     }
                     if (name == "filter") {
                       filter = v;
                       filter_line = l;
                       return Status::Ok();
                     }
                     if (name == "transform") {
                       transform = v;
                       transform_line = l;
                       return Status::Ok();
                     }
                     if (name == "retry") return ParseRetry(p, v, l, k, &out->retry);
                     if (name == "ordering") {
                       auto s = p.Enum(v, l, k, {"strict", "best-effort"});
                       if (!s.ok()) return s.status();
                       out->ordering = *s == "strict" ? Ordering::kStrict : Ordering::kBestEffort;
                       return Status::Ok();
                     }
                     // One of the kinds.
                     if (!kind_key.empty()) {
                       return p.Error(v, l, k,
                                      std::string("a destination has exactly one of ") + kKinds +
                                          " (this one already has " + kind_key + ")");
                     }
                     kind_key = name;
                     if (name == "mllp") {
                       out->kind = DestinationKind::kMllp;
                       return ParseMllp(p, v, l, k, &out->mllp);
                     }
                     if (name == "http") {
                       out->kind = DestinationKind::kHttp;
                       return ParseHttp(p, v, l, k, false, &out->http);
                     }
                     if (name == "file") {
                       out->kind = DestinationKind::kFile;
                       return ParseFile(p, v, l, k, false, &out->file);
                     }
                     if (name == "channel") {
                       auto s = p.NonEmpty(v, l, k);
                       if (!s.ok()) return s.status();
                       if (!IsName(*s)) return p.Error(v, l, k, "channel name " + kNameRule);
                       out->kind = DestinationKind::kChannel;
                       out->channel.channel = *s;
                       return Status::Ok();
                     }
                     if (name == "fhir-store") {
                       out->kind = DestinationKind::kFhirStore;
                       if (v.IsNull() || (v.IsMap() && v.size() == 0)) return Status::Ok();
                       return p.Error(v, l, k, "takes no settings: write fhir-store: {}");
                     }
                     return ParseFhirConvert(p, v, l, k, out);
                   }));
  if (out->name.empty()) return p.ErrorAt(line, key + ".name", "is required");
  if (kind_key.empty()) {
    return p.ErrorAt(line, key, std::string("needs one of ") + kKinds);
  }
  if (filter.IsDefined()) {
    JUNCTION_RETURN_IF_ERROR(
        ParseFilter(p, filter, filter_line, key + ".filter", tables, &out->pipeline));
  }
  if (transform.IsDefined()) {
    JUNCTION_RETURN_IF_ERROR(
        ParseTransform(p, transform, transform_line, key + ".transform", tables, &out->pipeline));
  }
  return Status::Ok();
}

Status ParseFileSource(ConfigParser& parser, const YAML::Node& node, int line,
                       const std::string& key, FileSourceConfig* out) {
  ConfigParser& p = parser;
  if (!node.IsMap()) return p.Error(node, line, key, "must be a mapping with at least dir");
  bool have_dir = false;
  int move_line = line, error_line = line;
  JUNCTION_RETURN_IF_ERROR(p.ForEachKey(
      node, line, key,
      {"dir", "pattern", "move_to", "error_dir", "poll_interval", "min_age", "max_file_bytes"},
      [&](const std::string& k, const YAML::Node& v, int l) -> Status {
        const std::string name = Last(k);
        if (name == "dir" || name == "pattern") {
          auto s = p.NonEmpty(v, l, k);
          if (!s.ok()) return s.status();
          if (name == "pattern" && s->find('/') != std::string::npos) {
            return p.Error(v, l, k, "is a file-name pattern and must not contain '/'");
          }
          (name == "dir" ? out->dir : out->pattern) = *s;
          have_dir = have_dir || name == "dir";
        } else if (name == "move_to" || name == "error_dir") {
          auto s = p.Scalar(v, l, k, "a directory");
          if (!s.ok()) return s.status();
          (name == "move_to" ? out->move_to : out->error_dir) = *s;
          (name == "move_to" ? move_line : error_line) = l;
        } else if (name == "poll_interval") {
          auto d = ParseDuration(p, v, l, k, milliseconds(10), kMaxTimeout);
          if (!d.ok()) return d.status();
          out->poll_interval = *d;
        } else if (name == "min_age") {
          auto d = ParseDuration(p, v, l, k, milliseconds(0), kMaxTimeout);
          if (!d.ok()) return d.status();
          out->min_age = *d;
        } else {
          auto n = p.Int(v, l, k, 1, kMaxFileSourceBytes);
          if (!n.ok()) return n.status();
          out->max_file_bytes = static_cast<std::size_t>(*n);
        }
        return Status::Ok();
      }));
  if (!have_dir) return p.ErrorAt(line, key + ".dir", "is required");
  auto same = [&](const std::string& other) {
    auto strip = [](std::string s) {
      while (s.size() > 1 && s.back() == '/') s.pop_back();
      if (s.rfind("./", 0) == 0 && s.size() > 2) s = s.substr(2);
      return s;
    };
    return strip(other) == strip(out->dir);
  };
  if (!out->move_to.empty() && same(out->move_to)) {
    return p.ErrorAt(move_line, key + ".move_to", "must differ from dir");
  }
  if (!out->error_dir.empty() && same(out->error_dir)) {
    return p.ErrorAt(error_line, key + ".error_dir", "must differ from dir");
  }
  return Status::Ok();
}

Status ParseFhirSettings(ConfigParser& parser, const YAML::Node& node, int line,
                         FhirSettings* out) {
  ConfigParser& p = parser;
  return p.ForEachKey(
      node, line, "fhir", {"default_timezone", "local_system_base", "identifier_systems"},
      [&](const std::string& k, const YAML::Node& v, int l) -> Status {
        const std::string name = Last(k);
        if (name == "default_timezone") {
          auto s = p.NonEmpty(v, l, k);
          if (!s.ok()) return s.status();
          // The converter is the judge of zone names: convert a minimal message.
          fhir::ConvertOptions options;
          options.default_timezone = *s;
          auto probe =
              hl7::Message::Parse("MSH|^~\\&|A|B|C|D|20260101120000||ADT^A01^ADT_A01|1|P|2.5.1\r");
          if (probe.ok() && !fhir::Convert(*probe, options).ok()) {
            return p.Error(v, l, k,
                           "'" + *s +
                               "' is not a known time zone (IANA name such as "
                               "Europe/Berlin, or an offset such as +01:00)");
          }
          out->default_timezone = *s;
        } else if (name == "local_system_base") {
          auto s = p.NonEmpty(v, l, k);
          if (!s.ok()) return s.status();
          out->local_system_base = *s;
        } else {
          if (v.IsNull()) return Status::Ok();
          if (!v.IsMap()) return p.Error(v, l, k, "must be a mapping (AUTHORITY: system URI)");
          for (auto it = v.begin(); it != v.end(); ++it) {
            const int el = ConfigParser::LineOf(it->first, l);
            const std::string authority = it->first.IsScalar() ? it->first.Scalar() : "?";
            const std::string ek = k + "." + authority;
            if (authority.empty() || !it->first.IsScalar()) {
              return p.Error(it->first, el, ek, "the authority must be a non-empty string");
            }
            auto uri = p.NonEmpty(it->second, el, ek);
            if (!uri.ok()) return uri.status();
            if (!out->identifier_systems.emplace(authority, *uri).second) {
              return p.Error(it->first, el, ek, "duplicate key");
            }
          }
        }
        return Status::Ok();
      });
}

}  // namespace junction::engine::internal
