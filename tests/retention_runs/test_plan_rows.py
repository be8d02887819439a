"""How a plan's rows are written (no database: the pure helpers)."""

from __future__ import annotations

import json

from repositories.services.retention_runs import _names_json


def test_a_plans_tag_json_is_what_json_dumps_writes_for_any_names() -> None:
    """The direct writer serves plain registry tag names; anything else goes through json."""
    for names in (["v1"], ["latest", "v1.2-rc_3"], [], ['say "hi"'], ["ü"], ["a\\b"], ["tab\tname"]):
        assert _names_json(names) == json.dumps(names)
