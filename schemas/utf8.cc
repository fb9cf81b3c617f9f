#include "schemas/utf8.h"

namespace sluice::proto {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the well-formed sequence at p[0..n), or 0 when there is
// none; then *skip is the length of the maximal subpart to replace (>= 1).
std::size_t Sequence(const unsigned char* p, std::size_t n, std::size_t* skip) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c == 0xE0) {
    need = 2, lo = 0xA0;  // no overlong 3-byte forms
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    need = 2;
  } else if (c == 0xED) {
    need = 2, hi = 0x9F;  // no surrogates
  } else if (c == 0xF0) {
    need = 3, lo = 0x90;  // no overlong 4-byte forms
  } else if (c >= 0xF1 && c <= 0xF3) {
    need = 3;
  } else if (c == 0xF4) {
    need = 3, hi = 0x8F;  // nothing above U+10FFFF
  } else {
    *skip = 1;
    return 0;
  }
  for (std::size_t k = 1; k <= need; ++k) {
    if (k >= n) {
      *skip = k;
      return 0;
    }
    const unsigned char b = p[k];
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
      *skip = k;
      return 0;
    }
  }
  return need + 1;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    std::size_t skip = 0;
    const std::size_t len = Sequence(p + i, s.size() - i, &skip);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string RepairUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t skip = 0;
    const std::size_t len = Sequence(p + i, s.size() - i, &skip);
    if (len > 0) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out.append(kReplacementChar);
      i += skip;
    }
  }
  return out;
}

void ClampUtf8(std::string* s, std::size_t max, bool keep_tail) {
  if (s->size() <= max) return;
  if (keep_tail) {
    std::size_t start = s->size() - max;
    while (start < s->size() && IsContinuation(static_cast<unsigned char>((*s)[start]))) ++start;
    s->erase(0, start);
  } else {
    std::size_t end = max;
    while (end > 0 && IsContinuation(static_cast<unsigned char>((*s)[end]))) --end;
    s->resize(end);
  }
}

std::string RepairAndClampUtf8(std::string_view raw, std::size_t max, bool keep_tail) {
  if (raw.size() > max) {
    // Cut the raw bytes first, on a character boundary where there is one
    // (at most 3 continuation bytes away), so a clean cut adds no U+FFFD.
    std::size_t start = keep_tail ? raw.size() - max : 0;
    std::size_t end = keep_tail ? raw.size() : max;
    auto cont = [&](std::size_t i) { return IsContinuation(static_cast<unsigned char>(raw[i])); };
    if (keep_tail) {
      for (int k = 0; k < 3 && start < end && cont(start); ++k) ++start;
    } else {
      std::size_t e = end;
      for (int k = 0; k < 3 && e > 0 && cont(e); ++k) --e;
      if (!cont(e)) end = e;
    }
    raw = raw.substr(start, end - start);
  }
  std::string out = RepairUtf8(raw);
  ClampUtf8(&out, max, keep_tail);
  return out;
}

}  // namespace sluice::proto
