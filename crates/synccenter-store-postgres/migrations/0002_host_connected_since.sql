-- When a host's current unbroken run of heartbeats began (server clock). A host judges the others only after it
-- has itself been connected for a whole down bound, so that an outage of the database, during which every host
-- looks silent, never makes the hosts end each other's sessions when it returns. NULL until the first heartbeat
-- of a build that knows the column.
ALTER TABLE hosts ADD COLUMN connected_since TIMESTAMPTZ;
