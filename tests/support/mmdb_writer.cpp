#include "support/mmdb_writer.h"

#include "test_support.h"

namespace sluice::test {

namespace {

// Reads [[network, record], ...] (JSON) and writes the tree. Reserved ranges are kept so that tests
// can use the documentation networks (192.0.2.0/24, 2001:db8::/32).
const char* const kWriterScript = R"PERL(
use strict;
use warnings;
use JSON::PP;
use MaxMind::DB::Writer::Tree;

my ($records_path, $database_type, $output) = @ARGV;
my %types = (
  city => 'map', continent => 'map', country => 'map', registered_country => 'map', location => 'map',
  postal => 'map', traits => 'map', names => 'map', subdivisions => ['array', 'map'],
  latitude => 'double', longitude => 'double', metro_code => 'uint16', accuracy_radius => 'uint16',
  geoname_id => 'uint32', autonomous_system_number => 'uint32',
  is_anonymous => 'boolean', is_anonymous_vpn => 'boolean', is_hosting_provider => 'boolean',
  is_public_proxy => 'boolean', is_residential_proxy => 'boolean', is_tor_exit_node => 'boolean',
);
my $tree = MaxMind::DB::Writer::Tree->new(
  ip_version => 6,
  record_size => 28,
  database_type => $database_type,
  languages => ['en'],
  description => { en => 'sluice test database' },
  remove_reserved_networks => 0,
  map_key_type_callback => sub { $types{ $_[0] } // 'utf8_string' },
);
open(my $in, '<', $records_path) or die "cannot read $records_path: $!";
my $text = do { local $/; <$in> };
close($in);
my $records = JSON::PP->new->decode($text);
for my $record (@$records) {
  my ($network, $data) = @$record;
  # JSON::PP booleans are objects; the writer wants plain 1/0.
  for my $key (keys %$data) {
    $data->{$key} = $data->{$key} ? 1 : 0 if JSON::PP::is_bool($data->{$key});
  }
  $tree->insert_network($network, $data);
}
open(my $out, '>:raw', $output) or die "cannot write $output: $!";
$tree->write_tree($out);
close($out);
)PERL";

}  // namespace

std::string write_mmdb(const std::string& path, const std::string& database_type,
                       const std::vector<MmdbRecord>& records, const std::string& work_dir) {
  const std::string script = work_dir + "/write_mmdb.pl";
  const std::string input = work_dir + "/mmdb_records.json";
  write_file(script, kWriterScript);
  std::string json = "[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i) json += ",\n";
    json += "[\"" + records[i].network + "\"," + records[i].json + "]";
  }
  json += "]";
  write_file(input, json);
  CommandResult result = run_command({"perl", script, input, database_type, path}, "", std::chrono::seconds(300));
  if (result.exit_code != 0) return "perl exited " + std::to_string(result.exit_code) + ": " + result.err + result.out;
  return "";
}

}  // namespace sluice::test
