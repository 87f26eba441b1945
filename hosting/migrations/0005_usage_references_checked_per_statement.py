"""Usage rows: references checked once per INSERT statement instead of one foreign-key check per job.

Django's foreign keys on PostgreSQL are deferred constraints: each inserted job queues three checks that run at
commit, one row lock each. An import of a million jobs spent longer on them than on everything else. In their
place, on PostgreSQL:

- an AFTER INSERT statement trigger looks up the distinct machines, allocations and imports of the rows just
  inserted (a transition table) and refuses the statement when one does not exist;
- a BEFORE DELETE trigger on machines, allocations and usage imports refuses to delete a row usage refers to
  (the ORM refuses it first: the fields are PROTECT);
- the usage table is append-only (UPDATE and DELETE refused), so a reference cannot change after the check.

SQLite (the embedded demo database) keeps the ORM's PROTECT only.
"""

import django.db.models.deletion
from django.db import migrations, models

from eurohpc.db import append_only_trigger

_CHECK_INSERTED = """
CREATE FUNCTION hosting_usage_references_check() RETURNS trigger AS $$
DECLARE
  missing text;
BEGIN
  WITH refs AS (SELECT DISTINCT machine_id, allocation_id, usage_import_id FROM new_usage)
  SELECT CASE
           WHEN NOT EXISTS (SELECT 1 FROM hosting_machine m WHERE m.id = refs.machine_id)
             THEN format('machine %s', refs.machine_id)
           WHEN NOT EXISTS (SELECT 1 FROM hosting_allocation a WHERE a.id = refs.allocation_id)
             THEN format('allocation %s', refs.allocation_id)
           ELSE format('usage import %s', refs.usage_import_id)
         END
    INTO missing
    FROM refs
   WHERE NOT EXISTS (SELECT 1 FROM hosting_machine m WHERE m.id = refs.machine_id)
      OR NOT EXISTS (SELECT 1 FROM hosting_allocation a WHERE a.id = refs.allocation_id)
      OR NOT EXISTS (SELECT 1 FROM hosting_usageimport i WHERE i.id = refs.usage_import_id)
   LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'usage refers to % which does not exist', missing USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER hosting_usagerecord_references AFTER INSERT ON hosting_usagerecord
  REFERENCING NEW TABLE AS new_usage FOR EACH STATEMENT EXECUTE FUNCTION hosting_usage_references_check();

CREATE FUNCTION hosting_refuse_delete_with_usage() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM hosting_usagerecord u WHERE
             (TG_TABLE_NAME = 'hosting_machine' AND u.machine_id = OLD.id)
          OR (TG_TABLE_NAME = 'hosting_allocation' AND u.allocation_id = OLD.id)
          OR (TG_TABLE_NAME = 'hosting_usageimport' AND u.usage_import_id = OLD.id)) THEN
    RAISE EXCEPTION '% % has usage: not deleted', TG_TABLE_NAME, OLD.id USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER hosting_machine_keeps_usage BEFORE DELETE ON hosting_machine
  FOR EACH ROW EXECUTE FUNCTION hosting_refuse_delete_with_usage();
CREATE TRIGGER hosting_allocation_keeps_usage BEFORE DELETE ON hosting_allocation
  FOR EACH ROW EXECUTE FUNCTION hosting_refuse_delete_with_usage();
CREATE TRIGGER hosting_usageimport_keeps_usage BEFORE DELETE ON hosting_usageimport
  FOR EACH ROW EXECUTE FUNCTION hosting_refuse_delete_with_usage();
"""

_DROP = """
DROP TRIGGER IF EXISTS hosting_usagerecord_references ON hosting_usagerecord;
DROP TRIGGER IF EXISTS hosting_machine_keeps_usage ON hosting_machine;
DROP TRIGGER IF EXISTS hosting_allocation_keeps_usage ON hosting_allocation;
DROP TRIGGER IF EXISTS hosting_usageimport_keeps_usage ON hosting_usageimport;
DROP FUNCTION IF EXISTS hosting_usage_references_check();
DROP FUNCTION IF EXISTS hosting_refuse_delete_with_usage();
"""


def _guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_CHECK_INSERTED, params=None)


def _drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("hosting", "0004_usage_record_without_allocation_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="usagerecord",
            name="allocation",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="usage_records",
                to="hosting.allocation",
            ),
        ),
        migrations.AlterField(
            model_name="usagerecord",
            name="machine",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="hosting.machine",
            ),
        ),
        migrations.AlterField(
            model_name="usagerecord",
            name="usage_import",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="hosting.usageimport",
            ),
        ),
        migrations.RunPython(_guards, _drop_guards),
        append_only_trigger("hosting_usagerecord"),
    ]
