// Key handling for bearer tokens (OpenSSL 3): base64url, SHA-256, random
// ids, PEM private keys, and JWKS (RFC 7517) -> PEM public keys.
//
//   auto keys = ParseJwks(json_text, "conf/jwks.json");   // RS256/ES256 keys as PEM
//   auto key = LoadPrivateKey(path_or_pem, KeyAlg::kRs256);  // for minting
//   key->kid  // RFC 7638 thumbprint of the public half
//
// Only what Junction signs and verifies with is accepted: RSA >= 2048 bits
// for RS256 and EC P-256 for ES256. Keys of other types in a JWKS (oct, OKP,
// use "enc", other algs) are skipped, not errors.
//
// Thread safety: pure functions; results are plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "junction/hl7/status.h"

namespace junction::http::internal {

enum class KeyAlg { kRs256, kEs256 };

const char* KeyAlgName(KeyAlg alg);  // "RS256" / "ES256"

// One public key that verifies signatures.
struct VerifyKey {
  KeyAlg alg = KeyAlg::kRs256;
  std::string kid;         // from the JWKS, or the thumbprint
  std::string public_pem;  // SubjectPublicKeyInfo PEM (libjwt's format)
};

// A private key that signs.
struct SigningKey {
  KeyAlg alg = KeyAlg::kRs256;
  std::string private_pem;  // as read (libjwt parses it)
  std::string public_pem;   // its public half, canonical PEM (to match JWKS keys)
  std::string thumbprint;   // RFC 7638 SHA-256 thumbprint, base64url
};

// Base64url without padding (RFC 7515 section 2).
std::string Base64UrlEncode(std::string_view bytes);
// Accepts the base64url alphabet without padding; nullopt for anything else.
std::optional<std::string> Base64UrlDecode(std::string_view text);

std::string Sha256Hex(std::string_view bytes);  // lower-case hex
std::string RandomHex(std::size_t bytes);       // from RAND_bytes; "" when it fails

// Reads a key file. A value that starts with "-----BEGIN" is taken as inline PEM.
// Errors name `what` (the config key) and the file.
Result<std::string> ReadKeyText(std::string_view path_or_pem, std::string_view what);

// Parses a PEM private key and checks it fits `alg`.
Result<SigningKey> LoadPrivateKey(std::string_view pem, KeyAlg alg, std::string_view what);

// Parses a JWKS document ({"keys": [...]}); `file` names it in errors. Errors
// for keys that look usable but are broken; kInvalidArgument when no usable key.
Result<std::vector<VerifyKey>> ParseJwks(std::string_view json, std::string_view file);

}  // namespace junction::http::internal
