// Test fixture for the FHIR REST layer: a real ResourceStore (":memory:")
// and a RestApi, with a synchronous Call() helper.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "junction/fhir/resource_store.h"
#include "junction/fhir/rest.h"

namespace junction::fhir::testing {

namespace json = boost::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

// A JSON string's text ("" for anything else), for comparisons with std::string.
inline std::string S(const json::value& value) {
  return value.is_string() ? std::string(value.as_string()) : std::string();
}

inline Caller AdminCaller() {
  Caller caller;
  caller.who = "admin-user";
  caller.client_id = "admin-app";
  caller.admin = true;
  caller.peer = "127.0.0.1:5000";
  caller.request_id = "req-1";
  caller.allows = [](std::string_view, Interaction) { return true; };
  return caller;
}

// A caller whose scopes grant `interactions` on `types` ("*" = every type).
inline Caller ScopedCaller(std::vector<std::string> types, std::vector<Interaction> interactions,
                           std::optional<std::string> patient = std::nullopt) {
  Caller caller;
  caller.who = "scoped-user";
  caller.client_id = "scoped-app";
  caller.peer = "127.0.0.1:5001";
  caller.patient = std::move(patient);
  caller.allows = [types, interactions](std::string_view type, Interaction interaction) {
    bool type_ok = false, interaction_ok = false;
    for (const auto& t : types) type_ok = type_ok || t == "*" || t == type;
    for (auto i : interactions) interaction_ok = interaction_ok || i == interaction;
    return type_ok && interaction_ok;
  };
  return caller;
}

inline const std::vector<Interaction> kAllInteractions = {
    Interaction::kCreate, Interaction::kRead, Interaction::kUpdate, Interaction::kDelete,
    Interaction::kSearch};

class RestTest : public ::testing::Test {
 protected:
  static constexpr const char* kBase = "http://127.0.0.1:8080/fhir";

  void SetUp() override { Open(RestOptions{}); }

  void Open(RestOptions options) {
    api_.reset();
    store_.reset();
    ResourceStoreOptions store_options;
    store_options.sqlite_path = ":memory:";
    store_options.durable = false;
    auto store = ResourceStore::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    api_ = std::make_unique<RestApi>(*store_, std::move(options));
  }

  // target: "/Patient/1?x=y" (path and raw query, after the base).
  RestResponse Call(const std::string& method, const std::string& target, std::string body = {},
                    Headers headers = {}, const Caller& caller = AdminCaller()) {
    RestRequest request;
    request.method = method;
    std::size_t q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    request.headers = std::move(headers);
    request.body = std::move(body);
    request.base_url = kBase;
    std::promise<RestResponse> promise;
    auto future = promise.get_future();
    api_->Handle(std::move(request), caller,
                 [&promise](RestResponse response) { promise.set_value(std::move(response)); });
    return future.get();
  }

  static json::value Json(const RestResponse& response) {
    boost::system::error_code ec;
    json::value value = json::parse(response.body, ec);
    EXPECT_FALSE(ec) << "not JSON: " << response.body.substr(0, 200);
    return value;
  }

  static std::string HeaderOf(const RestResponse& response, std::string_view name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return {};
  }

  static bool IsOutcome(const RestResponse& response) {
    boost::system::error_code ec;
    json::value value = json::parse(response.body, ec);
    return !ec && value.is_object() && value.as_object().contains("resourceType") &&
           value.at("resourceType") == "OperationOutcome" && !value.at("issue").as_array().empty();
  }

  static std::string PatientJson(const std::string& family, const std::string& extra = "") {
    return R"({"resourceType":"Patient","name":[{"family":")" + family +
           R"("}],"gender":"female","birthDate":"1980-02-29")" + extra + "}";
  }

  static std::string ObservationJson(const std::string& patient_id, const std::string& code) {
    return R"({"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":")" +
           code + R"("}]},"subject":{"reference":"Patient/)" + patient_id + R"("}})";
  }

  // Creates through the API (as admin) and returns the id.
  std::string Create(const std::string& type, const std::string& body) {
    RestResponse response = Call("POST", "/" + type, body);
    EXPECT_EQ(response.status, 201) << response.body;
    return std::string(Json(response).at("id").as_string());
  }

  // Every stored AuditEvent (read directly from the store, so the reading is not audited).
  std::vector<json::object> AuditEvents() {
    SearchRequest request;
    request.type = "AuditEvent";
    request.params = {{"_count", "1000"}};
    request.max_count = 1000;
    auto page = store_->Search(request, Access{});
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<json::object> events;
    if (!page.ok()) return events;
    for (const auto& match : page->matches) {
      events.push_back(json::parse(match.json).as_object());
    }
    return events;
  }

  std::unique_ptr<ResourceStore> store_;
  std::unique_ptr<RestApi> api_;
};

}  // namespace junction::fhir::testing
