"""The default policy's reach, as the pure rule says it (`policy_origin`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from repositories.retention.defaults import Origin, policy_origin


@given(st.integers(0, 15), st.integers(0, 15), st.booleans(), st.booleans())
def test_the_default_applies_exactly_where_no_project_policy_exists(
    own: int, default: int, opted_out: bool, allowed: bool
) -> None:
    origin = policy_origin(own_rules=own, default_rules=default, opted_out=opted_out, opt_out_allowed=allowed)

    assert (origin is Origin.PROJECT) == (own > 0)
    assert (origin is Origin.DEFAULT) == (own == 0 and default > 0 and not (opted_out and allowed))
    if opted_out and not allowed and own == 0 and default > 0:
        assert origin is Origin.DEFAULT  # an opt-out the site does not allow counts for nothing
