"""Retention cases: one per customer episode, with its signals, tasks and history
(replacing alerts, which 0004 moves over and 0005 removes)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0005_monthly_daily_average_and_optional_gender'),
        ('retention', '0002_playbooks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='playbook',
            name='signal_kind',
            field=models.CharField(blank=True, choices=[('model_risk', 'Churn risk (model)'), ('competitor_maturity', 'Competitor product matures'), ('own_maturity', 'Our product matures'), ('tier_downgrade', 'Tier downgrade ahead'), ('aum_drop', 'Sharp AUM drop'), ('large_withdrawal', 'Large withdrawal or transfer booked'), ('satisfaction_drop', 'Satisfaction fell'), ('service_failure', 'Service failure'), ('recovery_eligible', 'Back to pre-drop AUM: prize draw'), ('already_lost', 'Already left (by the churn definition)')], max_length=32, verbose_name='signal kind'),
        ),
        migrations.CreateModel(
            name='Case',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('retention', 'Retention'), ('win_back', 'Win-back')], default='retention', max_length=16, verbose_name='kind')),
                ('status', models.CharField(choices=[('open', 'Open'), ('in_progress', 'In progress'), ('snoozed', 'Snoozed'), ('dismissed', 'Dismissed'), ('closed_retained', 'Closed: retained'), ('closed_lost', 'Closed: lost'), ('cleared', 'Closed: signals cleared')], default='open', max_length=16, verbose_name='status')),
                ('opened_on', models.DateField(verbose_name='opened on')),
                ('last_signal_on', models.DateField(verbose_name='last signal on')),
                ('leading_kind', models.CharField(choices=[('model_risk', 'Churn risk (model)'), ('competitor_maturity', 'Competitor product matures'), ('own_maturity', 'Our product matures'), ('tier_downgrade', 'Tier downgrade ahead'), ('aum_drop', 'Sharp AUM drop'), ('large_withdrawal', 'Large withdrawal or transfer booked'), ('satisfaction_drop', 'Satisfaction fell'), ('service_failure', 'Service failure'), ('recovery_eligible', 'Back to pre-drop AUM: prize draw'), ('already_lost', 'Already left (by the churn definition)')], max_length=32, verbose_name='leading signal')),
                ('probability', models.FloatField(default=0, verbose_name='churn probability')),
                ('aum', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='AUM')),
                ('aum_at_risk', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='AUM at risk')),
                ('expected_aum_at_risk', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='expected AUM at risk')),
                ('save_rate', models.FloatField(default=0, verbose_name='save rate')),
                ('contact_cost', models.FloatField(default=0, verbose_name='contact cost')),
                ('priority', models.FloatField(default=0, verbose_name='expected value')),
                ('urgent', models.BooleanField(default=False, verbose_name='time-critical')),
                ('rank', models.PositiveIntegerField(blank=True, null=True, verbose_name='rank')),
                ('ranked_on', models.DateField(blank=True, null=True, verbose_name='ranked on')),
                ('in_budget', models.BooleanField(default=False, verbose_name="in today's budget")),
                ('is_control', models.BooleanField(default=False, verbose_name='held out (control group)')),
                ('control_period', models.DateField(verbose_name='measurement period')),
                ('control_draw', models.FloatField(default=1.0, verbose_name='control draw')),
                ('snoozed_until', models.DateField(blank=True, null=True, verbose_name='snoozed until')),
                ('close_reason', models.TextField(blank=True, verbose_name='close reason')),
                ('closed_at', models.DateTimeField(blank=True, null=True, verbose_name='closed at')),
                ('worked_at', models.DateTimeField(blank=True, null=True, verbose_name='first worked at')),
                ('lost_month', models.DateField(blank=True, null=True, verbose_name='left in month')),
                ('aum_lost', models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True, verbose_name='AUM lost')),
                ('window_start_month', models.DateField(verbose_name='churn window anchor month')),
                ('window_ends_on', models.DateField(verbose_name='churn window ends on')),
                ('outcome', models.CharField(blank=True, choices=[('retained', 'Retained'), ('lost', 'Lost')], max_length=8, verbose_name='measured outcome')),
                ('outcome_measured_on', models.DateField(blank=True, null=True, verbose_name='outcome measured on')),
                ('aum_at_window_start', models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True, verbose_name='AUM at window start')),
                ('aum_kept', models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True, verbose_name='AUM kept')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('branch', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='customers.branch')),
                ('closed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='closed by')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='cases', to='customers.customer')),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='retention_cases', to=settings.AUTH_USER_MODEL, verbose_name='owner')),
                ('playbook', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='retention.playbook')),
            ],
            options={
                'verbose_name': 'retention case',
                'verbose_name_plural': 'retention cases',
                'ordering': ['-priority'],
            },
        ),
        migrations.CreateModel(
            name='Signal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('model_risk', 'Churn risk (model)'), ('competitor_maturity', 'Competitor product matures'), ('own_maturity', 'Our product matures'), ('tier_downgrade', 'Tier downgrade ahead'), ('aum_drop', 'Sharp AUM drop'), ('large_withdrawal', 'Large withdrawal or transfer booked'), ('satisfaction_drop', 'Satisfaction fell'), ('service_failure', 'Service failure'), ('recovery_eligible', 'Back to pre-drop AUM: prize draw'), ('already_lost', 'Already left (by the churn definition)')], max_length=32, verbose_name='kind')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('first_seen_on', models.DateField(verbose_name='first seen on')),
                ('last_seen_on', models.DateField(verbose_name='last seen on')),
                ('seen_count', models.PositiveIntegerField(default=1, verbose_name='nights seen')),
                ('event_on', models.DateField(blank=True, null=True, verbose_name='event date')),
                ('probability', models.FloatField(default=0, verbose_name='churn probability')),
                ('aum_at_risk', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='AUM at risk')),
                ('expected_aum_at_risk', models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name='expected AUM at risk')),
                ('priority', models.FloatField(default=0, verbose_name='expected value')),
                ('reasons', models.JSONField(blank=True, default=list, verbose_name='reasons')),
                ('details', models.JSONField(blank=True, default=dict, verbose_name='details')),
                ('cleared_on', models.DateField(blank=True, null=True, verbose_name='cleared on')),
                ('clear_reason', models.TextField(blank=True, verbose_name='clear reason')),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signals', to='retention.case')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signals', to='customers.customer')),
                ('playbook', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='signals', to='retention.playbook')),
            ],
            options={
                'verbose_name': 'signal',
                'verbose_name_plural': 'signals',
                'ordering': ['case', '-priority', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='Task',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('order', models.PositiveSmallIntegerField(verbose_name='order')),
                ('owner_role', models.CharField(choices=[('rm', 'Relationship manager'), ('lobby', 'Lobby manager'), ('head', 'Branch head')], max_length=8, verbose_name='owner role')),
                ('channel', models.CharField(choices=[('call', 'Phone call'), ('visit', 'Visit'), ('branch', 'In branch'), ('message', 'Message')], max_length=8, verbose_name='channel')),
                ('due_on', models.DateField(verbose_name='due on')),
                ('text_zh', models.TextField(verbose_name='text (Chinese)')),
                ('text_en', models.TextField(verbose_name='text (English)')),
                ('status', models.CharField(choices=[('open', 'To do'), ('done', 'Done'), ('cancelled', 'Cancelled')], default='open', max_length=10, verbose_name='status')),
                ('done_at', models.DateTimeField(blank=True, null=True, verbose_name='done at')),
                ('outcome', models.CharField(blank=True, choices=[('funds_kept', 'Came in: funds kept'), ('funds_moved', 'Came in: funds moved out'), ('did_not_come', 'Did not come in'), ('reason_learnt', 'Reached: reason learnt'), ('reached', 'Reached'), ('not_reached', 'Not reached')], max_length=16, verbose_name='outcome')),
                ('outcome_note', models.TextField(blank=True, verbose_name='what was learnt')),
                ('amount_kept', models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True, verbose_name='amount kept')),
                ('created_on', models.DateField(verbose_name='created on')),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='retention.case')),
                ('contact', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='tasks', to='customers.contactlog')),
                ('done_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='done by')),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='retention_tasks', to=settings.AUTH_USER_MODEL, verbose_name='owner')),
                ('playbook', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tasks', to='retention.playbook')),
                ('playbook_step', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='retention.playbookstep')),
                ('signal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='tasks', to='retention.signal')),
            ],
            options={
                'verbose_name': 'task',
                'verbose_name_plural': 'tasks',
                'ordering': ['case', 'due_on', 'order', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='CaseEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(auto_now_add=True, verbose_name='at')),
                ('action', models.CharField(choices=[('opened', 'Opened'), ('signal_added', 'Signal added'), ('signal_renewed', 'Signal changed'), ('signal_cleared', 'Signal cleared'), ('win_back', 'Customer left: now a win-back case'), ('started', 'Started'), ('snoozed', 'Snoozed'), ('woken', 'Snooze ended'), ('dismissed', 'Dismissed'), ('task_done', 'Task done'), ('task_undone', 'Task undone'), ('task_outcome', 'Task outcome recorded'), ('contact_logged', 'Contact logged'), ('reassigned', 'Reassigned'), ('closed', 'Closed'), ('cleared', 'Signals cleared'), ('outcome_measured', 'Outcome measured')], max_length=20, verbose_name='action')),
                ('from_status', models.CharField(blank=True, choices=[('open', 'Open'), ('in_progress', 'In progress'), ('snoozed', 'Snoozed'), ('dismissed', 'Dismissed'), ('closed_retained', 'Closed: retained'), ('closed_lost', 'Closed: lost'), ('cleared', 'Closed: signals cleared')], max_length=16, verbose_name='from')),
                ('to_status', models.CharField(blank=True, choices=[('open', 'Open'), ('in_progress', 'In progress'), ('snoozed', 'Snoozed'), ('dismissed', 'Dismissed'), ('closed_retained', 'Closed: retained'), ('closed_lost', 'Closed: lost'), ('cleared', 'Closed: signals cleared')], max_length=16, verbose_name='to')),
                ('note', models.TextField(blank=True, verbose_name='note')),
                ('data', models.JSONField(blank=True, default=dict)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='by')),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='retention.case')),
                ('task', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='events', to='retention.task')),
            ],
            options={
                'verbose_name': 'case event',
                'verbose_name_plural': 'case history',
                'ordering': ['case', 'at', 'pk'],
            },
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['owner', 'status', 'rank'], name='retention_c_owner_i_243262_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['branch', 'status'], name='retention_c_branch__77152b_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['window_ends_on', 'outcome'], name='retention_c_window__cfc232_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['customer', 'opened_on'], name='retention_c_custome_f86459_idx'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['opened_on'], name='retention_c_opened__ab3139_idx'),
        ),
        migrations.AddConstraint(
            model_name='case',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['open', 'in_progress', 'snoozed'])), fields=('customer',), name='one_open_case_per_customer'),
        ),
        migrations.AddIndex(
            model_name='signal',
            index=models.Index(fields=['kind', 'is_active'], name='retention_s_kind_46334b_idx'),
        ),
        migrations.AddIndex(
            model_name='signal',
            index=models.Index(fields=['kind', 'event_on'], name='retention_s_kind_01e016_idx'),
        ),
        migrations.AddConstraint(
            model_name='signal',
            constraint=models.UniqueConstraint(condition=models.Q(('is_active', True)), fields=('customer', 'kind'), name='one_active_signal_per_kind'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['owner', 'status', 'due_on'], name='retention_t_owner_i_0b34c8_idx'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['case', 'status'], name='retention_t_case_id_57a809_idx'),
        ),
    ]
