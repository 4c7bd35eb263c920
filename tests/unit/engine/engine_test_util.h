// Shared helpers for the engine tests: sample messages, a temporary store,
// string replacement and ACK field access.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "junction/hl7/message.h"
#include "junction/store/store.h"

namespace junction::engine::testing {

// A conforming 2.5.1 ADT^A01 (validates without errors).
inline constexpr const char kAdt[] =
    "MSH|^~\\&|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20260101120000||ADT^A01^ADT_A01|CTRL1|P|2.5.1\r"
    "EVN|A01|20260101120000\r"
    "PID|1||PAT123^^^HOSP^MR||DOE^JOHN||19800101|M\r"
    "PV1|1|I|W1^101^A\r";

inline std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

inline std::string WithControlId(std::string_view id) {
  return Replace(kAdt, "|CTRL1|", "|" + std::string(id) + "|");
}

inline std::unique_ptr<store::Store> OpenTempStore(bool detect_duplicates = false) {
  store::StoreOptions options;
  options.sqlite_path = ":memory:";
  options.durable = false;
  options.detect_duplicates = detect_duplicates;
  auto store = store::Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// Field of a parsed ACK ("" when the ACK does not parse).
inline std::string AckField(std::string_view ack, std::string_view path) {
  auto m = hl7::Message::Parse(ack);
  return m.ok() ? m->Get(path) : std::string();
}

}  // namespace junction::engine::testing
