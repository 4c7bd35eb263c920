// Status and Result<T>: expected failures as values.
//
// The HL7 library never throws on bad input. Functions that can fail return a
// Status (no value) or a Result<T> (a value or a Status).
//
//   Result<Message> msg = Message::Parse(bytes);
//   if (!msg.ok()) { std::cerr << msg.status().ToString(); return 1; }
//   std::string name = msg->Get("PID-5.1");
//
// Thread safety: values; safe to copy and move between threads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace junction {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the input data is malformed
  kNotFound,          // a path or key names nothing
  kOutOfRange,        // a bound (size, count, depth) was exceeded
  kUnimplemented,
  kIoError,
  kInternal,
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::size_t offset = kNoOffset)
      : code_(code), message_(std::move(message)), offset_(offset) {}

  static constexpr std::size_t kNoOffset = static_cast<std::size_t>(-1);

  static Status Ok() { return {}; }
  static Status Invalid(std::string m, std::size_t offset = kNoOffset) {
    return {StatusCode::kInvalidArgument, std::move(m), offset};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status OutOfRange(std::string m, std::size_t offset = kNoOffset) {
    return {StatusCode::kOutOfRange, std::move(m), offset};
  }
  static Status Io(std::string m) { return {StatusCode::kIoError, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Byte offset into the input where the problem was found, or kNoOffset.
  std::size_t offset() const { return offset_; }
  bool has_offset() const { return offset_ != kNoOffset; }

  // "message" or "offset 123: message".
  std::string ToString() const {
    if (ok()) return "ok";
    if (has_offset()) return "offset " + std::to_string(offset_) + ": " + message_;
    return message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::size_t offset_ = kNoOffset;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace junction

// Returns early from the enclosing function when `expr` yields a non-ok Status.
#define JUNCTION_RETURN_IF_ERROR(expr)           \
  do {                                           \
    ::junction::Status junction_status_ = (expr); \
    if (!junction_status_.ok()) return junction_status_; \
  } while (0)
