#include "pipeline/lakehouse/csv_reader.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "pipeline/lakehouse/status_context.h"

namespace sluice::lakehouse {
namespace {

constexpr std::size_t kMaxBuffer = std::size_t{1} << 30;  // the longest record we accept

// Bytes that end an unquoted field.
constexpr std::array<bool, 256> MakeSpecial() {
  std::array<bool, 256> t{};
  t[static_cast<unsigned char>(',')] = true;
  t[static_cast<unsigned char>('\n')] = true;
  t[static_cast<unsigned char>('\r')] = true;
  return t;
}
constexpr std::array<bool, 256> kSpecial = MakeSpecial();

std::string Printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
  return buf;
}

}  // namespace

CsvReader::CsvReader(ByteSource& src, std::size_t buffer_bytes)
    : src_(src), buf_(new char[std::max<std::size_t>(buffer_bytes, 64)]),
      cap_(std::max<std::size_t>(buffer_bytes, 64)) {}

Status CsvReader::Error(std::int64_t line, const std::string& reason) const {
  return Status::InvalidArgument("line " + std::to_string(line) + ": " + reason);
}

Result<std::size_t> CsvReader::Refill(std::size_t keep_from) {
  std::size_t shift = keep_from;
  if (shift > 0) {
    std::memmove(buf_.get(), buf_.get() + shift, end_ - shift);
    end_ -= shift;
    pos_ -= shift;
  }
  if (end_ == cap_) {
    if (cap_ >= kMaxBuffer) return Error(record_line_, "a record longer than 1 GiB");
    std::size_t ncap = std::min(cap_ * 2, kMaxBuffer);
    std::unique_ptr<char[]> nbuf(new char[ncap]);
    std::memcpy(nbuf.get(), buf_.get(), end_);
    buf_ = std::move(nbuf);
    cap_ = ncap;
  }
  auto n = src_.Read(buf_.get() + end_, cap_ - end_);
  if (!n.ok()) return WithContext(n.status(), "line " + std::to_string(line_) + ": ");
  if (*n == 0) eof_ = true;
  end_ += *n;
  return shift;
}

Status CsvReader::ReadHeader() {
  if (!started_) {
    started_ = true;
    while (end_ < 3 && !eof_) {
      auto r = Refill(0);
      if (!r.ok()) return r.status();
    }
    if (end_ >= 3 && std::memcmp(buf_.get(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  }
  header_.clear();
  auto r = NextRecord();
  if (!r.ok()) return r.status();
  if (*r)
    for (const auto& f : fields_) header_.emplace_back(f.data, f.size);
  header_line_ = record_line_;
  return Status::Ok();
}

Result<bool> CsvReader::Next() {
  auto r = NextRecord();
  if (!r.ok() || !*r) return r;
  if (fields_.size() != header_.size())
    return Error(record_line_, "the record has " + std::to_string(fields_.size()) +
                                   (fields_.size() == 1 ? " field" : " fields") + ", the header has " +
                                   std::to_string(header_.size()));
  return true;
}

Result<bool> CsvReader::NextRecord() {
  enum State { kFieldStart, kUnquoted, kQuoted, kQuoteSeen };
  State st = kFieldStart;
  nspans_ = 0;
  std::size_t rec = pos_;  // the start of this record: kept across refills
  std::size_t fs = pos_;   // the current field's first content byte
  std::size_t fw = pos_;   // quoted fields: where the next unescaped byte goes
  std::int64_t quote_line = 0;
  record_line_ = line_;

  // spans_ only grows: no allocation once it fits the widest record.
  auto AddSpan = [this](Span sp) {
    if (nspans_ == spans_.size()) spans_.resize(spans_.size() * 2 + 16);
    spans_[nspans_++] = sp;
  };
  auto finish = [&]() {
    fields_.resize(nspans_);
    char* b = buf_.get();
    for (std::size_t i = 0; i < nspans_; ++i)
      fields_[i] = CsvField{b + spans_[i].begin, spans_[i].size, spans_[i].null};
  };
  // Consumes the line end at pos_ (LF, CR, or the CR of CRLF).
  auto end_line = [&](char c) {
    ++pos_;
    ++line_;
    if (c == '\r') skip_lf_ = true;
  };

  for (;;) {
    if (pos_ == end_) {
      if (!eof_) {
        auto shift = Refill(rec);
        if (!shift.ok()) return shift.status();
        std::size_t s = *shift;
        rec -= s;
        fs -= s;
        fw -= s;
        for (std::size_t i = 0; i < nspans_; ++i) spans_[i].begin -= s;
        continue;
      }
      switch (st) {
        case kFieldStart:
          if (nspans_ == 0) return false;
          AddSpan({pos_, 0, true});
          break;
        case kUnquoted:
          AddSpan({fs, pos_ - fs, false});
          break;
        case kQuoteSeen:
          AddSpan({fs, fw - fs, false});
          break;
        case kQuoted:
          return Error(record_line_, "unterminated quoted field: the quote opened on line " +
                                         std::to_string(quote_line) +
                                         " is not closed before the end of the file (line " +
                                         std::to_string(line_) + ")");
      }
      finish();
      return true;
    }
    char* b = buf_.get();
    switch (st) {
      case kFieldStart: {
        char c = b[pos_];
        if (nspans_ == 0) {
          if (skip_lf_) {
            skip_lf_ = false;
            if (c == '\n') {
              rec = ++pos_;
              continue;
            }
          }
          if (c == '\n' || c == '\r') {  // a blank line
            end_line(c);
            rec = pos_;
            record_line_ = line_;
            continue;
          }
        }
        if (c == '"') {
          st = kQuoted;
          fs = fw = ++pos_;
          quote_line = line_;
          continue;
        }
        if (c == ',') {
          AddSpan({pos_, 0, true});
          ++pos_;
          continue;
        }
        if (c == '\n' || c == '\r') {  // a trailing empty field
          AddSpan({pos_, 0, true});
          end_line(c);
          finish();
          return true;
        }
        st = kUnquoted;
        fs = pos_;
        [[fallthrough]];
      }
      case kUnquoted: {
        const char* p = b + pos_;
        const char* e = b + end_;
        while (p < e && !kSpecial[static_cast<unsigned char>(*p)]) ++p;
        pos_ = static_cast<std::size_t>(p - b);
        if (p == e) continue;
        AddSpan({fs, pos_ - fs, false});
        char c = *p;
        if (c == ',') {
          ++pos_;
          st = kFieldStart;
          continue;
        }
        end_line(c);
        finish();
        return true;
      }
      case kQuoted: {
        const char* p = b + pos_;
        const char* e = b + end_;
        const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(e - p)));
        const char* stop = q ? q : e;
        line_ += std::count(p, stop, '\n');
        std::size_t n = static_cast<std::size_t>(stop - p);
        if (fw != pos_) std::memmove(b + fw, p, n);
        fw += n;
        pos_ += n;
        if (q) {
          ++pos_;
          st = kQuoteSeen;
        }
        continue;
      }
      case kQuoteSeen: {
        char c = b[pos_];
        if (c == '"') {  // a doubled quote: one quote of content
          b[fw++] = '"';
          ++pos_;
          st = kQuoted;
          continue;
        }
        AddSpan({fs, fw - fs, false});
        if (c == ',') {
          ++pos_;
          st = kFieldStart;
          continue;
        }
        if (c == '\n' || c == '\r') {
          end_line(c);
          finish();
          return true;
        }
        return Error(record_line_, "unexpected " + Printable(c) + " after the closing quote of field " +
                                       std::to_string(nspans_) + " (on line " +
                                       std::to_string(line_) + ")");
      }
    }
  }
}

}  // namespace sluice::lakehouse
