// Bearer tokens: HS256/RS256/ES256 verification and minting, claim checks,
// algorithm confusion, JWKS loading, OAuth2 client_credentials.
//
// Keys are generated here with OpenSSL; tokens under attack are built here
// too (own base64url and signatures), independent of the code under test.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "http/internal/auth_crypto.h"
#include "junction/http/auth.h"

namespace junction::http {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kSecret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr const char* kIssuer = "https://junction.test";
constexpr const char* kAudience = "junction-api";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string B64Url(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

std::string Bio2String(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

std::string PrivatePem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return Bio2String(bio);
}

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  return Bio2String(bio);
}

std::string BnParam(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
  const int len = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(len), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
  BN_free(bn);
  return out;
}

json::object Jwk(EVP_PKEY* key, const std::string& kid) {
  json::object jwk;
  if (!kid.empty()) jwk["kid"] = kid;
  jwk["use"] = "sig";
  if (EVP_PKEY_is_a(key, "RSA")) {
    jwk["kty"] = "RSA";
    jwk["alg"] = "RS256";
    jwk["n"] = B64Url(BnParam(key, OSSL_PKEY_PARAM_RSA_N));
    jwk["e"] = B64Url(BnParam(key, OSSL_PKEY_PARAM_RSA_E));
  } else {
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["x"] = B64Url(BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
    jwk["y"] = B64Url(BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  }
  return jwk;
}

std::string Hs256(std::string_view input, std::string_view secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// RS256 (PKCS#1 v1.5) or ES256 (JOSE R||S) signature of `input`.
std::string AsymmetricSign(std::string_view input, EVP_PKEY* key) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  std::size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  if (EVP_PKEY_is_a(key, "RSA")) return sig;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* der = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(der), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(der), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(der);
  return raw;
}

// A compact JWS; the signature is computed with `secret` (HS*) or `key`.
std::string MakeToken(const json::object& header, const json::object& claims,
                      std::string_view secret, EVP_PKEY* key = nullptr) {
  const std::string input = B64Url(json::serialize(header)) + "." + B64Url(json::serialize(claims));
  const std::string alg(header.at("alg").as_string());
  std::string sig;
  if (alg == "HS256") sig = Hs256(input, secret);
  if (alg == "HS384") {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha384(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    sig.assign(reinterpret_cast<char*>(mac), len);
  }
  if ((alg == "RS256" || alg == "ES256") && key) sig = AsymmetricSign(input, key);
  return input + "." + B64Url(sig);
}

json::object GoodClaims() {
  return {{"iss", kIssuer},       {"aud", kAudience}, {"sub", "alice"},   {"client_id", "app"},
          {"scope", "user/*.rs"}, {"iat", kNow - 10}, {"nbf", kNow - 10}, {"exp", kNow + 600}};
}

json::object Header(const char* alg, const char* kid = nullptr) {
  json::object h{{"alg", alg}, {"typ", "JWT"}};
  if (kid) h["kid"] = kid;
  return h;
}

engine::AuthConfig HsConfig() {
  engine::AuthConfig c;
  c.issuer = kIssuer;
  c.audience = kAudience;
  c.hs256_secret = kSecret;
  return c;
}

std::unique_ptr<Authenticator> MustCreate(const engine::AuthConfig& config) {
  auto auth = Authenticator::Create(config);
  EXPECT_TRUE(auth.ok()) << auth.status().message();
  return auth.ok() ? std::move(*auth) : nullptr;
}

// The reason Verify gives, or "ok".
std::string Reason(const Authenticator& auth, std::string_view token, std::int64_t now = kNow) {
  auto p = auth.Verify("Bearer " + std::string(token), now);
  if (p.ok()) return "ok";
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  return p.status().message();
}

std::vector<std::string> Split(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  for (std::size_t dot; (dot = token.find('.', pos)) != std::string::npos; pos = dot + 1) {
    parts.push_back(token.substr(pos, dot - pos));
  }
  parts.push_back(token.substr(pos));
  return parts;
}

json::object DecodePart(const std::string& part) {
  auto bytes = internal::Base64UrlDecode(part);
  EXPECT_TRUE(bytes);
  return json::parse(bytes.value_or("{}")).as_object();
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("junction_auth_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string JwksText(std::initializer_list<json::object> keys) {
  json::array arr;
  for (const auto& k : keys) arr.push_back(k);
  return json::serialize(json::object{{"keys", arr}});
}

// ---------------------------------------------------------------- HS256

TEST(AuthTest, Hs256RoundTrip) {
  auto auth = MustCreate(HsConfig());
  ASSERT_TRUE(auth);
  MintRequest req;
  req.client_id = "demo-app";
  req.scopes = {"patient/Observation.rs", "openid"};
  req.patient = "pat-1";
  req.ttl_seconds = 300;
  auto token = auth->Mint(req, kNow);
  ASSERT_TRUE(token.ok()) << token.status().message();

  const auto parts = Split(*token);
  ASSERT_EQ(parts.size(), 3u);
  const json::object header = DecodePart(parts[0]);
  EXPECT_EQ(header.at("alg"), "HS256");
  const json::object claims = DecodePart(parts[1]);
  EXPECT_EQ(claims.at("iss"), kIssuer);
  EXPECT_EQ(claims.at("aud"), kAudience);
  EXPECT_EQ(claims.at("sub"), "demo-app");
  EXPECT_EQ(claims.at("iat").to_number<std::int64_t>(), kNow);
  EXPECT_EQ(claims.at("nbf").to_number<std::int64_t>(), kNow);
  EXPECT_EQ(claims.at("exp").to_number<std::int64_t>(), kNow + 300);
  EXPECT_EQ(claims.at("jti").as_string().size(), 32u);

  auto p = auth->Verify("Bearer " + *token, kNow + 10);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->subject, "demo-app");
  EXPECT_EQ(p->client_id, "demo-app");
  EXPECT_EQ(p->scopes, (std::vector<std::string>{"patient/Observation.rs", "openid"}));
  ASSERT_EQ(p->smart.size(), 1u);
  EXPECT_EQ(p->smart[0].resource_type, "Observation");
  EXPECT_EQ(p->patient, "pat-1");
  EXPECT_EQ(p->expires_at, kNow + 300);
  EXPECT_TRUE(p->Allows("Observation", Interaction::kSearch));
  EXPECT_FALSE(p->Allows("Observation", Interaction::kCreate));

  // A second token differs (jti is random).
  auto again = auth->Mint(req, kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *token);
}

TEST(AuthTest, SchemeIsCaseInsensitiveAndMalformedHeadersAreMissing) {
  auto auth = MustCreate(HsConfig());
  const std::string token = MakeToken(Header("HS256"), GoodClaims(), kSecret);
  EXPECT_TRUE(auth->Verify("bearer " + token, kNow).ok());
  EXPECT_TRUE(auth->Verify("BEARER   " + token + " ", kNow).ok());
  for (const std::string& header :
       {std::string(), std::string("Bearer"), std::string("Bearer "), "Basic " + token,
        "Bearer" + token, "Bearer " + token + " extra", "Token " + token}) {
    auto p = auth->Verify(header, kNow);
    ASSERT_FALSE(p.ok()) << header;
    EXPECT_EQ(p.status().message(), "missing bearer token") << header;
  }
  EXPECT_EQ(Reason(*auth, "not-a-jwt"), "malformed token");
  EXPECT_EQ(Reason(*auth, "a.b.c.d.e"), "malformed token");
  EXPECT_EQ(Reason(*auth, std::string(20000, 'a')), "token too large");
}

TEST(AuthTest, ChecksTimes) {
  auto auth = MustCreate(HsConfig());  // clock_skew 60 s
  auto at = [&](const char* name, std::int64_t value) {
    json::object c = GoodClaims();
    c[name] = value;
    return Reason(*auth, MakeToken(Header("HS256"), c, kSecret));
  };
  EXPECT_EQ(at("exp", kNow - 61), "token expired");
  EXPECT_EQ(at("exp", kNow - 30), "ok");  // within the skew
  EXPECT_EQ(at("nbf", kNow + 3600), "token not yet valid");
  EXPECT_EQ(at("nbf", kNow + 30), "ok");
  EXPECT_EQ(at("iat", kNow + 3600), "token not yet valid");

  json::object no_exp = GoodClaims();
  no_exp.erase("exp");
  EXPECT_EQ(Reason(*auth, MakeToken(Header("HS256"), no_exp, kSecret)), "token has no exp");
  json::object text_exp = GoodClaims();
  text_exp["exp"] = "tomorrow";
  EXPECT_EQ(Reason(*auth, MakeToken(Header("HS256"), text_exp, kSecret)), "malformed token");

  // A minted token expires after its ttl (plus the skew).
  MintRequest req;
  req.client_id = "c";
  req.ttl_seconds = 3600;
  auto token = auth->Mint(req, kNow - 7200);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(Reason(*auth, *token), "token expired");
  EXPECT_EQ(Reason(*auth, *token, kNow - 7200 + 3600 + 59), "ok");
  EXPECT_EQ(Reason(*auth, *auth->Mint(req, kNow + 3600)), "token not yet valid");
}

TEST(AuthTest, RepeatedTokensAreCheckedForTimeEveryTime) {
  // A verified token is remembered; its exp and nbf still hold on each use.
  auto auth = MustCreate(HsConfig());  // clock_skew 60 s
  MintRequest req;
  req.client_id = "c";
  req.ttl_seconds = 3600;
  auto token = auth->Mint(req, kNow + 1000);  // nbf = iat = kNow + 1000
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(Reason(*auth, *token, kNow + 1000), "ok");
  EXPECT_EQ(Reason(*auth, *token, kNow + 1000), "ok");
  EXPECT_EQ(Reason(*auth, *token, kNow), "token not yet valid");
  EXPECT_EQ(Reason(*auth, *token, kNow + 1000 + 3600 + 61), "token expired");
  EXPECT_EQ(Reason(*auth, *token, kNow + 1000 + 3600 + 59), "ok");
  // A changed signature is another text: verified again, and refused.
  const auto parts = Split(*token);
  std::string sig = parts[2];
  sig[sig.size() / 2] = sig[sig.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Reason(*auth, parts[0] + "." + parts[1] + "." + sig, kNow + 1000), "bad signature");
  // A principal from the cache is the same as the first one.
  auto first = auth->Verify("Bearer " + *token, kNow + 1000);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->client_id, "c");
  EXPECT_EQ(first->expires_at, kNow + 1000 + 3600);
}

TEST(AuthTest, ChecksIssuerAndAudience) {
  auto auth = MustCreate(HsConfig());
  auto with = [&](const char* name, json::value value) {
    json::object c = GoodClaims();
    if (value.is_null()) {
      c.erase(name);
    } else {
      c[name] = value;
    }
    return Reason(*auth, MakeToken(Header("HS256"), c, kSecret));
  };
  EXPECT_EQ(with("iss", "https://evil.test"), "wrong issuer");
  EXPECT_EQ(with("iss", nullptr), "wrong issuer");
  EXPECT_EQ(with("aud", "other-api"), "wrong audience");
  EXPECT_EQ(with("aud", nullptr), "wrong audience");
  EXPECT_EQ(with("aud", json::array{"other-api", kAudience}), "ok");
  EXPECT_EQ(with("aud", json::array{"other-api", "third"}), "wrong audience");
  EXPECT_EQ(with("aud", json::array{}), "wrong audience");

  // Tokens minted by a differently configured authenticator with the same secret.
  engine::AuthConfig other = HsConfig();
  other.issuer = "https://other.test";
  MintRequest req;
  req.client_id = "c";
  EXPECT_EQ(Reason(*auth, *MustCreate(other)->Mint(req, kNow)), "wrong issuer");
  other = HsConfig();
  other.audience = "other-api";
  EXPECT_EQ(Reason(*auth, *MustCreate(other)->Mint(req, kNow)), "wrong audience");
}

TEST(AuthTest, RejectsTamperingAndForeignSecrets) {
  auto auth = MustCreate(HsConfig());
  MintRequest req;
  req.client_id = "app";
  req.scopes = {"user/Patient.rs"};
  auto token = auth->Mint(req, kNow);
  ASSERT_TRUE(token.ok());
  const auto parts = Split(*token);

  // Payload: grant ourselves admin, keep the signature.
  json::object claims = DecodePart(parts[1]);
  claims["scope"] = "admin user/*.*";
  EXPECT_EQ(Reason(*auth, parts[0] + "." + B64Url(json::serialize(claims)) + "." + parts[2]),
            "bad signature");
  // Signature: change one character in the middle.
  std::string sig = parts[2];
  sig[sig.size() / 2] = sig[sig.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Reason(*auth, parts[0] + "." + parts[1] + "." + sig), "bad signature");
  // No signature at all.
  EXPECT_EQ(Reason(*auth, parts[0] + "." + parts[1] + "."), "bad signature");
  // Signed with another secret.
  EXPECT_EQ(Reason(*auth, MakeToken(Header("HS256"), GoodClaims(),
                                    "another-secret-that-is-long-enough-0123")),
            "bad signature");
}

TEST(AuthTest, RefusesAlgNoneAndUnconfiguredAlgorithms) {
  auto auth = MustCreate(HsConfig());
  const std::string claims = B64Url(json::serialize(GoodClaims()));
  for (const char* alg : {"none", "None", "NONE"}) {
    const std::string header = B64Url(json::serialize(json::object{{"alg", alg}, {"typ", "JWT"}}));
    EXPECT_EQ(Reason(*auth, header + "." + claims + "."), "unsupported algorithm") << alg;
    EXPECT_EQ(Reason(*auth, header + "." + claims + ".c2ln"), "unsupported algorithm") << alg;
  }
  EXPECT_EQ(Reason(*auth, MakeToken(Header("HS384"), GoodClaims(), kSecret)),
            "unsupported algorithm");
  // RS256 with no RSA key configured.
  Pkey rsa(EVP_RSA_gen(2048));
  EXPECT_EQ(Reason(*auth, MakeToken(Header("RS256"), GoodClaims(), "", rsa.get())),
            "unsupported algorithm");
  // A header without alg, or with "crit".
  const std::string no_alg = B64Url(R"({"typ":"JWT"})");
  EXPECT_EQ(Reason(*auth, no_alg + "." + claims + ".c2ln"), "malformed token");
  json::object crit = Header("HS256");
  crit["crit"] = json::array{"exp"};
  EXPECT_EQ(Reason(*auth, MakeToken(crit, GoodClaims(), kSecret)), "unsupported token header");
  // typ: "JWT" in any case, or none; libjwt 1.10 refuses others (RFC 9068 "at+jwt").
  json::object no_typ{{"alg", "HS256"}};
  EXPECT_EQ(Reason(*auth, MakeToken(no_typ, GoodClaims(), kSecret)), "ok");
  json::object lower_typ{{"alg", "HS256"}, {"typ", "jwt"}};
  EXPECT_EQ(Reason(*auth, MakeToken(lower_typ, GoodClaims(), kSecret)), "ok");
  json::object at_jwt{{"alg", "HS256"}, {"typ", "at+jwt"}};
  EXPECT_EQ(Reason(*auth, MakeToken(at_jwt, GoodClaims(), kSecret)), "unsupported token type");
}

TEST(AuthTest, MintValidatesItsRequest) {
  auto auth = MustCreate(HsConfig());
  MintRequest req;
  req.client_id = "app";
  req.scopes = {"patient/*.rs"};
  EXPECT_FALSE(auth->Mint(req, kNow).ok());  // patient scope without a patient
  req.patient = "bad id with spaces";
  EXPECT_FALSE(auth->Mint(req, kNow).ok());
  req.patient = "p1";
  EXPECT_TRUE(auth->Mint(req, kNow).ok());
  req.scopes = {"two scopes"};
  EXPECT_FALSE(auth->Mint(req, kNow).ok());
  req.scopes = {};
  req.ttl_seconds = 0;
  EXPECT_FALSE(auth->Mint(req, kNow).ok());
  req.ttl_seconds = 3600;
  req.client_id = "";
  EXPECT_FALSE(auth->Mint(req, kNow).ok());
}

TEST(AuthTest, CreateRefusesWeakOrMissingKeys) {
  engine::AuthConfig none;
  auto a = Authenticator::Create(none);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);

  engine::AuthConfig short_secret = HsConfig();
  short_secret.hs256_secret = std::string(31, 'k');
  EXPECT_FALSE(Authenticator::Create(short_secret).ok());
  short_secret.hs256_secret = std::string(32, 'k');
  EXPECT_TRUE(Authenticator::Create(short_secret).ok());

  engine::AuthConfig missing = HsConfig();
  missing.jwks = "/nonexistent/junction/jwks.json";
  auto m = Authenticator::Create(missing);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("/nonexistent/junction/jwks.json"), std::string::npos);

  missing = HsConfig();
  missing.rs256_private_key = "/nonexistent/junction/rsa.pem";
  m = Authenticator::Create(missing);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("/nonexistent/junction/rsa.pem"), std::string::npos);
}

// ---------------------------------------------------------------- RS256 / ES256

struct KeyPair {
  Pkey key;
  std::string kid;
};

// Config with a JWKS holding `public_keys` and, optionally, a private key.
engine::AuthConfig AsymConfig(const TempDir& dir, std::initializer_list<const KeyPair*> public_keys,
                              const KeyPair* rs_private = nullptr,
                              const KeyPair* es_private = nullptr) {
  engine::AuthConfig c;
  c.issuer = kIssuer;
  c.audience = kAudience;
  json::array keys;
  for (const KeyPair* k : public_keys) keys.push_back(Jwk(k->key.get(), k->kid));
  if (!keys.empty()) {
    c.jwks = dir.Write("jwks" + std::to_string(keys.size()) + ".json",
                       json::serialize(json::object{{"keys", keys}}));
  }
  if (rs_private) c.rs256_private_key = dir.Write("rs.pem", PrivatePem(rs_private->key.get()));
  if (es_private) c.es256_private_key = dir.Write("es.pem", PrivatePem(es_private->key.get()));
  return c;
}

class AsymTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new KeyPair{Pkey(EVP_RSA_gen(2048)), "rsa-1"};
    rsa_other_ = new KeyPair{Pkey(EVP_RSA_gen(2048)), "rsa-2"};
    ec_ = new KeyPair{Pkey(EVP_EC_gen("P-256")), "ec-1"};
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete rsa_other_;
    delete ec_;
  }
  static KeyPair* rsa_;
  static KeyPair* rsa_other_;
  static KeyPair* ec_;
  TempDir dir_;
};
KeyPair* AsymTest::rsa_ = nullptr;
KeyPair* AsymTest::rsa_other_ = nullptr;
KeyPair* AsymTest::ec_ = nullptr;

TEST_F(AsymTest, Rs256MintAndVerifyWithJwksKid) {
  auto signer = MustCreate(AsymConfig(dir_, {rsa_, ec_}, rsa_));
  ASSERT_TRUE(signer);
  MintRequest req;
  req.client_id = "svc";
  req.scopes = {"system/*.rs"};
  auto token = signer->Mint(req, kNow);
  ASSERT_TRUE(token.ok()) << token.status().message();
  const json::object header = DecodePart(Split(*token)[0]);
  EXPECT_EQ(header.at("alg"), "RS256");
  EXPECT_EQ(header.at("kid"), "rsa-1");

  // A verifier with only the JWKS (no private key) accepts it.
  auto verifier = MustCreate(AsymConfig(dir_, {rsa_other_, rsa_}));
  auto p = verifier->Verify("Bearer " + *token, kNow);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->client_id, "svc");
  EXPECT_TRUE(p->Allows("Observation", Interaction::kRead));
  // Also tokens built outside Junction, with and without kid.
  EXPECT_EQ(
      Reason(*verifier, MakeToken(Header("RS256", "rsa-1"), GoodClaims(), "", rsa_->key.get())),
      "ok");
  EXPECT_EQ(Reason(*verifier, MakeToken(Header("RS256"), GoodClaims(), "", rsa_->key.get())), "ok");
  EXPECT_EQ(Reason(*verifier, MakeToken(Header("RS256"), GoodClaims(), "", rsa_other_->key.get())),
            "ok");
}

TEST_F(AsymTest, Es256MintAndVerify) {
  auto signer = MustCreate(AsymConfig(dir_, {ec_}, nullptr, ec_));
  MintRequest req;
  req.client_id = "svc";
  auto token = signer->Mint(req, kNow);
  ASSERT_TRUE(token.ok()) << token.status().message();
  const auto parts = Split(*token);
  EXPECT_EQ(DecodePart(parts[0]).at("alg"), "ES256");
  EXPECT_EQ(DecodePart(parts[0]).at("kid"), "ec-1");
  // JOSE signatures are R||S (64 bytes), not DER.
  EXPECT_EQ(internal::Base64UrlDecode(parts[2]).value_or("").size(), 64u);
  EXPECT_EQ(Reason(*signer, *token), "ok");

  auto verifier = MustCreate(AsymConfig(dir_, {ec_}));
  EXPECT_EQ(Reason(*verifier, *token), "ok");
  EXPECT_EQ(Reason(*verifier, MakeToken(Header("ES256", "ec-1"), GoodClaims(), "", ec_->key.get())),
            "ok");
  // An ES256 token signed by a key that is not in the JWKS.
  Pkey stranger(EVP_EC_gen("P-256"));
  EXPECT_EQ(Reason(*verifier, MakeToken(Header("ES256"), GoodClaims(), "", stranger.get())),
            "bad signature");
}

TEST_F(AsymTest, PrivateKeyAloneVerifiesWithThumbprintKid) {
  auto auth = MustCreate(AsymConfig(dir_, {}, rsa_));
  ASSERT_TRUE(auth);
  MintRequest req;
  req.client_id = "svc";
  auto token = auth->Mint(req, kNow);
  ASSERT_TRUE(token.ok());
  const std::string kid(DecodePart(Split(*token)[0]).at("kid").as_string());
  EXPECT_EQ(kid.size(), 43u);  // base64url of a SHA-256 digest
  EXPECT_EQ(Reason(*auth, *token), "ok");
  // Stable: the same key gives the same kid.
  auto again = MustCreate(AsymConfig(dir_, {}, rsa_));
  EXPECT_EQ(DecodePart(Split(*again->Mint(req, kNow))[0]).at("kid").as_string(), kid.c_str());
}

TEST_F(AsymTest, UnknownKidAndWrongKey) {
  auto auth = MustCreate(AsymConfig(dir_, {rsa_}));
  EXPECT_EQ(
      Reason(*auth, MakeToken(Header("RS256", "no-such-kid"), GoodClaims(), "", rsa_->key.get())),
      "unknown key");
  // Right kid, wrong key.
  EXPECT_EQ(
      Reason(*auth, MakeToken(Header("RS256", "rsa-1"), GoodClaims(), "", rsa_other_->key.get())),
      "bad signature");
  // ES256 with an RSA-only JWKS.
  EXPECT_EQ(Reason(*auth, MakeToken(Header("ES256"), GoodClaims(), "", ec_->key.get())),
            "unsupported algorithm");
}

TEST_F(AsymTest, Hs256TokenNeverVerifiedWithAnRsaPublicKey) {
  // The classic confusion attack: HMAC keyed with the server's public key.
  auto auth = MustCreate(AsymConfig(dir_, {rsa_}));
  const std::string pem = PublicPem(rsa_->key.get());
  EXPECT_EQ(Reason(*auth, MakeToken(Header("HS256"), GoodClaims(), pem)), "unsupported algorithm");
  EXPECT_EQ(Reason(*auth, MakeToken(Header("HS256", "rsa-1"), GoodClaims(), pem)),
            "unsupported algorithm");
  // Even when HS256 is configured too, the public key is not its secret.
  engine::AuthConfig both = AsymConfig(dir_, {rsa_});
  both.hs256_secret = kSecret;
  auto mixed = MustCreate(both);
  EXPECT_EQ(Reason(*mixed, MakeToken(Header("HS256", "rsa-1"), GoodClaims(), pem)),
            "bad signature");
  EXPECT_EQ(Reason(*mixed, MakeToken(Header("HS256"), GoodClaims(), kSecret)), "ok");
  EXPECT_EQ(Reason(*mixed, MakeToken(Header("RS256"), GoodClaims(), "", rsa_->key.get())), "ok");
}

TEST_F(AsymTest, TamperedRs256Token) {
  auto auth = MustCreate(AsymConfig(dir_, {rsa_}, rsa_));
  MintRequest req;
  req.client_id = "svc";
  req.scopes = {"user/Patient.r"};
  auto token = auth->Mint(req, kNow);
  ASSERT_TRUE(token.ok());
  const auto parts = Split(*token);
  json::object claims = DecodePart(parts[1]);
  claims["scope"] = "admin";
  EXPECT_EQ(Reason(*auth, parts[0] + "." + B64Url(json::serialize(claims)) + "." + parts[2]),
            "bad signature");
  std::string sig = parts[2];
  sig[10] = sig[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Reason(*auth, parts[0] + "." + parts[1] + "." + sig), "bad signature");
  // The header switched to HS256 with the same payload and signature.
  json::object header = DecodePart(parts[0]);
  header["alg"] = "HS256";
  EXPECT_EQ(Reason(*auth, B64Url(json::serialize(header)) + "." + parts[1] + "." + parts[2]),
            "unsupported algorithm");
}

TEST_F(AsymTest, JwksLoading) {
  // Keys Junction does not verify with are skipped; broken usable ones are errors.
  json::object enc = Jwk(rsa_other_->key.get(), "enc-key");
  enc["use"] = "enc";
  json::object ps = Jwk(rsa_other_->key.get(), "ps-key");
  ps["alg"] = "PS256";
  json::object oct{{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}};
  json::object p384{{"kty", "EC"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}};
  auto keys = internal::ParseJwks(JwksText({enc, ps, oct, p384, Jwk(rsa_->key.get(), "")}), "f");
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().public_pem, PublicPem(rsa_->key.get()));
  EXPECT_EQ(keys->front().kid.size(), 43u);  // thumbprint when the JWK has no kid

  auto ec = internal::ParseJwks(JwksText({Jwk(ec_->key.get(), "e")}), "f");
  ASSERT_TRUE(ec.ok());
  EXPECT_EQ(ec->front().public_pem, PublicPem(ec_->key.get()));

  json::object off_curve = Jwk(ec_->key.get(), "bad");
  off_curve["y"] = B64Url(std::string(32, '\x01'));
  EXPECT_FALSE(internal::ParseJwks(JwksText({off_curve}), "f").ok());
  json::object bad_n = Jwk(rsa_->key.get(), "bad");
  bad_n["n"] = "!!";
  EXPECT_FALSE(internal::ParseJwks(JwksText({bad_n}), "f").ok());
  Pkey small(EVP_RSA_gen(1024));
  auto weak = internal::ParseJwks(JwksText({Jwk(small.get(), "weak")}), "keys.json");
  ASSERT_FALSE(weak.ok());
  EXPECT_NE(weak.status().message().find("keys.json"), std::string::npos);
  EXPECT_NE(weak.status().message().find("2048"), std::string::npos);
  EXPECT_FALSE(
      internal::ParseJwks(JwksText({Jwk(rsa_->key.get(), "k"), Jwk(ec_->key.get(), "k")}), "f")
          .ok());                                                // duplicate kid
  EXPECT_FALSE(internal::ParseJwks(JwksText({oct}), "f").ok());  // nothing usable
  EXPECT_FALSE(internal::ParseJwks("{\"keys\": 1}", "f").ok());
  EXPECT_FALSE(internal::ParseJwks("not json", "f").ok());
}

TEST_F(AsymTest, PrivateKeyOfTheWrongTypeIsRefused) {
  engine::AuthConfig c = AsymConfig(dir_, {});
  c.rs256_private_key = dir_.Write("ec-as-rsa.pem", PrivatePem(ec_->key.get()));
  auto a = Authenticator::Create(c);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("ec-as-rsa.pem"), std::string::npos);
  c.rs256_private_key = dir_.Write("garbage.pem", "-----BEGIN NOTHING-----\n");
  EXPECT_FALSE(Authenticator::Create(c).ok());
}

// ---------------------------------------------------------------- client_credentials

engine::AuthConfig ClientsConfig() {
  engine::AuthConfig c = HsConfig();
  c.token_ttl = std::chrono::seconds(900);
  c.clients.push_back(
      {"reader", internal::Sha256Hex("reader-secret"), {"user/*.read", "openid"}, 1});
  std::string upper = internal::Sha256Hex("ops-secret");
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  c.clients.push_back({"ops", upper, {"user/*.*", "operator"}, 2});
  return c;
}

TEST(ClientCredentialsTest, GrantsRequestedScopesWithinTheAllowedOnes) {
  auto auth = MustCreate(ClientsConfig());
  ASSERT_TRUE(auth);
  auto r = auth->ClientCredentials("reader", "reader-secret", "user/Observation.rs", kNow);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->scope, "user/Observation.rs");
  EXPECT_EQ(r->expires_in, 900);
  auto p = auth->Verify("Bearer " + r->access_token, kNow);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->client_id, "reader");
  EXPECT_EQ(p->expires_at, kNow + 900);
  EXPECT_TRUE(p->Allows("Observation", Interaction::kSearch));
  EXPECT_FALSE(p->Allows("Patient", Interaction::kRead));

  // v1/v2 equivalence, and the upper-case hex in the config.
  auto ops =
      auth->ClientCredentials("ops", "ops-secret", "user/Observation.read user/Patient.cud", kNow);
  ASSERT_TRUE(ops.ok()) << ops.status().message();
  EXPECT_EQ(ops->scope, "user/Observation.read user/Patient.cud");
}

TEST(ClientCredentialsTest, NoScopeRequestedGrantsAllAllowed) {
  auto auth = MustCreate(ClientsConfig());
  auto r = auth->ClientCredentials("ops", "ops-secret", "", kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scope, "user/*.* operator");
  auto p = auth->Verify("Bearer " + r->access_token, kNow);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->HasScope("operator"));
  EXPECT_FALSE(p->HasScope("admin"));
}

TEST(ClientCredentialsTest, WrongSecretAndUnknownClientLookTheSame) {
  auto auth = MustCreate(ClientsConfig());
  for (auto [id, secret] :
       {std::pair{"reader", "wrong"}, std::pair{"reader", ""}, std::pair{"nobody", "reader-secret"},
        std::pair{"ops", "reader-secret"}}) {
    auto r = auth->ClientCredentials(id, secret, "", kNow);
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << id;
    EXPECT_EQ(r.status().message(), "invalid client") << id;
  }
}

TEST(ClientCredentialsTest, RefusesScopeEscalation) {
  auto auth = MustCreate(ClientsConfig());
  for (const char* scope :
       {"user/Observation.write", "user/*.rs admin", "admin", "system/Observation.read",
        "patient/Observation.read", "user/Observation.cruds", "user/Observation.rs?category=x"}) {
    auto r = auth->ClientCredentials("reader", "reader-secret", scope, kNow);
    ASSERT_FALSE(r.ok()) << scope;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << scope;
    EXPECT_EQ(r.status().message(), "invalid scope") << scope;
  }
}

TEST(ClientCredentialsTest, CreateChecksClients) {
  engine::AuthConfig c = ClientsConfig();
  c.clients[0].secret_sha256 = "abc";
  EXPECT_FALSE(Authenticator::Create(c).ok());
  c = ClientsConfig();
  c.clients[1].id = "reader";
  EXPECT_FALSE(Authenticator::Create(c).ok());
}

}  // namespace
}  // namespace junction::http
