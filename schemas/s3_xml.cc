#include "schemas/s3_xml.h"

#include <charconv>
#include <cstdint>

namespace sluice::s3::xml {
namespace {

void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The numeric reference "#NN" / "#xNN" as a code point; nullopt if invalid.
std::optional<std::uint32_t> NumericRef(std::string_view ref) {
  if (ref.size() < 2 || ref[0] != '#') return std::nullopt;
  int base = 10;
  ref.remove_prefix(1);
  if (ref[0] == 'x' || ref[0] == 'X') {
    base = 16;
    ref.remove_prefix(1);
  }
  std::uint32_t cp = 0;
  const auto [ptr, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), cp, base);
  if (ec != std::errc() || ptr != ref.data() + ref.size()) return std::nullopt;
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return cp;
}

}  // namespace

std::string Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const std::size_t semi = c == '&' ? text.find(';', i) : std::string_view::npos;
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back(c);
      ++i;
      continue;
    }
    const std::string_view ref = text.substr(i + 1, semi - i - 1);
    if (ref == "amp") out.push_back('&');
    else if (ref == "lt") out.push_back('<');
    else if (ref == "gt") out.push_back('>');
    else if (ref == "quot") out.push_back('"');
    else if (ref == "apos") out.push_back('\'');
    else if (const auto cp = NumericRef(ref)) AppendUtf8(*cp, &out);
    else {
      out.push_back(c);
      ++i;
      continue;
    }
    i = semi + 1;
  }
  return out;
}

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string_view> Elements(std::string_view doc, std::string_view tag, std::size_t max) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  std::size_t pos = 0;
  while (out.size() < max) {
    const std::size_t start = doc.find(open, pos);
    if (start == std::string_view::npos) break;
    const std::size_t inner = start + open.size();
    const std::size_t end = doc.find(close, inner);
    if (end == std::string_view::npos) break;
    out.push_back(doc.substr(inner, end - inner));
    pos = end + close.size();
  }
  return out;
}

std::optional<std::string> Text(std::string_view doc, std::string_view tag) {
  const std::vector<std::string_view> found = Elements(doc, tag, 1);
  if (found.empty()) return std::nullopt;
  return Decode(found.front());
}

}  // namespace sluice::s3::xml
