#include "grok/pattern_library.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>

#include "grok/onig_translate.h"

namespace sluice::grok {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
}  // namespace

void PatternLibrary::add_text(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    // The line keeps its newline, as Ruby's each_line does: "NAME\n" defines NAME as "".
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, end - pos);
    pos = end;
    size_t first = 0;
    while (first < line.size() && is_space(line[first])) ++first;
    if (first == line.size() || line[first] == '#') continue;
    line.remove_prefix(first);
    size_t name_end = 0;
    while (name_end < line.size() && !is_space(line[name_end])) ++name_end;
    if (name_end == line.size()) continue;  // no separator: malformed, skipped
    size_t rest = name_end;
    while (rest < line.size() && is_space(line[rest])) ++rest;
    std::string_view regex = line.substr(rest);
    if (!regex.empty() && regex.back() == '\n') regex.remove_suffix(1);
    if (!regex.empty() && regex.back() == '\r') regex.remove_suffix(1);
    add(std::string(line.substr(0, name_end)), std::string(regex));
  }
}

void PatternLibrary::add_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw GrokError("Grok pattern file does not exist or cannot be read: " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  add_text(ss.str());
}

std::vector<std::string> PatternLibrary::add_dir(const std::string& dir_or_glob, const std::string& glob_text) {
  std::string pattern = dir_or_glob;
  struct stat st {};
  if (stat(dir_or_glob.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (!pattern.empty() && pattern.back() != '/') pattern += '/';
    pattern += glob_text;
  }
  std::vector<std::string> files;
  glob_t g{};
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      struct stat fst {};
      if (stat(g.gl_pathv[i], &fst) == 0 && S_ISREG(fst.st_mode)) files.emplace_back(g.gl_pathv[i]);
    }
  }
  globfree(&g);
  std::sort(files.begin(), files.end());
  for (const auto& f : files) add_file(f);
  return files;
}

void PatternLibrary::merge(const PatternLibrary& other) {
  for (const auto& [k, v] : other.patterns_) patterns_[k] = v;
}

const std::string* PatternLibrary::find(std::string_view name) const {
  auto it = patterns_.find(std::string(name));
  return it == patterns_.end() ? nullptr : &it->second;
}

std::vector<std::string> PatternLibrary::names() const {
  std::vector<std::string> out;
  out.reserve(patterns_.size());
  for (const auto& [k, v] : patterns_) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

const PatternLibrary& PatternLibrary::builtin(std::string_view ecs_compatibility) {
  static std::once_flag once;
  static PatternLibrary legacy, ecs_v1;
  std::call_once(once, [] {
    std::vector<BuiltinPatternFile> files(builtin_pattern_files().begin(), builtin_pattern_files().end());
    std::sort(files.begin(), files.end(),
              [](const BuiltinPatternFile& a, const BuiltinPatternFile& b) { return std::string_view(a.path) < b.path; });
    for (const auto& f : files) {
      std::string_view path(f.path);
      if (path.starts_with("legacy/")) legacy.add_text(std::string_view(f.text, f.size));
      else if (path.starts_with("ecs-v1/")) ecs_v1.add_text(std::string_view(f.text, f.size));
    }
  });
  return ecs_compatibility == "disabled" ? legacy : ecs_v1;
}

}  // namespace sluice::grok
