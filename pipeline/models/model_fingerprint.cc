#include "pipeline/models/model_fingerprint.h"

#include <openssl/evp.h>

#include <cstdio>

#include "pipeline/models/sql_tokens.h"

namespace sluice::models {

std::string Fingerprint(const Model& model) {
  std::string text = std::string(KindName(model.kind)) + "\n" + Lower(model.time_column) + "\n";
  for (const std::string& k : model.unique_key) text += Lower(k) + ",";
  text += "\n";
  auto tokens = Tokenize(model.select_sql);
  if (tokens.ok()) {
    // Each token with its type, so 'a' (a string) and "a" (a name) differ.
    for (const Token& t : *tokens) {
      text += static_cast<char>('0' + static_cast<int>(t.type));
      text += t.type == TokenType::kIdentifier ? Lower(t.text) : t.text;
      text += '\x1f';
    }
  } else {
    text += model.select_sql;  // a model that does not tokenize never builds anyway
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", digest[i]);
    hex += b;
  }
  return hex;
}

}  // namespace sluice::models
