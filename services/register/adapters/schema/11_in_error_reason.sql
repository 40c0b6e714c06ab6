-- Why a coordinator marked a scope episode registered in error (YouthLeftScope's `correction`): the
-- reason code and the optional note, sealed with the youth's data key (purpose correction-note)
-- like the notes of `entry_corrections`, so retention shreds it with the youth's other words.
-- Marks published before the reason was carried have none (NULL), in a rebuild as live: no
-- projection version change is needed.
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS in_error_reason text;
ALTER TABLE scope_episodes ADD COLUMN IF NOT EXISTS in_error_sealed_note text;
