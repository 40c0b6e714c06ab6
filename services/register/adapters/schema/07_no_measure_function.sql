-- The register no longer decides a measure's steps a second time (the measures service does, in
-- its domain): the function that did is removed from registers made before.
DROP FUNCTION IF EXISTS measure_event(
    uuid, char(4), uuid, uuid, text, date, text, date, text, text, text, timestamptz, text
);
