-- The asset inventory of the enrichment example: which team owns an address range, and the network
-- zone it sits in. jdbc_static (examples/security/pipelines/enrich_lookups.conf) loads the table into
-- memory at start and on its schedule, and looks every event's source and destination up in it.
CREATE TABLE asset_ranges (
  first_ip inet NOT NULL,
  last_ip  inet NOT NULL,
  owner    text NOT NULL,
  zone     text NOT NULL,
  CHECK (first_ip <= last_ip)
);

INSERT INTO asset_ranges (first_ip, last_ip, owner, zone) VALUES
  ('10.10.1.0',  '10.10.1.255', 'web-platform',   'dmz'),
  ('10.10.2.0',  '10.10.3.255', 'it-operations',  'corp'),
  ('10.20.0.0',  '10.20.0.63',  'retail-stores',  'branch'),
  ('10.20.0.64', '10.20.0.127', 'retail-payments','pci'),
  ('10.30.1.0',  '10.30.1.255', 'finance',        'corp'),
  ('10.40.0.0',  '10.40.0.255', 'infrastructure', 'servers'),
  ('10.50.0.0',  '10.50.0.255', 'ecommerce',      'dmz'),
  ('10.60.0.0',  '10.60.0.255', 'research',       'lab'),
  ('10.70.0.0',  '10.70.0.255', 'network-team',   'management');
