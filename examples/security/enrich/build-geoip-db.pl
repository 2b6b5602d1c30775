#!/usr/bin/perl
# Builds the enrichment example's GeoIP2 City database (.mmdb) from a small CSV file
# (geoip-demo.csv), so that the geoip filter has a database without downloading one.
# Needs the Debian package libmaxmind-db-writer-perl.
#   perl build-geoip-db.pl geoip-demo.csv demo-city.mmdb
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

die "usage: $0 SOURCE.csv OUTPUT.mmdb\n" unless @ARGV == 2;
my ($source, $output) = @ARGV;

# The value type of each key of a GeoIP2 City record; the writer needs them spelled out.
my %key_types = (
  city => 'map', continent => 'map', country => 'map', registered_country => 'map',
  location => 'map', names => 'map', subdivisions => ['array', 'map'],
  latitude => 'double', longitude => 'double',
);

my $tree = MaxMind::DB::Writer::Tree->new(
  ip_version => 6,
  record_size => 28,
  database_type => 'Sluice-Demo-City',
  languages => ['en'],
  description => { en => 'sluice enrichment example: invented locations, not real geolocation' },
  # The demo uses documentation ranges, which the writer would otherwise refuse as reserved.
  remove_reserved_networks => 0,
  map_key_type_callback => sub { $key_types{ $_[0] } // 'utf8_string' },
);

open(my $in, '<:encoding(UTF-8)', $source) or die "cannot read $source: $!\n";
my @columns;
my $count = 0;
while (my $line = <$in>) {
  $line =~ s/\r?\n\z//;
  next if $line =~ /^\s*(#|$)/;
  my @values = split /,/, $line, -1;
  if (!@columns) {
    @columns = @values;
    next;
  }
  die "$source:$.: expected " . scalar(@columns) . " fields, found " . scalar(@values) . "\n"
    unless @values == @columns;
  my %row;
  @row{@columns} = @values;
  my $country = { iso_code => $row{country_iso_code}, names => { en => $row{country_name} } };
  my %record = (
    continent => { code => $row{continent_code}, names => { en => $row{continent_name} } },
    country => $country,
    registered_country => $country,
    location => { latitude => 0 + $row{latitude}, longitude => 0 + $row{longitude}, time_zone => $row{time_zone} },
  );
  $record{city} = { names => { en => $row{city_name} } } if $row{city_name} ne '';
  $record{subdivisions} = [ { iso_code => $row{region_iso_code}, names => { en => $row{region_name} } } ]
    if $row{region_iso_code} ne '';
  $tree->insert_network($row{network}, \%record);
  $count++;
}
close($in);
die "$source: no networks\n" unless $count;

open(my $out, '>:raw', "$output.tmp") or die "cannot write $output.tmp: $!\n";
$tree->write_tree($out);
close($out) or die "cannot write $output.tmp: $!\n";
rename("$output.tmp", $output) or die "cannot rename $output.tmp to $output: $!\n";
print STDERR "build-geoip-db: $count networks -> $output\n";
