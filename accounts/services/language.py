"""A user's choice of interface language."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from portal.language import UNKNOWN_LANGUAGE, is_known_language


@transaction.atomic
def set_language(user: Any, *, actor: Actor, language: str) -> Any:
    """Save `language` (a code of settings.LANGUAGES, or "" for the browser's) as the
    user's interface language, audited as a change of the user like their e-mail."""
    if not is_known_language(language):
        raise ValidationError({"language": UNKNOWN_LANGUAGE % {"language": language}})
    if user.language == language:
        return user
    previous, user.language = user.language, language
    user.save(update_fields=["language"])
    record(
        AuditAction.USER_UPDATE,
        actor=actor,
        target_type="user",
        target_name=user.username,
        details={"language": {"from": previous, "to": language}},
    )
    return user
