"""The chain gains an outcomes stage; the alerts stage is the cases stage."""

from django.db import migrations, models


def _rename_and_add(apps, schema_editor):
    """The alerts stage is the cases stage now, and an outcomes stage comes before it: runs
    already recorded get it (done where the stage after it is done), so a resumed old run
    finds every stage of the chain."""
    NightlyStage = apps.get_model("nightly", "NightlyStage")
    NightlyStage.objects.filter(name="alerts").update(name="cases")
    for stage in NightlyStage.objects.filter(name="cases"):
        if not NightlyStage.objects.filter(run_id=stage.run_id, name="outcomes").exists():
            NightlyStage.objects.create(run_id=stage.run_id, name="outcomes",
                                        status="done" if stage.status == "done" else "pending")




class Migration(migrations.Migration):

    dependencies = [
        ('nightly', '0002_stage_monitoring'),
    ]

    operations = [
        migrations.AlterField(
            model_name='nightlystage',
            name='name',
            field=models.CharField(choices=[('prepare', 'Prepare'), ('score', 'Score'), ('outcomes', 'Measure outcomes'), ('cases', 'Cases and tasks'), ('reasons', 'Reasons for customers with a case'), ('monitoring', 'Watch the model')], max_length=10, verbose_name='stage'),
        ),
        migrations.RunPython(_rename_and_add, migrations.RunPython.noop),
    ]

