// Compares a clear-text password with PostgreSQL's stored verifier without the server: SCRAM-SHA-256
// (RFC 5802/7677: StoredKey = SHA-256(HMAC(PBKDF2(password, salt, i), "Client Key"))) or md5
// ("md5" || md5(password || user)). Lets `roles plan` say nothing when the password is already set.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <string>
#include <vector>

#include "access/statements.hpp"

namespace pgshift::access {
namespace {

std::vector<unsigned char> base64_decode(const std::string& text) {
  std::vector<unsigned char> out(text.size() / 4 * 3 + 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return {};
  size_t pad = 0;
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool scram_matches(const std::string& verifier, const std::string& password) {
  // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
  size_t d1 = verifier.find('$'), colon = verifier.find(':', d1), d2 = verifier.find('$', colon);
  size_t colon2 = d2 == std::string::npos ? std::string::npos : verifier.find(':', d2);
  if (d1 == std::string::npos || colon == std::string::npos || d2 == std::string::npos || colon2 == std::string::npos) {
    return false;
  }
  int iterations = std::stoi(verifier.substr(d1 + 1, colon - d1 - 1));
  std::vector<unsigned char> salt = base64_decode(verifier.substr(colon + 1, d2 - colon - 1));
  std::vector<unsigned char> stored = base64_decode(verifier.substr(d2 + 1, colon2 - d2 - 1));
  unsigned char salted[SHA256_DIGEST_LENGTH];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(), static_cast<int>(salt.size()),
                        iterations, EVP_sha256(), sizeof salted, salted) != 1) {
    return false;
  }
  unsigned char client_key[SHA256_DIGEST_LENGTH];
  unsigned int len = 0;
  static const char kClientKey[] = "Client Key";
  HMAC(EVP_sha256(), salted, sizeof salted, reinterpret_cast<const unsigned char*>(kClientKey), sizeof kClientKey - 1,
       client_key, &len);
  unsigned char stored_key[SHA256_DIGEST_LENGTH];
  SHA256(client_key, len, stored_key);
  return stored.size() == sizeof stored_key && std::equal(stored.begin(), stored.end(), stored_key);
}

bool md5_matches(const std::string& verifier, const std::string& user, const std::string& password) {
  std::string input = password + user;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_md5(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string hex = "md5";
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex == verifier;
}

}  // namespace

bool password_matches(const std::string& verifier, const std::string& user, const std::string& password) {
  if (verifier.starts_with("SCRAM-SHA-256$")) return scram_matches(verifier, password);
  if (verifier.starts_with("md5")) return md5_matches(verifier, user, password);
  return false;
}

}  // namespace pgshift::access
