// The URL of one S3 request: endpoint, addressing style, the key's
// encoding, and the query string in the form SigV4 signs.
//
// libcurl's signer (CURLOPT_AWS_SIGV4) signs the path and the query exactly
// as they are in the URL. Debian 12's libcurl 7.88 neither sorts the query
// (curl #9717) nor adds the '=' of a value-less parameter such as
// "?uploads" (#8107), while the store canonicalises both. So the query is
// built here already canonical: parameters sorted by name, each written
// "name=value" even when the value is empty, names and values encoded as
// SigV4 encodes them. The key is encoded the same way with '/' kept, which
// is S3's canonical path (S3 does not normalise or double-encode).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schemas/s3_config.h"

namespace sluice::s3 {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// SigV4's URI encoding: A-Z a-z 0-9 - . _ ~ as they are (and '/' when
// `keep_slash`), every other byte %XX with upper-case hex.
std::string UriEncode(std::string_view text, bool keep_slash);

// "a=1&b=&c=x%2Fy": sorted by encoded name, then value; "" when empty.
std::string CanonicalQuery(QueryParams params);

// The URL for `key` in `bucket` (an empty key: the bucket itself), with
// `query` (already canonical) appended after '?' when not empty.
//   path style (an endpoint is set):  {endpoint}/{bucket}/{key}
//   AWS S3:                           https://{bucket}.s3.{region}.amazonaws.com/{key}
//                                     (path style on s3.{region}.amazonaws.com
//                                     when the bucket has a '.', which a
//                                     wildcard certificate cannot match)
std::string ObjectUrl(const Config& config, std::string_view bucket, std::string_view key,
                      std::string_view query);

}  // namespace sluice::s3
