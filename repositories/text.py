"""Translation for the modules that import nothing from Django (the glob dialect, the
retention engine, the signing-key checks), so they stay pure and still speak the
reader's language.

They mark their messages with this module's `gettext` (which `makemessages` reads like
Django's) and format them with named placeholders. Inside Wharf the repositories app
points `gettext` at Django's (`use_translator` in `RepositoriesConfig.ready`), so a
message is translated where it is made: in the request that validates a form or a
body, in that request's language. Outside Django (scripts, property tests of the
engines without settings) messages stay English.
"""

from __future__ import annotations

from collections.abc import Callable


def _english(message: str) -> str:
    return message


_translator: Callable[[str], str] = _english


def use_translator(translator: Callable[[str], str]) -> None:
    """Translate the pure modules' messages with `translator` from now on."""
    global _translator
    _translator = translator


def gettext(message: str) -> str:
    """`message` in the active language (English until a translator is set)."""
    return _translator(message)
