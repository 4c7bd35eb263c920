// OpenSSL 3 key plumbing for bearer tokens: JWK -> EVP_PKEY (OSSL_PARAM),
// EVP_PKEY -> PEM, RFC 7638 thumbprints, base64url.
#include "http/internal/auth_crypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <boost/json.hpp>
#include <fstream>
#include <memory>
#include <set>

namespace junction::http::internal {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxKeyFileBytes = 1u << 20;
constexpr std::size_t kMaxJwksKeys = 100;
constexpr int kMinRsaBits = 2048;
constexpr std::size_t kP256CoordinateBytes = 32;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int B64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// The public half as SubjectPublicKeyInfo PEM; "" on failure.
std::string PublicPem(EVP_PKEY* pkey) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : "";
}

std::string BnBytes(const BIGNUM* bn, int pad_to = 0) {
  const int len = pad_to > 0 ? pad_to : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(len), '\0');
  const int written = pad_to > 0
                          ? BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad_to)
                          : BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  if (written != len) return "";
  return out;
}

Bn GetBn(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return nullptr;
  return Bn(bn);
}

std::string GroupName(EVP_PKEY* pkey) {
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
      1) {
    return "";
  }
  return std::string(name, len);
}

// Checks that `pkey` suits `alg`; "" when it does, else the reason.
std::string CheckKeyFits(EVP_PKEY* pkey, KeyAlg alg) {
  if (alg == KeyAlg::kRs256) {
    if (!EVP_PKEY_is_a(pkey, "RSA")) return "not an RSA key";
    if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) return "RSA key shorter than 2048 bits";
    return "";
  }
  if (!EVP_PKEY_is_a(pkey, "EC")) return "not an EC key";
  const std::string group = GroupName(pkey);
  if (group != "prime256v1" && group != "P-256") return "EC key not on curve P-256";
  return "";
}

bool PublicCheck(EVP_PKEY* pkey) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

// RFC 7638: SHA-256 over the required members in lexicographic order.
std::string Thumbprint(EVP_PKEY* pkey, KeyAlg alg) {
  std::string canonical;
  if (alg == KeyAlg::kRs256) {
    Bn n = GetBn(pkey, OSSL_PKEY_PARAM_RSA_N);
    Bn e = GetBn(pkey, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) return "";
    canonical = R"({"e":")" + Base64UrlEncode(BnBytes(e.get())) + R"(","kty":"RSA","n":")" +
                Base64UrlEncode(BnBytes(n.get())) + R"("})";
  } else {
    Bn x = GetBn(pkey, OSSL_PKEY_PARAM_EC_PUB_X);
    Bn y = GetBn(pkey, OSSL_PKEY_PARAM_EC_PUB_Y);
    if (!x || !y) return "";
    const int size = static_cast<int>(kP256CoordinateBytes);
    canonical = R"({"crv":"P-256","kty":"EC","x":")" + Base64UrlEncode(BnBytes(x.get(), size)) +
                R"(","y":")" + Base64UrlEncode(BnBytes(y.get(), size)) + R"("})";
  }
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest.data());
  return Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

// Builds a public key from OSSL_PARAMs ("RSA" or "EC").
Pkey FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
  return Pkey(pkey);
}

const json::string* StringMember(const json::object& obj, std::string_view name) {
  const json::value* v = obj.if_contains(name);
  return v ? v->if_string() : nullptr;
}

// Decodes a base64url member; "" with `*error` set when absent or invalid.
std::string DecodedMember(const json::object& jwk, std::string_view name, std::string* error) {
  const json::string* s = StringMember(jwk, name);
  if (!s) {
    *error = "missing \"" + std::string(name) + "\"";
    return "";
  }
  auto bytes = Base64UrlDecode(*s);
  if (!bytes || bytes->empty()) {
    *error = "\"" + std::string(name) + "\" is not base64url";
    return "";
  }
  return *bytes;
}

Pkey RsaFromJwk(const json::object& jwk, std::string* error) {
  const std::string n = DecodedMember(jwk, "n", error);
  if (n.empty()) return nullptr;
  const std::string e = DecodedMember(jwk, "e", error);
  if (e.empty()) return nullptr;
  Bn bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()),
                    nullptr));
  Bn bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()),
                    nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    *error = "cannot build the RSA key";
    return nullptr;
  }
  Pkey pkey = FromParams("RSA", bld.get());
  if (!pkey) *error = "cannot build the RSA key";
  return pkey;
}

Pkey EcFromJwk(const json::object& jwk, std::string* error) {
  const std::string x = DecodedMember(jwk, "x", error);
  if (x.empty()) return nullptr;
  const std::string y = DecodedMember(jwk, "y", error);
  if (y.empty()) return nullptr;
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    *error = "P-256 coordinates must be 32 bytes";
    return nullptr;
  }
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    *error = "cannot build the EC key";
    return nullptr;
  }
  Pkey pkey = FromParams("EC", bld.get());
  if (!pkey) *error = "not a point on P-256";
  return pkey;
}

}  // namespace

const char* KeyAlgName(KeyAlg alg) { return alg == KeyAlg::kRs256 ? "RS256" : "ES256"; }

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    const auto b1 = static_cast<unsigned char>(bytes[i + 1]);
    const auto b2 = static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kB64Url[b0 >> 2]);
    out.push_back(kB64Url[((b0 & 0x03) << 4) | (b1 >> 4)]);
    out.push_back(kB64Url[((b1 & 0x0f) << 2) | (b2 >> 6)]);
    out.push_back(kB64Url[b2 & 0x3f]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    const unsigned b1 = rest == 2 ? static_cast<unsigned char>(bytes[i + 1]) : 0u;
    out.push_back(kB64Url[b0 >> 2]);
    out.push_back(kB64Url[((b0 & 0x03) << 4) | (b1 >> 4)]);
    if (rest == 2) out.push_back(kB64Url[(b1 & 0x0f) << 2]);
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = B64UrlValue(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero (canonical encoding).
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

std::string RandomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return "";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

Result<std::string> ReadKeyText(std::string_view path_or_pem, std::string_view what) {
  if (path_or_pem.starts_with("-----BEGIN")) return std::string(path_or_pem);
  const std::string path(path_or_pem);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid(std::string(what) + ": cannot read " + path);
  std::string text;
  text.resize(kMaxKeyFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return Status::Invalid(std::string(what) + ": cannot read " + path);
  if (text.size() > kMaxKeyFileBytes) {
    return Status::Invalid(std::string(what) + ": " + path + ": larger than 1 MiB");
  }
  return text;
}

Result<SigningKey> LoadPrivateKey(std::string_view pem, KeyAlg alg, std::string_view what) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!pkey) return Status::Invalid(std::string(what) + ": not a PEM private key");
  const std::string reason = CheckKeyFits(pkey.get(), alg);
  if (!reason.empty()) return Status::Invalid(std::string(what) + ": " + reason);
  SigningKey key;
  key.alg = alg;
  key.private_pem = std::string(pem);
  key.public_pem = PublicPem(pkey.get());
  key.thumbprint = Thumbprint(pkey.get(), alg);
  if (key.public_pem.empty() || key.thumbprint.empty()) {
    return Status::Invalid(std::string(what) + ": cannot read the public key");
  }
  return key;
}

Result<std::vector<VerifyKey>> ParseJwks(std::string_view text, std::string_view file) {
  const std::string where = "auth.jwks: " + std::string(file);
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  const json::object* root = ec ? nullptr : doc.if_object();
  const json::value* keys_value = root ? root->if_contains("keys") : nullptr;
  const json::array* keys = keys_value ? keys_value->if_array() : nullptr;
  if (!keys) return Status::Invalid(where + ": not a JWKS (a JSON object with a \"keys\" array)");
  if (keys->size() > kMaxJwksKeys) return Status::Invalid(where + ": more than 100 keys");

  std::vector<VerifyKey> out;
  std::set<std::string> kids;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const std::string at = where + ": keys[" + std::to_string(i) + "]: ";
    const json::object* jwk = (*keys)[i].if_object();
    if (!jwk) return Status::Invalid(at + "not an object");
    const json::string* kty = StringMember(*jwk, "kty");
    if (!kty) return Status::Invalid(at + "missing \"kty\"");
    const json::string* use = StringMember(*jwk, "use");
    if (use && *use != "sig") continue;  // encryption keys never verify
    const json::string* alg = StringMember(*jwk, "alg");
    const json::string* crv = StringMember(*jwk, "crv");

    KeyAlg key_alg = KeyAlg::kRs256;
    std::string error;
    Pkey pkey;
    if (*kty == "RSA" && (!alg || *alg == "RS256")) {
      key_alg = KeyAlg::kRs256;
      pkey = RsaFromJwk(*jwk, &error);
    } else if (*kty == "EC" && crv && *crv == "P-256" && (!alg || *alg == "ES256")) {
      key_alg = KeyAlg::kEs256;
      pkey = EcFromJwk(*jwk, &error);
    } else {
      continue;  // a key type or algorithm Junction does not verify with
    }
    if (!pkey) return Status::Invalid(at + error);
    if (std::string reason = CheckKeyFits(pkey.get(), key_alg); !reason.empty()) {
      return Status::Invalid(at + reason);
    }
    if (!PublicCheck(pkey.get())) return Status::Invalid(at + "invalid public key");

    VerifyKey key;
    key.alg = key_alg;
    const json::string* kid = StringMember(*jwk, "kid");
    key.kid = kid ? std::string(*kid) : Thumbprint(pkey.get(), key_alg);
    key.public_pem = PublicPem(pkey.get());
    if (key.public_pem.empty()) return Status::Invalid(at + "cannot convert the key to PEM");
    if (!kids.insert(key.kid).second) {
      return Status::Invalid(at + "duplicate kid \"" + key.kid + "\"");
    }
    out.push_back(std::move(key));
  }
  if (out.empty()) return Status::Invalid(where + ": no RS256 or ES256 signing key");
  return out;
}

}  // namespace junction::http::internal
