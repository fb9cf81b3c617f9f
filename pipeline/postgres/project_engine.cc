#include "pipeline/postgres/project_engine.h"

#include <fstream>
#include <sstream>
#include <toml++/toml.h>

namespace sluice::postgres {
namespace {

Status At(const std::string& name, const toml::source_region& where, const std::string& what) {
  return Status::InvalidArgument(name + ":" + std::to_string(where.begin.line) + ": " + what);
}

}  // namespace

const char* EngineName(Engine e) { return e == Engine::kPostgres ? "postgres" : "sqlite"; }

Result<std::optional<Engine>> ParseProjectEngine(std::string_view text, const std::string& name, bool only_project) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return At(name, e.source(), std::string(e.description()));
  } catch (const std::exception& e) {
    return Status::IOError(name + ": " + e.what());
  }
  if (only_project)
    for (auto&& [key, node] : root)
      if (key.str() != "project")
        return At(name, key.source(), "unknown key '" + std::string(key.str()) + "' (expected [project])");
  const toml::node* project = root.get("project");
  if (project == nullptr) return std::optional<Engine>();
  const toml::table* t = project->as_table();
  if (t == nullptr) return At(name, project->source(), "'project' must be a table ([project])");
  std::optional<Engine> engine;
  for (auto&& [key, node] : *t) {
    if (key.str() != "engine")
      return At(name, key.source(), "unknown key '" + std::string(key.str()) + "' in [project] (known: engine)");
    const std::string* v = node.is_string() ? &node.as_string()->get() : nullptr;
    if (v != nullptr && *v == "sqlite") engine = Engine::kSqlite;
    else if (v != nullptr && *v == "postgres") engine = Engine::kPostgres;
    else return At(name, node.source(), "engine must be \"sqlite\" or \"postgres\"");
  }
  return engine;
}

Result<Engine> ReadProjectEngine(const std::filesystem::path& models_dir) {
  std::optional<Engine> found;
  std::string found_in;
  for (const char* file : {"sources.toml", "sluice.toml"}) {
    const std::filesystem::path path = models_dir / file;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in.is_open() || in.bad()) return Status::IOError("cannot read " + path.string());
    auto engine = ParseProjectEngine(text.str(), path.string(), std::string_view(file) == "sluice.toml");
    if (!engine.ok()) return engine.status();
    if (!*engine) continue;
    if (found && *found != **engine)
      return Status::InvalidArgument(path.string() + ": engine \"" + EngineName(**engine) + "\" disagrees with " +
                                     found_in + " (\"" + EngineName(*found) + "\")");
    found = *engine;
    found_in = path.string();
  }
  return found.value_or(Engine::kSqlite);
}

}  // namespace sluice::postgres
