// Where objects live in an S3-compatible store: "s3://bucket/prefix".
//
// The bucket follows S3's naming rules (3-63 of [a-z0-9.-], starting and
// ending with a letter or digit, no ".."); the prefix is '/'-separated
// components, each non-empty, none "." or "..", no control bytes, valid
// UTF-8, at most 512 bytes in all. A trailing '/' is dropped. A key inside
// the location is the prefix, '/', then the relative name (or the name
// alone when the prefix is empty).
#pragma once

#include <string>
#include <string_view>

#include "schemas/status.h"

namespace sluice::s3 {

struct Location {
  std::string bucket;
  std::string prefix;  // no leading or trailing '/'; may be empty

  // The object key of `relative` (a '/'-separated name) in this location.
  std::string Key(std::string_view relative) const;
  // The key's name relative to the location (Key()'s inverse); empty when
  // `key` is not inside it.
  std::string Relative(std::string_view key) const;
  // What a listing of everything under the location asks for: "prefix/" or "".
  std::string ListPrefix() const;
  // "s3://bucket/prefix" (or "s3://bucket").
  std::string ToString() const;
  // This location with `component` appended to the prefix.
  Location Child(std::string_view component) const;
};

// True if `text` starts with "s3://" (a location, valid or not).
bool IsS3Url(std::string_view text);

// Parses and validates "s3://bucket[/prefix]". InvalidArgument names what
// is wrong.
Result<Location> ParseLocation(std::string_view text);

// S3's bucket naming rules, as above.
bool IsValidBucketName(std::string_view bucket);

}  // namespace sluice::s3
