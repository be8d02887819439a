# Written by hand (robot.update added to AuditAction); equivalent to makemigrations' output.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0006_scanning_actions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('user.login', 'Logged in'), ('user.logout', 'Logged out'), ('user.login_failed', 'Failed login'), ('user.create', 'User created'), ('user.update', 'User updated'), ('user.deactivate', 'User deactivated'), ('user.activate', 'User reactivated'), ('user.password_reset', 'Password reset'), ('user.grant_admin', 'System admin granted'), ('user.revoke_admin', 'System admin revoked'), ('api_token.create', 'API token created'), ('api_token.revoke', 'API token revoked'), ('registry_token.granted', 'Registry push/delete token issued'), ('registry_token.refused', 'Registry token refused'), ('registry_token.throttled', 'Registry logins throttled'), ('robot.create', 'Robot account created'), ('robot.regenerate', 'Robot secret regenerated'), ('robot.disable', 'Robot account disabled'), ('robot.enable', 'Robot account enabled'), ('robot.delete', 'Robot account deleted'), ('robot.update', 'Robot account changed'), ('project.create', 'Project created'), ('project.update', 'Project updated'), ('project.delete', 'Project deleted'), ('member.add', 'Member added'), ('member.change', 'Member role changed'), ('member.remove', 'Member removed'), ('sync.request', 'Sync requested'), ('artifact.push', 'Pushed'), ('artifact.pull', 'Pulled'), ('artifact.delete', 'Artifact deleted'), ('tag.delete', 'Tag deleted'), ('tag.overwrite_protected', 'Protected tag overwritten'), ('tag.revert_protected', 'Protected tag put back'), ('retention.policy_update', 'Retention policy changed'), ('retention.immutable_rules_update', 'Immutable tag rules changed'), ('retention.run_start', 'Retention run started'), ('retention.run_end', 'Retention run ended'), ('retention.delete', 'Deleted by retention'), ('recycle.restore', 'Restored from the recycle bin'), ('recycle.purge', 'Recycle bin entries expired'), ('scan.request', 'Scan requested'), ('scan.import', 'Scan report imported'), ('scan.settings_update', 'Scan settings changed'), ('osv.import', 'Vulnerability database imported'), ('allowlist.add', 'Allowlist entry added'), ('allowlist.update', 'Allowlist entry changed'), ('allowlist.remove', 'Allowlist entry removed')], max_length=40),
        ),
    ]
