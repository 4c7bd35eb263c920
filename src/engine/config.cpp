// Config parsing. yaml-cpp throws on malformed YAML; every call into it is
// inside ParseConfig's try block, and every value is read as a scalar string
// and checked here, so errors can name the key, the line and the reason.
#include "junction/engine/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

#include <boost/asio/ip/address.hpp>

#include "engine/internal/config_parser.h"
#include "engine/internal/destination_config.h"
#include "engine/internal/rules_config.h"
#include "junction/mllp/cidr.h"

namespace junction::engine {
namespace {

class Parser : public internal::ConfigParser {
 public:
  using ConfigParser::ConfigParser;

  Status Log(const YAML::Node& node, int line, LogConfig* out) {
    return ForEachKey(node, line, "log", {"level"},
                      [&](const std::string& key, const YAML::Node& v, int l) -> Status {
                        auto level = Enum(v, l, key, {"trace", "debug", "info", "warn", "error"});
                        if (!level.ok()) return level.status();
                        out->level = *level;
                        return Status::Ok();
                      });
  }

  Status Server(const YAML::Node& node, int line, ServerConfig* out) {
    return ForEachKey(node, line, "server", {"io_threads", "pid_file"},
                      [&](const std::string& key, const YAML::Node& v, int l) -> Status {
                        if (key == "server.pid_file") {
                          auto s = NonEmpty(v, l, key);
                          if (!s.ok()) return s.status();
                          out->pid_file = *s;
                          return Status::Ok();
                        }
                        auto n = Int(v, l, key, 1, static_cast<std::int64_t>(kMaxIoThreads));
                        if (!n.ok()) return n.status();
                        out->io_threads = static_cast<std::size_t>(*n);
                        return Status::Ok();
                      });
  }

  Status Store(const YAML::Node& node, int line, StoreConfig* out) {
    return ForEachKey(node, line, "store",
                      {"sqlite", "max_batch", "max_delay_us", "detect_duplicates"},
                      [&](const std::string& key, const YAML::Node& v, int l) -> Status {
                        if (key == "store.sqlite") {
                          auto s = NonEmpty(v, l, key);
                          if (!s.ok()) return s.status();
                          out->sqlite = *s;
                        } else if (key == "store.max_batch") {
                          auto n = Int(v, l, key, 1, static_cast<std::int64_t>(kMaxStoreBatch));
                          if (!n.ok()) return n.status();
                          out->max_batch = static_cast<std::size_t>(*n);
                        } else if (key == "store.max_delay_us") {
                          auto n = Int(v, l, key, 0, kMaxDelayUsLimit);
                          if (!n.ok()) return n.status();
                          out->max_delay_us = *n;
                        } else {
                          auto b = Bool(v, l, key);
                          if (!b.ok()) return b.status();
                          out->detect_duplicates = *b;
                        }
                        return Status::Ok();
                      });
  }

  Status FhirStore(const YAML::Node& node, int line, FhirStoreConfig* out) {
    return ForEachKey(node, line, "fhir_store", {"sqlite", "durable"},
                      [&](const std::string& key, const YAML::Node& v, int l) -> Status {
                        if (key == "fhir_store.sqlite") {
                          auto s = NonEmpty(v, l, key);
                          if (!s.ok()) return s.status();
                          out->sqlite = *s;
                        } else {
                          auto b = Bool(v, l, key);
                          if (!b.ok()) return b.status();
                          out->durable = *b;
                        }
                        return Status::Ok();
                      });
  }

  Status Tls(const YAML::Node& node, int line, const std::string& prefix,
             std::optional<TlsConfig>* out) {
    if (node.IsNull()) return Status::Ok();  // "tls:" with nothing: no TLS
    TlsConfig tls;
    JUNCTION_RETURN_IF_ERROR(
        ForEachKey(node, line, prefix, {"cert", "key", "client_ca"},
                   [&](const std::string& key, const YAML::Node& v, int l) -> Status {
                     auto file = ReadableFile(v, l, key);
                     if (!file.ok()) return file.status();
                     if (key == prefix + ".cert")
                       tls.cert = *file;
                     else if (key == prefix + ".key")
                       tls.key = *file;
                     else
                       tls.client_ca = *file;
                     return Status::Ok();
                   }));
    if (tls.cert.empty()) return ErrorAt(line, prefix + ".cert", "is required with tls");
    if (tls.key.empty()) return ErrorAt(line, prefix + ".key", "is required with tls");
    *out = std::move(tls);
    return Status::Ok();
  }

  Status Mllp(const YAML::Node& node, int line, const std::string& prefix, MllpSourceConfig* out) {
    if (!node.IsMap()) return Error(node, line, prefix, "must be a mapping with at least listen");
    bool have_listen = false;
    JUNCTION_RETURN_IF_ERROR(
        ForEachKey(node, line, prefix,
                   {"listen", "ack", "validate", "strict_framing", "max_frame_bytes",
                    "max_connections", "idle_timeout_ms", "read_timeout_ms", "allow", "tls"},
                   [&](const std::string& key, const YAML::Node& v, int l) -> Status {
                     const std::string name = key.substr(prefix.size() + 1);
                     if (name == "listen") {
                       auto s = NonEmpty(v, l, key);
                       if (!s.ok()) return s.status();
                       Status st = ParseListenAddress(*s, &out->host, &out->port);
                       if (!st.ok()) return Error(v, l, key, st.message());
                       have_listen = true;
                     } else if (name == "ack") {
                       auto s = Enum(v, l, key, {"after-store", "after-processing", "never"});
                       if (!s.ok()) return s.status();
                       out->ack = *s == "after-store"        ? AckPolicy::kAfterStore
                                  : *s == "after-processing" ? AckPolicy::kAfterProcessing
                                                             : AckPolicy::kNever;
                     } else if (name == "validate" || name == "strict_framing") {
                       auto b = Bool(v, l, key);
                       if (!b.ok()) return b.status();
                       (name == "validate" ? out->validate : out->strict_framing) = *b;
                     } else if (name == "max_frame_bytes") {
                       auto n = Int(v, l, key, 16, static_cast<std::int64_t>(kMaxFrameBytesLimit));
                       if (!n.ok()) return n.status();
                       out->max_frame_bytes = static_cast<std::size_t>(*n);
                     } else if (name == "max_connections") {
                       auto n = Int(v, l, key, 1, static_cast<std::int64_t>(kMaxConnectionsLimit));
                       if (!n.ok()) return n.status();
                       out->max_connections = static_cast<std::size_t>(*n);
                     } else if (name == "idle_timeout_ms" || name == "read_timeout_ms") {
                       auto n = Int(v, l, key, 1, kMaxTimeoutMs);
                       if (!n.ok()) return n.status();
                       (name == "idle_timeout_ms" ? out->idle_timeout : out->read_timeout) =
                           std::chrono::milliseconds(*n);
                     } else if (name == "allow") {
                       if (v.IsNull()) return Status::Ok();
                       if (!v.IsSequence())
                         return Error(v, l, key, "must be a list of CIDR blocks");
                       std::size_t i = 0;
                       for (const YAML::Node& entry : v) {
                         const std::string ekey = key + "[" + std::to_string(i++) + "]";
                         auto s = NonEmpty(entry, l, ekey);
                         if (!s.ok()) return s.status();
                         auto parsed = mllp::AllowList::Parse({*s});
                         if (!parsed.ok()) return Error(entry, l, ekey, parsed.status().message());
                         out->allow.push_back(*s);
                       }
                     } else {
                       return Tls(v, l, key, &out->tls);
                     }
                     return Status::Ok();
                   }));
    if (!have_listen) return ErrorAt(line, prefix + ".listen", "is required");
    return Status::Ok();
  }

  Status Source(const YAML::Node& v, int l, const std::string& key, ChannelConfig* out) {
    if (v.IsScalar() && v.Scalar() == "none") {
      out->source = SourceKind::kNone;
      return Status::Ok();
    }
    if (!v.IsMap() || v.size() != 1) {
      return Error(v, l, key, "must be a mapping with one source (mllp, file or http), or none");
    }
    return ForEachKey(v, l, key, {"mllp", "file", "http"},
                      [&](const std::string& k, const YAML::Node& m, int ml) -> Status {
                        if (k == key + ".file") {
                          out->source = SourceKind::kFile;
                          return internal::ParseFileSource(*this, m, ml, k, &out->file);
                        }
                        if (k == key + ".http") {
                          out->source = SourceKind::kHttp;
                          return HttpSource(m, ml, k, &out->http);
                        }
                        out->source = SourceKind::kMllp;
                        return Mllp(m, ml, k, &out->mllp);
                      });
  }

  Status HttpSource(const YAML::Node& node, int line, const std::string& prefix,
                    HttpSourceConfig* out) {
    JUNCTION_RETURN_IF_ERROR(ForEachKey(
        node, line, prefix, {"path", "ack", "validate"},
        [&](const std::string& key, const YAML::Node& v, int l) -> Status {
          if (key == prefix + ".path") {
            auto s = NonEmpty(v, l, key);
            if (!s.ok()) return s.status();
            if (s->rfind("/hl7/", 0) != 0 || s->size() <= 5 ||
                s->find_first_of("?#% ") != std::string::npos) {
              return Error(v, l, key, "must be a path under /hl7/, e.g. /hl7/lab");
            }
            out->path = *s;
          } else if (key == prefix + ".ack") {
            auto s = Enum(v, l, key, {"after-store", "after-processing"});
            if (!s.ok()) return s.status();
            out->ack = *s == "after-store" ? AckPolicy::kAfterStore : AckPolicy::kAfterProcessing;
          } else {
            auto b = Bool(v, l, key);
            if (!b.ok()) return b.status();
            out->validate = *b;
          }
          return Status::Ok();
        }));
    if (out->path.empty()) return ErrorAt(line, prefix + ".path", "is required");
    return Status::Ok();
  }

  Status Http(const YAML::Node& node, int line, HttpConfig* out) {
    out->enabled = true;
    bool have_listen = false;
    JUNCTION_RETURN_IF_ERROR(ForEachKey(
        node, line, "http",
        {"listen", "tls", "max_body_bytes", "max_header_bytes", "read_timeout", "idle_timeout",
         "max_connections", "cors_origins", "ui_dir"},
        [&](const std::string& key, const YAML::Node& v, int l) -> Status {
          const std::string name = key.substr(5);
          if (name == "listen") {
            auto s = NonEmpty(v, l, key);
            if (!s.ok()) return s.status();
            Status st = ParseListenAddress(*s, &out->host, &out->port);
            if (!st.ok()) return Error(v, l, key, st.message());
            have_listen = true;
          } else if (name == "tls") {
            return Tls(v, l, key, &out->tls);
          } else if (name == "max_body_bytes") {
            auto n = Int(v, l, key, 1024, 1ll << 30);
            if (!n.ok()) return n.status();
            out->max_body_bytes = static_cast<std::size_t>(*n);
          } else if (name == "max_header_bytes") {
            auto n = Int(v, l, key, 1024, 1 << 20);
            if (!n.ok()) return n.status();
            out->max_header_bytes = static_cast<std::size_t>(*n);
          } else if (name == "read_timeout" || name == "idle_timeout") {
            auto d = internal::ParseDuration(*this, v, l, key, std::chrono::milliseconds(100),
                                             std::chrono::milliseconds(kMaxTimeoutMs));
            if (!d.ok()) return d.status();
            (name == "read_timeout" ? out->read_timeout : out->idle_timeout) = *d;
          } else if (name == "max_connections") {
            auto n = Int(v, l, key, 1, static_cast<std::int64_t>(kMaxConnectionsLimit));
            if (!n.ok()) return n.status();
            out->max_connections = static_cast<std::size_t>(*n);
          } else if (name == "ui_dir") {
            auto s = NonEmpty(v, l, key);
            if (!s.ok()) return s.status();
            out->ui_dir = *s;
          } else {
            if (v.IsNull()) return Status::Ok();
            if (!v.IsSequence()) return Error(v, l, key, "must be a list of origins");
            for (const YAML::Node& o : v) {
              auto s = NonEmpty(o, l, key);
              if (!s.ok()) return s.status();
              if (*s != "*" && s->rfind("http://", 0) != 0 && s->rfind("https://", 0) != 0) {
                return Error(o, l, key, "an origin is \"*\" or starts with http:// or https://");
              }
              out->cors_origins.push_back(*s);
            }
          }
          return Status::Ok();
        }));
    if (!have_listen) return ErrorAt(line, "http.listen", "is required");
    return Status::Ok();
  }

  Status Auth(const YAML::Node& node, int line, AuthConfig* out) {
    JUNCTION_RETURN_IF_ERROR(ForEachKey(
        node, line, "auth",
        {"issuer", "audience", "hs256_secret", "rs256", "es256", "clock_skew", "token_ttl",
         "clients"},
        [&](const std::string& key, const YAML::Node& v, int l) -> Status {
          const std::string name = key.substr(5);
          if (name == "issuer" || name == "audience") {
            auto s = NonEmpty(v, l, key);
            if (!s.ok()) return s.status();
            (name == "issuer" ? out->issuer : out->audience) = *s;
          } else if (name == "hs256_secret") {
            auto s = NonEmpty(v, l, key);
            if (!s.ok()) return s.status();
            if (s->size() < 32) return Error(v, l, key, "must be at least 32 bytes");
            out->hs256_secret = *s;
          } else if (name == "rs256" || name == "es256") {
            return ForEachKey(
                v, l, key, {"private_key", "jwks"},
                [&](const std::string& k, const YAML::Node& f, int fl) -> Status {
                  auto file = ReadableFile(f, fl, k);
                  if (!file.ok()) return file.status();
                  if (k == key + ".jwks") {
                    if (!out->jwks.empty() && out->jwks != *file) {
                      return Error(f, fl, k, "only one JWKS file (it may hold RSA and EC keys)");
                    }
                    out->jwks = *file;
                  } else {
                    (name == "rs256" ? out->rs256_private_key : out->es256_private_key) = *file;
                  }
                  return Status::Ok();
                });
          } else if (name == "clock_skew" || name == "token_ttl") {
            // The bounds Authenticator::Create accepts: skew <= 1h, ttl <= 30d.
            const auto max = name == "clock_skew"
                                 ? std::chrono::milliseconds(std::chrono::hours(1))
                                 : std::chrono::milliseconds(std::chrono::hours(24 * 30));
            auto d = internal::ParseDuration(*this, v, l, key, std::chrono::milliseconds(0), max);
            if (!d.ok()) return d.status();
            auto secs = std::chrono::duration_cast<std::chrono::seconds>(*d);
            if (name == "token_ttl" && secs.count() < 1)
              return Error(v, l, key, "must be at least 1s");
            (name == "clock_skew" ? out->clock_skew : out->token_ttl) = secs;
          } else {
            return AuthClients(v, l, key, &out->clients);
          }
          return Status::Ok();
        }));
    return Status::Ok();
  }

  Status AuthClients(const YAML::Node& v, int l, const std::string& key,
                     std::vector<AuthClientConfig>* out) {
    if (v.IsNull()) return Status::Ok();
    if (!v.IsSequence()) return Error(v, l, key, "must be a list of clients");
    std::size_t i = 0;
    for (const YAML::Node& c : v) {
      const std::string ckey = key + "[" + std::to_string(i++) + "]";
      AuthClientConfig client;
      client.line = LineOf(c, l);
      JUNCTION_RETURN_IF_ERROR(ForEachKey(
          c, client.line, ckey, {"id", "secret_sha256", "scopes"},
          [&](const std::string& k, const YAML::Node& f, int fl) -> Status {
            if (k == ckey + ".scopes") {
              if (!f.IsSequence()) return Error(f, fl, k, "must be a list of scopes");
              for (const YAML::Node& sc : f) {
                auto s = NonEmpty(sc, fl, k);
                if (!s.ok()) return s.status();
                client.scopes.push_back(*s);
              }
              return Status::Ok();
            }
            auto s = NonEmpty(f, fl, k);
            if (!s.ok()) return s.status();
            if (k == ckey + ".id") {
              client.id = *s;
            } else {
              const bool hex = s->size() == 64 &&
                               s->find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
              if (!hex) return Error(f, fl, k, "must be 64 hex digits (SHA-256 of the secret)");
              client.secret_sha256 = *s;
            }
            return Status::Ok();
          }));
      if (client.id.empty()) return ErrorAt(client.line, ckey + ".id", "is required");
      if (client.secret_sha256.empty()) {
        return ErrorAt(client.line, ckey + ".secret_sha256", "is required");
      }
      for (const AuthClientConfig& other : *out) {
        if (other.id == client.id) return ErrorAt(client.line, ckey + ".id", "duplicate client id");
      }
      out->push_back(std::move(client));
    }
    return Status::Ok();
  }

  Status Retention(const YAML::Node& v, int l, const std::string& key, RetentionConfig* out) {
    return ForEachKey(v, l, key, {"max_age", "error_max_age"},
                      [&](const std::string& k, const YAML::Node& d, int dl) -> Status {
                        auto ms = internal::ParseDuration(*this, d, dl, k, std::chrono::seconds(1),
                                                          std::chrono::hours(24 * 3650));
                        if (!ms.ok()) return ms.status();
                        auto secs = std::chrono::duration_cast<std::chrono::seconds>(*ms);
                        (k == key + ".max_age" ? out->max_age : out->error_max_age) = secs;
                        return Status::Ok();
                      });
  }

  Status Destinations(const YAML::Node& v, int l, const std::string& key, const Tables& tables,
                      std::vector<DestinationConfig>* out) {
    if (v.IsNull()) return Status::Ok();
    if (!v.IsSequence()) return Error(v, l, key, "must be a list of destinations");
    if (v.size() > kMaxDestinations) {
      return Error(v, l, key, "at most " + std::to_string(kMaxDestinations) + " destinations");
    }
    std::size_t i = 0;
    for (const YAML::Node& d : v) {
      const std::string dkey = key + "[" + std::to_string(i++) + "]";
      DestinationConfig dest;
      JUNCTION_RETURN_IF_ERROR(
          internal::ParseDestination(*this, d, LineOf(d, l), dkey, tables, &dest));
      if (dest.line == 0) dest.line = LineOf(d, l);
      for (const DestinationConfig& other : *out) {
        if (other.name == dest.name) {
          return Error(
              d["name"], dest.line, dkey + ".name",
              "'" + dest.name + "' is already used by another destination of this channel");
        }
      }
      out->push_back(std::move(dest));
    }
    return Status::Ok();
  }

  Status Channel(const YAML::Node& node, int line, const std::string& prefix, const Tables& tables,
                 ChannelConfig* out) {
    out->line = LineOf(node, line);
    if (!node.IsMap()) return Error(node, line, prefix, "must be a mapping with name and source");
    bool have_source = false;
    JUNCTION_RETURN_IF_ERROR(ForEachKey(
        node, line, prefix, {"name", "source", "filter", "transform", "destinations", "retention"},
        [&](const std::string& key, const YAML::Node& v, int l) -> Status {
          const std::string name = key.substr(prefix.size() + 1);
          if (name == "name") {
            auto s = NonEmpty(v, l, key);
            if (!s.ok()) return s.status();
            if (s->size() > kMaxChannelNameBytes) {
              return Error(
                  v, l, key,
                  "must be at most " + std::to_string(kMaxChannelNameBytes) + " characters");
            }
            for (char c : *s) {
              const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-';
              if (!ok) return Error(v, l, key, "may contain only letters, digits, '_' and '-'");
            }
            out->name = *s;
            return Status::Ok();
          }
          if (name == "source") {
            have_source = true;
            return Source(v, l, key, out);
          }
          if (name == "filter")
            return internal::ParseFilter(*this, v, l, key, tables, &out->pipeline);
          if (name == "transform") {
            return internal::ParseTransform(*this, v, l, key, tables, &out->pipeline);
          }
          if (name == "destinations") return Destinations(v, l, key, tables, &out->destinations);
          return Retention(v, l, key, &out->retention);
        }));
    if (out->name.empty()) return Error(node, line, prefix + ".name", "is required");
    if (!have_source) return Error(node, line, prefix + ".source", "is required");
    return Status::Ok();
  }

  Status Channels(const YAML::Node& node, int line, const Tables& tables,
                  std::vector<ChannelConfig>* out) {
    if (!node.IsSequence() || node.size() == 0) {
      return Error(node, line, "channels", "must be a list of at least one channel");
    }
    if (node.size() > kMaxChannels) {
      return Error(node, line, "channels", "at most " + std::to_string(kMaxChannels) + " channels");
    }
    std::size_t i = 0;
    for (const YAML::Node& c : node) {
      const std::string prefix = "channels[" + std::to_string(i++) + "]";
      ChannelConfig channel;
      JUNCTION_RETURN_IF_ERROR(Channel(c, LineOf(c, line), prefix, tables, &channel));
      for (const ChannelConfig& other : *out) {
        if (other.name == channel.name) {
          return Error(c["name"], channel.line, prefix + ".name",
                       "'" + channel.name + "' is already used by another channel");
        }
        if (channel.source == SourceKind::kHttp && other.source == SourceKind::kHttp &&
            channel.http.path == other.http.path) {
          return Error(c["source"]["http"]["path"], channel.line, prefix + ".source.http.path",
                       "path already used by channel '" + other.name + "'");
        }
        if (channel.source == SourceKind::kMllp && other.source == SourceKind::kMllp &&
            channel.mllp.port != 0 && other.mllp.port == channel.mllp.port &&
            other.mllp.host == channel.mllp.host) {
          return Error(c["source"]["mllp"]["listen"], channel.line, prefix + ".source.mllp.listen",
                       "address already used by channel '" + other.name + "'");
        }
      }
      out->push_back(std::move(channel));
    }
    return CheckChannelLinks(node, line, *out);
  }

  // `channel:` destinations must name another configured channel, and the
  // links must not form a loop (a message would circle forever).
  Status CheckChannelLinks(const YAML::Node& node, int line,
                           const std::vector<ChannelConfig>& channels) {
    std::map<std::string, std::vector<std::string>> links;
    for (std::size_t i = 0; i < channels.size(); ++i) {
      for (std::size_t j = 0; j < channels[i].destinations.size(); ++j) {
        const DestinationConfig& d = channels[i].destinations[j];
        if (d.kind != DestinationKind::kChannel) continue;
        const std::string key =
            "channels[" + std::to_string(i) + "].destinations[" + std::to_string(j) + "].channel";
        const bool known = std::any_of(channels.begin(), channels.end(),
                                       [&](const auto& c) { return c.name == d.channel.channel; });
        if (!known) return ErrorAt(d.line, key, "no channel named '" + d.channel.channel + "'");
        links[channels[i].name].push_back(d.channel.channel);
      }
    }
    // Depth-first search for a cycle.
    std::map<std::string, int> mark;  // 0 new, 1 on the path, 2 done
    std::function<bool(const std::string&)> cyclic = [&](const std::string& c) {
      if (mark[c] == 1) return true;
      if (mark[c] == 2) return false;
      mark[c] = 1;
      for (const std::string& next : links[c]) {
        if (cyclic(next)) return true;
      }
      mark[c] = 2;
      return false;
    };
    for (const ChannelConfig& c : channels) {
      if (cyclic(c.name)) {
        return Error(node, line, "channels",
                     "channel destinations form a loop through '" + c.name + "'");
      }
    }
    return Status::Ok();
  }

  Status Root(const YAML::Node& root, Config* config) {
    if (root.IsNull()) return Status::Invalid(file() + ":1: channels: is required");
    if (!root.IsMap()) return Error(root, 1, "(top level)", "must be a mapping");
    // Tables first: channels refer to them wherever they appear in the file.
    auto tables = std::make_shared<Tables>();
    if (const YAML::Node t = root["tables"]) {
      JUNCTION_RETURN_IF_ERROR(internal::ParseTables(*this, t, LineOf(t, 1), tables.get()));
    }
    config->tables = tables;
    bool have_channels = false;
    JUNCTION_RETURN_IF_ERROR(ForEachKey(
        root, 1, "",
        {"log", "server", "store", "fhir_store", "tables", "fhir", "http", "auth", "channels"},
        [&](const std::string& key, const YAML::Node& v, int l) -> Status {
          if (key == "log") return Log(v, l, &config->log);
          if (key == "server") return Server(v, l, &config->server);
          if (key == "store") return Store(v, l, &config->store);
          if (key == "fhir_store") return FhirStore(v, l, &config->fhir_store);
          if (key == "tables") return Status::Ok();
          if (key == "fhir") return internal::ParseFhirSettings(*this, v, l, &config->fhir);
          if (key == "http") return Http(v, l, &config->http);
          if (key == "auth") return Auth(v, l, &config->auth);
          have_channels = true;
          return Channels(v, l, *tables, &config->channels);
        }));
    if (!have_channels) return Error(root, 1, "channels", "is required");
    for (std::size_t i = 0; i < config->channels.size(); ++i) {
      const ChannelConfig& c = config->channels[i];
      if (c.source == SourceKind::kHttp && !config->http.enabled) {
        return ErrorAt(c.line, "channels[" + std::to_string(i) + "].source.http",
                       "needs the top-level http: section (the server it is served by)");
      }
    }
    return Status::Ok();
  }
};

}  // namespace

std::string FhirStorePath(const StoreConfig& store, const FhirStoreConfig& fhir_store) {
  if (!fhir_store.sqlite.empty()) return fhir_store.sqlite;
  if (store.sqlite == ":memory:") return store.sqlite;
  std::filesystem::path p(store.sqlite);
  return (p.parent_path() / (p.stem().string() + "-fhir.db")).string();
}

std::string_view AckPolicyName(AckPolicy policy) {
  switch (policy) {
    case AckPolicy::kAfterStore:
      return "after-store";
    case AckPolicy::kAfterProcessing:
      return "after-processing";
    case AckPolicy::kNever:
      return "never";
  }
  return "after-store";
}

Status ParseListenAddress(std::string_view text, std::string* host, std::uint16_t* port) {
  std::string_view h;
  std::string_view p;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::Invalid("must be HOST:PORT or [IPV6]:PORT");
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return Status::Invalid("must be HOST:PORT or [IPV6]:PORT");
    }
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || value > 65535) {
    return Status::Invalid("port must be a number from 0 to 65535");
  }
  std::string host_text(h);
  if (host_text == "localhost") host_text = "127.0.0.1";
  boost::system::error_code error;
  boost::asio::ip::make_address(host_text, error);
  if (host_text.empty() || error) {
    return Status::Invalid("'" + std::string(h) + "' is not an IP address (e.g. 127.0.0.1, [::1])");
  }
  *host = std::move(host_text);
  *port = static_cast<std::uint16_t>(value);
  return Status::Ok();
}

Result<Config> ParseConfig(std::string_view yaml, const std::string& file) {
  Config config;
  config.file = file;
  Parser parser(file);
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    Status st = parser.Root(root, &config);
    if (!st.ok()) return st;
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    return Status::Invalid(file + ":" + std::to_string(line) + ": (yaml): " + e.msg);
  } catch (const std::exception& e) {
    return Status::Invalid(file + ": (yaml): " + e.what());
  }
  return config;
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io(path + ": cannot open the config file");
  std::string text;
  std::array<char, 65536> buffer;
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    text.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return Status::Invalid(path + ":1: (file): larger than " + std::to_string(kMaxConfigBytes) +
                             " bytes");
    }
  }
  if (in.bad()) return Status::Io(path + ": read error");
  return ParseConfig(text, path);
}

}  // namespace junction::engine
