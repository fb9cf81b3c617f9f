// CsvReader: an RFC 4180 parser that streams over a ByteSource.
//
//   - The first record is the header: it names the columns.
//   - Fields are separated by ',' and records end with LF, CRLF (or a lone
//     CR). Quoted fields may hold commas, line ends, and doubled quotes ("")
//     which read as one quote. A quote inside an unquoted field is data.
//   - A UTF-8 byte order mark at the very start is dropped.
//   - An unquoted empty field is NULL; a quoted empty field ("") is the
//     empty string.
//   - Blank lines between records are skipped.
//   - Errors: a record whose field count differs from the header's, an
//     unterminated quote at the end of the input, a character other than
//     ',' or a line end after a closing quote, and the source's own errors
//     (a truncated gzip). Each is "line N: <reason>", N counting physical
//     lines from 1: for a bad record, the line on which that record STARTS
//     (the message names the other line when one matters); for a source
//     error, the line the parser had reached.
//
// Speed: input is read into one large buffer and parsed in place. A field is
// a pointer into that buffer (quotes are unescaped inside the field's own
// bytes), valid until the next call to Next(). Nothing is allocated per
// field or per record once the buffer and field vector have their size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/lakehouse/byte_source.h"
#include "schemas/status.h"

namespace sluice::lakehouse {

struct CsvField {
  const char* data = nullptr;
  std::size_t size = 0;
  bool null = false;  // an unquoted empty field
  std::string_view view() const { return {data, size}; }
};

class CsvReader {
 public:
  explicit CsvReader(ByteSource& src, std::size_t buffer_bytes = 4 << 20);

  // Reads the header row. OK with an empty header() when the input holds no
  // record at all. Must be called once, before Next().
  Status ReadHeader();
  const std::vector<std::string>& header() const { return header_; }
  // The line the header starts on (1 unless blank lines come first).
  std::int64_t header_line() const { return header_line_; }

  // The next data record into fields(): true, or false at the end of input.
  Result<bool> Next();
  const std::vector<CsvField>& fields() const { return fields_; }
  // The physical line (1-based) on which the current record starts.
  std::int64_t record_line() const { return record_line_; }

 private:
  struct Span {
    std::size_t begin;
    std::size_t size;
    bool null;
  };
  // Parses one record of any width into spans_/fields_.
  Result<bool> NextRecord();
  // Moves [keep_from, end_) to the front of the buffer (growing it when the
  // record fills it) and reads more. Returns how far bytes moved.
  Result<std::size_t> Refill(std::size_t keep_from);
  Status Error(std::int64_t line, const std::string& reason) const;

  ByteSource& src_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_;
  std::size_t end_ = 0;  // bytes of valid data in buf_
  std::size_t pos_ = 0;  // next byte to parse
  bool eof_ = false;
  bool started_ = false;  // BOM checked
  bool skip_lf_ = false;  // the last record ended with CR: an LF right after belongs to it
  std::int64_t line_ = 1;
  std::int64_t record_line_ = 1;
  std::int64_t header_line_ = 1;
  std::vector<Span> spans_;  // the first nspans_ are this record's
  std::size_t nspans_ = 0;
  std::vector<CsvField> fields_;
  std::vector<std::string> header_;
};

}  // namespace sluice::lakehouse
