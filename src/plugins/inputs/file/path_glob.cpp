#include "plugins/inputs/file/path_glob.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

namespace sluice::file_input {

namespace {

bool has_wildcard(const std::string& component) {
  return component.find_first_of("*?[") != std::string::npos;
}

std::string unescape(const std::string& component) {
  std::string out;
  out.reserve(component.size());
  for (size_t i = 0; i < component.size(); ++i) {
    if (component[i] == '\\' && i + 1 < component.size()) ++i;
    out.push_back(component[i]);
  }
  return out;
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::vector<std::string> split_components(const std::string& pattern) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= pattern.size()) {
    size_t slash = pattern.find('/', start);
    if (slash == std::string::npos) slash = pattern.size();
    if (slash > start) parts.push_back(pattern.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// Directory entries other than . and ..; with `directories_only`, only real directories (a
// symlinked directory is not descended into by `**`, which keeps loops out, as Ruby does).
std::vector<std::string> list_dir(const std::string& dir, bool directories_only) {
  std::vector<std::string> names;
  DIR* handle = ::opendir(dir.empty() ? "/" : dir.c_str());
  if (!handle) return names;
  while (dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (directories_only) {
      struct stat st;
      if (::lstat(join(dir, name).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    }
    names.push_back(std::move(name));
  }
  ::closedir(handle);
  return names;
}

void walk(const std::string& dir, const std::vector<std::string>& parts, size_t index, std::set<std::string>& out) {
  if (index == parts.size()) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.insert(dir);
    return;
  }
  const std::string& part = parts[index];
  if (part == "**" && index + 1 < parts.size()) {
    walk(dir, parts, index + 1, out);  // zero directories
    for (const std::string& sub : list_dir(dir, true)) {
      if (sub[0] == '.') continue;
      walk(join(dir, sub), parts, index, out);
    }
    return;
  }
  if (!has_wildcard(part)) {
    std::string next = join(dir, unescape(part));
    if (index + 1 < parts.size()) {
      struct stat st;
      if (::stat(next.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    }
    walk(next, parts, index + 1, out);
    return;
  }
  const std::string pattern = part == "**" ? "*" : part;
  for (const std::string& name : list_dir(dir, false)) {
    if (::fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) != 0) continue;
    walk(join(dir, name), parts, index + 1, out);
  }
}

}  // namespace

std::vector<std::string> expand_braces(const std::string& pattern) {
  // Find the first top-level {...} holding a comma; expand it and recurse on each result.
  size_t open = std::string::npos;
  int depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '{') {
      if (depth++ == 0) open = i;
    } else if (c == '}' && depth > 0) {
      if (--depth == 0) {
        std::vector<std::string> alternatives;
        size_t start = open + 1;
        int inner = 0;
        for (size_t j = open + 1; j < i; ++j) {
          char d = pattern[j];
          if (d == '\\') {
            ++j;
            continue;
          }
          if (d == '{') ++inner;
          else if (d == '}') --inner;
          else if (d == ',' && inner == 0) {
            alternatives.push_back(pattern.substr(start, j - start));
            start = j + 1;
          }
        }
        alternatives.push_back(pattern.substr(start, i - start));
        std::string prefix = pattern.substr(0, open);
        std::string suffix = pattern.substr(i + 1);
        std::vector<std::string> out;
        for (const std::string& alternative : alternatives)
          for (std::string& expanded : expand_braces(prefix + alternative + suffix)) out.push_back(std::move(expanded));
        return out;
      }
    }
  }
  return {pattern};
}

std::vector<std::string> expand_glob(const std::string& pattern) {
  std::set<std::string> found;
  for (const std::string& plain : expand_braces(pattern)) {
    if (plain.empty() || plain[0] != '/') continue;
    walk("/", split_components(plain), 0, found);
  }
  return {found.begin(), found.end()};
}

bool excluded_by(const std::vector<std::string>& exclude_patterns, const std::string& path) {
  if (exclude_patterns.empty()) return false;
  size_t slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  for (const std::string& pattern : exclude_patterns)
    if (::fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) == 0) return true;
  return false;
}

}  // namespace sluice::file_input
