// The names inside the landing zone, and the rules that keep them there.
//
//   {LANDING_DIR}/{source}/{YYYY}/{MM}/{stem}.{ext}.gz
//
//   source = 1-64 of [A-Za-z0-9._-], not starting with '.'
//   ext    = 1-16 of [A-Za-z0-9._-], not starting with '.'
//   stem   = "e" url8 "-" etag      ETag naming, etag encoded <= kMaxEtagChars
//          | "e" url8 ".h" etag32   ETag naming, an ETag too long to encode
//          | sha16                  content naming
//   url8   = the first 8 hex digits of SHA-256(expanded URL, secrets
//            unresolved): ETags are unique per URL only, so two URLs of one
//            source never share a stem (and a rotated secret changes no name)
//   etag   = the ETag without W/ and its quotes, each byte outside
//            [A-Za-z0-9._-] written as %XX (so distinct ETags stay distinct)
//   etag32 = the first 32 hex digits of SHA-256(ETag as sent)
//   sha16  = the first 16 hex digits of SHA-256(body)
//
// Temp files are ".sluice-tmp-" + random hex, in the target folder: a dot
// file, so no load glob ("*.csv.gz") ever matches one.
#pragma once

#include <string>
#include <string_view>

#include "schemas/status.h"

namespace sluice::worker {

inline constexpr std::size_t kMaxExtBytes = 16;
inline constexpr std::size_t kMaxEtagChars = 96;
inline constexpr std::string_view kTempPrefix = ".sluice-tmp-";

// InvalidArgument "field 'source' ..." with the offending value shown
// safely, else OK.
Status ValidateSource(std::string_view source);
Status ValidateExt(std::string_view ext);

// The extension of the last path segment of `url`, looking past one ".gz"
// ("a/b.csv.gz" -> "csv"), or "bin" when there is none that ValidateExt
// accepts.
std::string ExtensionFromUrl(std::string_view url);

// The stem for an ETag answer from `url`, or "" when the ETag is empty once
// W/ and quotes are gone (then content naming applies).
std::string EtagStem(std::string_view url, std::string_view etag);

// True if `name` may be a file in a partition: 1-255 bytes of
// [A-Za-z0-9._%-], not starting with '.' (what the stems above, plus
// "." ext ".gz", always are).
bool IsSafeFileName(std::string_view name);

// The stem for content naming, from the body's hex SHA-256.
std::string ContentStem(std::string_view sha256_hex);

// A value quoted for an error message: at most 80 bytes, control and
// non-ASCII bytes as \xNN.
std::string Quoted(std::string_view value);

}  // namespace sluice::worker
