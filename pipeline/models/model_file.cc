#include "pipeline/models/model_file.h"

#include <vector>

#include "pipeline/models/model_header.h"
#include "pipeline/models/sql_tokens.h"
#include "pipeline/models/table_references.h"

namespace sluice::models {

namespace {

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

}  // namespace

Result<Model> ParseModelFile(std::string_view text, const std::string& path) {
  auto tokens = Tokenize(text, path);
  if (!tokens.ok()) return tokens.status();
  const std::vector<Token>& t = *tokens;
  std::vector<std::string> problems;
  auto problem = [&](int line, const std::string& what) {
    problems.push_back(path + ":" + std::to_string(line) + ": " + what);
  };

  Model m;
  m.path = path;
  const std::size_t slash = path.find('/');
  std::optional<Layer> layer;
  if (slash != std::string::npos) layer = ParseLayer(path.substr(0, slash));
  if (!layer) problem(1, "not in a layer folder (staging/, foundation/ or serving/)");

  auto body = ParseModelHeader(t, path, &m, &problems);
  if (layer) {
    m.layer = *layer;
    const std::string prefix = LayerPrefix(*layer);
    if (!m.name.empty() && m.name.rfind(prefix, 0) != 0)
      problem(m.name_line, "name '" + m.name + "' does not match its folder " + LayerName(*layer) +
                               "/ (expected " + prefix + "...)");
  }
  if (!body) return Status::InvalidArgument(Join(problems));

  std::size_t begin = *body;
  if (m.kind == ModelKind::kSeed) {
    // The rows come from the CSV (seed_model.h); the header is the file.
    if (begin < t.size()) problem(t[begin].line, "a SEED model has no SELECT: its rows come from its CSV");
    if (!problems.empty()) return Status::InvalidArgument(Join(problems));
    return m;
  }
  if (begin >= t.size()) {
    problem(t.empty() ? 1 : t.back().line, "missing SELECT after the header");
    return Status::InvalidArgument(Join(problems));
  }
  if (!t[begin].IsKeyword("select") && !t[begin].IsKeyword("with")) {
    problem(t[begin].line, "expected a SELECT (or WITH ... SELECT) after the header, found '" + t[begin].text + "'");
    return Status::InvalidArgument(Join(problems));
  }
  std::size_t end = begin;
  while (end < t.size() && !t[end].IsPunct(";")) ++end;
  if (end < t.size() && end + 1 < t.size())
    problem(t[end + 1].line, "only one SELECT per model file: more SQL after ';'");
  bool has_select = false;
  for (std::size_t i = begin; i < end; ++i) {
    if (t[i].IsKeyword("select")) has_select = true;
    if (t[i].type == TokenType::kMacro && t[i].text != "start_ds" && t[i].text != "end_ds")
      problem(t[i].line, "unknown macro @" + t[i].text + " (expected @start_ds or @end_ds)");
  }
  if (!has_select) problem(t[begin].line, "missing SELECT after WITH");

  const Token& last = t[end - 1];
  m.select_sql = std::string(text.substr(t[begin].offset, last.offset + last.length - t[begin].offset));
  m.select_line = t[begin].line;
  m.reads = FindTableReferences(t, begin, end).tables;
  if (!problems.empty()) return Status::InvalidArgument(Join(problems));
  return m;
}

}  // namespace sluice::models
