from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cert_workflow", "0006_complement_items"),
    ]

    operations = [
        migrations.RemoveField(model_name="complementrequest", name="items_json"),
    ]
