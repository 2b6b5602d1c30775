// Named grok patterns (`NAME regex`), as Logstash loads them: the built-in library of the
// ECS mode, then patterns_dir files, then pattern_definitions; a later definition wins.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::grok {

class PatternLibrary {
 public:
  void add(std::string name, std::string regex) { patterns_[std::move(name)] = std::move(regex); }
  // Pattern file text, read the way jls-grok reads it: `#` lines skipped, the name ends at
  // the first whitespace run, the regex is the rest of the line.
  void add_text(std::string_view text);
  // Throws GrokError when the file cannot be read.
  void add_file(const std::string& path);
  // Every file a patterns_dir entry names: a directory's files matching `glob`, or a path/glob
  // itself (Logstash's Dir.glob), in sorted order. Returns the files loaded.
  std::vector<std::string> add_dir(const std::string& dir_or_glob, const std::string& glob = "*");
  void merge(const PatternLibrary& other);

  const std::string* find(std::string_view name) const;
  size_t size() const { return patterns_.size(); }
  std::vector<std::string> names() const;  // sorted

  // This project's own library (patterns/, embedded in the binary): "legacy" for
  // ecs_compatibility disabled, "ecs-v1" for v1 and v8.
  static const PatternLibrary& builtin(std::string_view ecs_compatibility);

 private:
  std::unordered_map<std::string, std::string> patterns_;
};

// The embedded pattern files (generated from patterns/ at build time).
struct BuiltinPatternFile {
  const char* path;  // relative to patterns/, e.g. "legacy/grok-patterns"
  const char* text;
  size_t size;
};
std::span<const BuiltinPatternFile> builtin_pattern_files();

}  // namespace sluice::grok
