"""The permission to see a customer's ID number and phone in full:
``customers.reveal_personal_data``. Created here rather than in Customer.Meta so that
the customers app's models stay as they are; admins grant it per user or group."""

from django.db import migrations


def create_permission(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    # Content types are normally created after migrations run; a fresh database needs it now.
    content_type, _ = ContentType.objects.get_or_create(app_label="customers", model="customer")
    Permission.objects.get_or_create(
        content_type=content_type,
        codename="reveal_personal_data",
        defaults={"name": "Can reveal personal data (ID number, phone)"},
    )


def delete_permission(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="customers", codename="reveal_personal_data").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("customers", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_permission, delete_permission)]
