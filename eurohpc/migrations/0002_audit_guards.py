from django.db import migrations

from eurohpc.audit import GENESIS_HASH
from eurohpc.db import append_only_trigger


def create_chain_head(apps, schema_editor):
    apps.get_model("eurohpc", "AuditChainHead").objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})


class Migration(migrations.Migration):
    dependencies = [("eurohpc", "0001_initial")]

    operations = [
        migrations.RunPython(create_chain_head, migrations.RunPython.noop),
        append_only_trigger("eurohpc_auditevent"),
    ]
