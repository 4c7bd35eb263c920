// ACK/NAK generation: the acknowledgement a receiver sends back for a message.
//
//   AckOptions opt;
//   opt.outcome = AckOutcome::kError;   // AE, or CE in enhanced mode
//   opt.text = "PID-7 is not a date";
//   opt.errors.push_back({"PID-7", 102, ErrorSeverity::kError, "bad birth date"});
//   Result<Message> ack = MakeAck(original, opt);   // or MakeAckText(...) for bytes
//
//   // When the bytes do not even parse as a message:
//   std::string nak = MakeNakForUnparseable(raw, "MSH-2: duplicate encoding character");
//
// The ACK uses the original's delimiters; swaps sending and receiving
// application/facility (MSH-3/4 <-> MSH-5/6); echoes MSH-11 (processing id), MSH-12
// (version) and MSH-18 (character set, and texts are written in it); sets MSH-9 to
// "ACK^<trigger>" before 2.3.1 and "ACK^<trigger>^ACK" from 2.3.1 on; MSA-1 the code,
// MSA-2 the original MSH-10, MSA-3 the text (before 2.8, where MSA-3 exists).
//
// Error segments depend on the version (HL7 table 0357 codes, e.g. 102 data type error):
//   up to 2.4:  one ERR whose ERR-1 repeats, one ELD per error:
//               ERR|PID^1^7^102&Data type error&HL70357
//   2.5 on:     one ERR per error: ERR-2 location (ERL), ERR-3 code (CWE), ERR-4
//               severity, ERR-8 user message:
//               ERR||PID^1^7|102^Data type error^HL70357|E||||bad birth date
//
// Mode: enhanced acknowledgement (CA/CE/CR) applies when MSH-15 or MSH-16 is valued,
// original mode (AA/AE/AR) otherwise; ModeFor() decides and CodeFor() maps an outcome.
//
// Thread safety: all functions are pure apart from the default control id, which
// uses an atomic counter; they may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/message.h"
#include "junction/hl7/status.h"

namespace junction::hl7 {

enum class AckMode { kOriginal, kEnhanced };
enum class AckOutcome { kAccept, kError, kReject };
enum class ErrorSeverity { kError, kWarning, kInformation };  // ERR-4: E, W, I

// HL7 table 0357 (message error condition codes).
namespace error_code {
inline constexpr int kAccepted = 0;
inline constexpr int kSegmentSequenceError = 100;
inline constexpr int kRequiredFieldMissing = 101;
inline constexpr int kDataTypeError = 102;
inline constexpr int kTableValueNotFound = 103;
inline constexpr int kUnsupportedMessageType = 200;
inline constexpr int kUnsupportedEventCode = 201;
inline constexpr int kUnsupportedProcessingId = 202;
inline constexpr int kUnsupportedVersionId = 203;
inline constexpr int kUnknownKeyIdentifier = 204;
inline constexpr int kDuplicateKeyIdentifier = 205;
inline constexpr int kApplicationRecordLocked = 206;
inline constexpr int kApplicationInternalError = 207;
}  // namespace error_code

// The table 0357 description of `code` ("Data type error"), or "" when unknown.
std::string_view ErrorCodeText(int code);

struct AckError {
  std::string location;  // an HL7 path such as "PID-7" or "OBX[2]-5.1"; "" = none
  int code = error_code::kApplicationInternalError;  // table 0357
  ErrorSeverity severity = ErrorSeverity::kError;
  std::string message;  // UTF-8 text for the user (ERR-8; in ERR-1 before 2.5)
};

struct AckOptions {
  AckOutcome outcome = AckOutcome::kAccept;
  // Explicit MSA-1 ("AA", "AE", "AR", "CA", "CE", "CR"); empty = CodeFor(mode, outcome).
  std::string code;
  // Empty = ModeFor(original). Ignored when `code` is given.
  std::optional<AckMode> mode;
  std::string text;  // MSA-3, UTF-8 (written in the message's charset)
  std::vector<AckError> errors;
  // Used for MSH-3/4 when the original's MSH-5/6 are empty.
  std::string application = "JUNCTION";
  std::string facility;
  std::string control_id;  // MSH-10 of the ACK; empty = NewControlId(timestamp)
  std::string timestamp;   // MSH-7 (HL7 DTM); empty = now, UTC
};

AckMode ModeFor(const Message& original);
// "AA"/"AE"/"AR" or "CA"/"CE"/"CR".
std::string_view CodeFor(AckMode mode, AckOutcome outcome);

// MSH-15 (accept ack type) / MSH-16 (application ack type): AL or empty = always,
// NE = never, ER = only when the outcome is not accept, SU = only on accept. Unknown
// values answer true (sending an ACK is the safe default).
bool ShouldSendAcceptAck(const Message& original, AckOutcome outcome);
bool ShouldSendApplicationAck(const Message& original, AckOutcome outcome);

// "YYYYMMDDHHMMSS+0000" for now (UTC).
std::string NowTimestamp();
// A control id unique within this process: the digits of `timestamp` (up to 14)
// followed by a 6-digit counter, at most 20 characters.
std::string NewControlId(std::string_view timestamp = {});

// The ACK as ER7 bytes (segments end in \r) and as a parsed Message.
// Fails when the original has no MSH, or options.code is not a known code.
Result<std::string> MakeAckText(const Message& original, const AckOptions& options = {});
Result<Message> MakeAck(const Message& original, const AckOptions& options = {});

// A reject (AR, or CR when MSH-15/16 are valued) for bytes that do not parse as a
// message. Salvages what it can from the first MSH line with a tolerant scan
// (delimiters, MSH-3..6, MSH-10, MSH-11, MSH-12, MSH-15/16, MSH-18); falls back to
// |^~\& and version 2.5. `reason` becomes MSA-3 and ERR text. Unless options.errors
// is given, one error is added: 100 when no MSH starts the input, 102 when the
// MSH header is malformed, else 207. The code is AR (CR when the salvaged MSH-15 or
// MSH-16 is valued) unless options.code names one; options.outcome is not used.
std::string MakeNakForUnparseable(std::string_view raw_bytes, std::string_view reason,
                                  const AckOptions& options = {});

}  // namespace junction::hl7
