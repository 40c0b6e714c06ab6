-- Free text a caseworker wrote about the youth, sealed with the youth's data key (opened only in
-- the views that show it, shared/free_text.py): a plan revision's words (`PlanText`; goal, mapping
-- and the efforts' words are clear only in revisions recorded before sealing began) and a
-- measure's content. Retention deletes them with the youth's other personal data.
ALTER TABLE plan_revisions ADD COLUMN IF NOT EXISTS sealed_text text;
ALTER TABLE plan_revisions ALTER COLUMN goal DROP NOT NULL;
ALTER TABLE measures ADD COLUMN IF NOT EXISTS sealed_content text;
