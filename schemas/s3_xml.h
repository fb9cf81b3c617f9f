// The few pieces of S3's XML replies sluice reads (an error's Code and
// Message, a listing's Contents, an upload id) and the one body it writes
// (CompleteMultipartUpload). S3's replies are flat: the elements read here
// carry no attributes and do not nest in themselves, so a bounded scan for
// "<Tag>" ... "</Tag>" is exact for them. Nothing recurses; the caller
// bounds the document's size.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::s3::xml {

// The entity-decoded text of the first <tag>...</tag> in `doc`; nullopt
// when there is none (an empty element <tag/> included).
std::optional<std::string> Text(std::string_view doc, std::string_view tag);

// The inner XML of each <tag>...</tag> in `doc`, in order, at most `max`.
std::vector<std::string_view> Elements(std::string_view doc, std::string_view tag, std::size_t max);

// &amp; &lt; &gt; &quot; &apos; and numeric references decoded; anything
// else kept as it is.
std::string Decode(std::string_view text);

// `text` with & < > " ' escaped, for an element's content.
std::string Escape(std::string_view text);

}  // namespace sluice::s3::xml
