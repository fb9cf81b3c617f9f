#include "pipeline/models/model_set.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include "pipeline/models/model_file.h"
#include "pipeline/models/seed_model.h"
#include "pipeline/models/model_graph.h"
#include "pipeline/models/model_probe.h"

namespace sluice::models {

namespace {

std::string AllowedSources(Layer layer) {
  switch (layer) {
    case Layer::kStaging: return "raw_* tables and staging models";
    case Layer::kFoundation: return "staging and foundation models";
    case Layer::kServing: return "foundation and serving models";
  }
  return "";
}

}  // namespace

const Model* ModelSet::Find(std::string_view name) const {
  for (const Model& m : models)
    if (m.name == name) return &m;
  return nullptr;
}

Result<ModelSet> LoadModelSet(const std::filesystem::path& dir, const std::optional<std::set<std::string>>& raw_tables) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound("models folder " + dir.string() + " does not exist");

  std::vector<std::string> files;  // relative, '/'-separated
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().extension() != ".sql") continue;
    // x.postgres.sql is x.sql's PostgreSQL variant, not a model of its own
    // (pipeline/postgres/pg_model_run.h).
    if (it->path().stem().extension() == ".postgres") continue;
    files.push_back(it->path().lexically_relative(dir).generic_string());
  }
  if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());

  std::vector<std::string> problems;
  std::vector<Model> models;
  std::set<std::string> broken;  // file stems of models that did not load
  for (const std::string& rel : files) {
    std::ifstream in(dir / rel, std::ios::binary);
    std::stringstream text;
    if (in.is_open()) text << in.rdbuf();
    if (!in.is_open() || in.bad()) {
      problems.push_back(rel + ": cannot read the file");
      broken.insert(fs::path(rel).stem().string());
      continue;
    }
    auto m = ParseModelFile(text.str(), rel);
    if (m.ok() && m->kind == ModelKind::kSeed) {
      if (Status s = LoadSeed(dir, &*m); !s.ok()) m = s;
    }
    if (!m.ok()) {
      problems.push_back(m.status().message());
      broken.insert(fs::path(rel).stem().string());
      continue;
    }
    models.push_back(std::move(m).value());
  }

  std::map<std::string, const Model*> by_name;
  for (const Model& m : models) {
    auto [it, fresh] = by_name.emplace(m.name, &m);
    if (!fresh)
      problems.push_back(m.path + ":" + std::to_string(m.name_line) + ": model '" + m.name + "' is also defined in " +
                         it->second->path);
  }

  // The exact reads: every model compiled (raw tables' columns inferred).
  ProbeOptions probe_options;
  probe_options.raw_tables = raw_tables;
  probe_options.broken_models = broken;
  auto probed = ProbeModels(models, probe_options);
  if (!probed.ok()) return probed.status();
  std::set<std::string> self_reads;
  std::map<std::string, std::string> guessed;  // model -> why
  for (std::size_t i = 0; i < models.size(); ++i) {
    Model& m = models[i];
    const ModelCompile& c = probed->models[i];
    if (!c.probed) continue;
    if (!c.compiled) {
      guessed[m.name] = m.path + ":" + std::to_string(c.error_line) + ": " + m.name + ": " + c.error;
      continue;
    }
    std::vector<TableReference> reads;
    for (const auto& [table, columns] : c.reads) {
      if (table == m.name) {
        self_reads.insert(m.name);
        if (m.kind == ModelKind::kView)
          problems.push_back(m.path + ":" + std::to_string(c.first_line.at(table)) + ": " + m.name +
                             " reads itself: a VIEW cannot (an incremental model may read its own table)");
        continue;
      }
      reads.push_back({table, c.first_line.at(table)});
    }
    std::stable_sort(reads.begin(), reads.end(),
                     [](const TableReference& a, const TableReference& b) { return a.line < b.line; });
    m.reads = std::move(reads);
  }

  std::vector<GraphNode> nodes;
  for (const Model& m : models) {
    GraphNode node{m.name, static_cast<int>(m.layer), {}};
    for (const TableReference& r : m.reads) {
      auto where = m.path + ":" + std::to_string(r.line) + ": ";
      auto other = by_name.find(r.name);
      if (other != by_name.end()) {
        node.reads.push_back(r.name);
        const Layer src = other->second->layer;
        if (!MayRead(m.layer, src))
          problems.push_back(where + m.name + " reads " + r.name + " (" + LayerName(src) +
                             (static_cast<int>(src) > static_cast<int>(m.layer) ? ", a later layer" : "") +
                             "): a " + LayerName(m.layer) + " model reads " + AllowedSources(m.layer));
      } else if (r.name.rfind("raw_", 0) == 0 && (!raw_tables || raw_tables->count(r.name))) {
        if (m.layer != Layer::kStaging)
          problems.push_back(where + m.name + " reads raw table " + r.name + ": a " + LayerName(m.layer) +
                             " model reads " + AllowedSources(m.layer));
      } else if (!broken.count(r.name)) {
        problems.push_back(where + "unknown table '" + r.name + "' (not a model, a known raw table or a CTE)");
      }
    }
    nodes.push_back(std::move(node));
  }

  auto order = TopologicalOrder(nodes);
  if (!order.ok()) problems.push_back(order.status().message());
  if (!problems.empty()) {
    std::string msg;
    for (const std::string& p : problems) msg += (msg.empty() ? "" : "\n") + p;
    return Status::InvalidArgument(msg);
  }

  ModelSet set;
  set.dir = dir;
  set.self_reads = std::move(self_reads);
  for (std::size_t i : *order) {
    if (auto g = guessed.find(models[i].name); g != guessed.end()) set.guessed.push_back(g->second);
    set.models.push_back(std::move(models[i]));
  }
  return set;
}

}  // namespace sluice::models
