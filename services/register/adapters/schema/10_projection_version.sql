-- Which version of the projection built this register (see adapters/upgrade.py): a register built
-- by an older one (before issue 16 it kept no history of measure steps, assignments and contact
-- details, so corrections of its entries found nothing) is rebuilt from the topics at start-up.
CREATE TABLE IF NOT EXISTS projection_version (
    version integer NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now()
);
