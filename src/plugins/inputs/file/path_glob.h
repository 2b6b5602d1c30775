// Path patterns as Logstash's file input expands them (Ruby's Dir.glob): `*`, `?`, `[set]` and
// `{a,b}` inside a path component, `**` for any number of directories (`/var/log/**/*.log`).
// Wildcards do not match a leading dot, as in Ruby.
#pragma once

#include <string>
#include <vector>

namespace sluice::file_input {

// Expands `{a,b}` alternatives (nested allowed) into plain glob patterns.
std::vector<std::string> expand_braces(const std::string& pattern);
// The regular files (symlinks followed) matching an absolute pattern, sorted, without duplicates.
std::vector<std::string> expand_glob(const std::string& pattern);
// `exclude` semantics: the pattern is matched against the file name only.
bool excluded_by(const std::vector<std::string>& exclude_patterns, const std::string& path);

}  // namespace sluice::file_input
