# Scopes on personal access tokens; existing tokens get all four.

from django.db import migrations, models

import accounts.models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_robotaccount'),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='scopes',
            field=models.JSONField(default=accounts.models.all_token_scopes, help_text='What the token may be used for: api, read_api, read_registry, write_registry.'),
        ),
    ]
