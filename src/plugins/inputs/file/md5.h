// MD5 (RFC 1321), only to name the default sincedb file as Logstash does
// (".sincedb_" + md5 hex of the path patterns joined by ","), not for security.
#pragma once

#include <string>
#include <string_view>

namespace sluice::file_input {

std::string md5_hex(std::string_view data);

}  // namespace sluice::file_input
