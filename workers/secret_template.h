// Secret references in job params: `${env:NAME}` stands for the value of the
// environment variable NAME of the worker process, looked up when the job
// runs, when the worker's allow-list lets NAME be read (secret_allow_list.h).
// The params, and everything the worker reports (errors, outputs, logs),
// carry only the reference, never the value.
//
// Grammar: "${env:" NAME "}", NAME = [A-Za-z_][A-Za-z0-9_]{0,127}. Any
// other `$` is literal text. A "${env:" that does not continue as the
// grammar says is an error (a typo must not be sent as literal text).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schemas/status.h"
#include "workers/secret_allow_list.h"

namespace sluice::worker {

// The value of variable `name`, or nullptr when it is unset.
using EnvLookup = std::function<const char*(const char* name)>;
// ::getenv.
EnvLookup ProcessEnvironment();

// Remembers resolved values so that any text about to leave the worker
// (a libcurl error that quotes a host name, say) can have them replaced by
// their references again.
class SecretRedactor {
 public:
  void Add(std::string value, std::string reference);
  // `text` with every remembered value replaced by its reference, longest
  // values first.
  std::string Redact(std::string_view text) const;
  bool empty() const { return secrets_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> secrets_;  // value, reference
};

// NAME of the grammar above.
bool IsSecretName(std::string_view name);

// InvalidArgument naming the first malformed reference, else OK.
Status CheckSecretReferences(std::string_view text);

// `text` with every reference replaced by its value, each value added to
// `redactor` (may be null). A NAME that `allowed` does not allow is
// InvalidArgument "secret ${env:NAME} is not allowed on this worker: ..."
// naming the rule (whether it is set is not looked at); an unset NAME is
// InvalidArgument "secret ${env:NAME} is not set in the worker's
// environment". The errors never contain a value.
Result<std::string> ResolveSecrets(std::string_view text, const SecretAllowList& allowed,
                                   const EnvLookup& lookup, SecretRedactor* redactor);

}  // namespace sluice::worker
