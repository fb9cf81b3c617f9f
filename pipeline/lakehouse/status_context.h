// WithContext: a Status with where it happened put in front of its message
// ("usda/2024/03/a.csv.gz: line 7: ..."), its code kept, so a caller can
// still tell a corrupt file from a bad argument or an I/O error.
#pragma once

#include <string>
#include <utility>

#include "schemas/status.h"

namespace sluice::lakehouse {

inline Status WithContext(const Status& s, const std::string& prefix) {
  std::string m = prefix + s.message();
  switch (s.code()) {
    case Code::kOk: return s;
    case Code::kInvalidArgument: return Status::InvalidArgument(std::move(m));
    case Code::kNotFound: return Status::NotFound(std::move(m));
    case Code::kConflict: return Status::Conflict(std::move(m));
    case Code::kIOError: return Status::IOError(std::move(m));
    case Code::kCorruption: return Status::Corruption(std::move(m));
    case Code::kUnavailable: return Status::Unavailable(std::move(m));
    case Code::kInternal: return Status::Internal(std::move(m));
  }
  return Status::Internal(std::move(m));
}

}  // namespace sluice::lakehouse
