"""Forget pipeline reports recorded before pipeline keys existed.

Before, any caller's first `push_remote_context` registered a pipeline named
by its own key, so every row's name was its secret (and anyone could add
rows).  Pipelines now push with keys made by `crds-server pipeline-key
create`; their next push records them again under their real names.
"""

from django.db import migrations


def forget(apps, schema_editor):
    apps.get_model("catalog", "RemoteContext").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(forget, migrations.RunPython.noop)]
