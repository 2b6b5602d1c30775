// Builds MaxMind .mmdb files for tests with the Debian package libmaxmind-db-writer-perl
// (MaxMind::DB::Writer::Tree): no database is downloaded, every test makes the one it needs.
#pragma once

#include <string>
#include <vector>

namespace sluice::test {

struct MmdbRecord {
  std::string network;  // "192.0.2.0/24", "2001:db8::/32" (IPv4 networks go into the IPv6 tree)
  std::string json;     // the record, e.g. {"city":{"names":{"en":"Paris"}},"location":{...}}
};

// Writes `records` into a database of `database_type` ("GeoLite2-City", "GeoLite2-ASN", ...) at
// `path`, using helper files in `work_dir`. Returns "" on success, else what went wrong (the
// perl output). Value types follow GeoIP2's schema (latitude: double, metro_code: uint16,
// autonomous_system_number: uint32, is_*: boolean, subdivisions: array of maps, other: string).
std::string write_mmdb(const std::string& path, const std::string& database_type,
                       const std::vector<MmdbRecord>& records, const std::string& work_dir);

}  // namespace sluice::test
