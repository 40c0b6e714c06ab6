-- A measure's steps are numbered within the measure by the statement that keeps them (1, 2, …),
-- so a rebuild numbers them as the live register did (`kaa register verify` compares them).
ALTER TABLE measure_steps ALTER COLUMN step DROP IDENTITY IF EXISTS;
ALTER TABLE measure_steps ALTER COLUMN step SET NOT NULL;
