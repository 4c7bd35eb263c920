// Helpers for the junction::fhir tests: building segments by field number,
// converting, and looking into Bundles.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "junction/fhir/convert.h"
#include "junction/hl7/message.h"

namespace junction::fhir::testing {

namespace json = boost::json;

// "PID" + {{3, "123"}, {5, "Doe^John"}} -> "PID|||123||Doe^John".
// For MSH, field 1 is the separator: pass fields from 3 on.
inline std::string Seg(const std::string& id, const std::map<int, std::string>& fields) {
  int max = fields.empty() ? 0 : fields.rbegin()->first;
  std::string out = id;
  int first = 1;
  if (id == "MSH") {
    out += "|^~\\&";
    first = 3;
  }
  for (int f = first; f <= max; ++f) {
    out += "|";
    auto it = fields.find(f);
    if (it != fields.end()) out += it->second;
  }
  return out;
}

inline std::string Msg(const std::vector<std::string>& segments) {
  std::string out;
  for (const auto& s : segments) out += s + "\r";
  return out;
}

inline ConvertResult MustConvert(const std::string& text, const ConvertOptions& options = {}) {
  auto msg = hl7::Message::Parse(text);
  EXPECT_TRUE(msg.ok()) << msg.status().ToString();
  if (!msg.ok()) return {};
  auto res = Convert(*msg, options);
  EXPECT_TRUE(res.ok()) << res.status().ToString();
  if (!res.ok()) return {};
  return std::move(res).value();
}

inline std::vector<const json::object*> Resources(const json::object& bundle, const std::string& type) {
  std::vector<const json::object*> out;
  for (const auto& e : bundle.at("entry").as_array()) {
    const auto& r = e.as_object().at("resource").as_object();
    if (r.at("resourceType").as_string() == type) out.push_back(&r);
  }
  return out;
}

inline const json::object* Entry(const json::object& bundle, const std::string& type, std::size_t n = 0) {
  std::size_t seen = 0;
  for (const auto& e : bundle.at("entry").as_array()) {
    const auto& r = e.as_object().at("resource").as_object();
    if (r.at("resourceType").as_string() == type && seen++ == n) return &e.as_object();
  }
  return nullptr;
}

inline std::string FullUrl(const json::object& bundle, const std::string& type, std::size_t n = 0) {
  const json::object* e = Entry(bundle, type, n);
  return e ? std::string(e->at("fullUrl").as_string()) : std::string();
}

inline std::string Str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : std::string(); }

// Every "reference" in the bundle names an entry's fullUrl.
inline void CollectReferences(const json::value& v, std::vector<std::string>* refs) {
  if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      if (kv.key() == "reference" && kv.value().is_string()) refs->push_back(std::string(kv.value().as_string()));
      else CollectReferences(kv.value(), refs);
    }
  } else if (v.is_array()) {
    for (const auto& e : v.as_array()) CollectReferences(e, refs);
  }
}

inline ::testing::AssertionResult ReferencesResolve(const json::object& bundle) {
  std::set<std::string> urls;
  for (const auto& e : bundle.at("entry").as_array()) urls.insert(std::string(e.as_object().at("fullUrl").as_string()));
  std::vector<std::string> refs;
  CollectReferences(json::value(bundle), &refs);
  for (const auto& r : refs)
    if (!urls.count(r)) return ::testing::AssertionFailure() << "unresolved reference " << r;
  return ::testing::AssertionSuccess();
}

inline bool HasIssueAt(const ConvertResult& r, const std::string& location) {
  for (const auto& i : r.issues)
    if (i.location == location) return true;
  return false;
}

}  // namespace junction::fhir::testing
