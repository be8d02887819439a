from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from repositories import text


class RepositoriesConfig(AppConfig):
    name = "repositories"
    verbose_name = _("Projects and repositories")

    def ready(self) -> None:
        # The pure modules (globs, retention engine, key checks) translate through this.
        text.use_translator(gettext)
