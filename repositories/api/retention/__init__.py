"""`/api/v1/projects/{project_name}/...`: a project's retention policy and its preview,
immutable tag rules, retention runs and their items, and the recycle bin.

Who may do what (from `accounts.permissions`, the one role table):

- read the policy, the immutable rules, runs, items and the recycle bin:
  `Perm.VIEW_RETENTION` (Guest and up);
- change the policy, and preview an unsaved one: `Perm.MANAGE_RETENTION` (Project
  Admin). A preview evaluates rules nobody saved; it is part of editing the policy.
  Maintainers see what the saved policy would do with a dry run;
- change the immutable rules: `Perm.MANAGE_IMMUTABLE` (Project Admin);
- start, dry-run and stop runs: `Perm.RUN_RETENTION` (Maintainer and up);
- restore from the recycle bin: `Perm.DELETE_ARTIFACT` (Maintainer and up), because a
  restore writes artifacts and tags back, the same kind of change as deleting them.
"""

from __future__ import annotations

from .policy import ImmutableRulesViewSet, RetentionPolicyViewSet
from .recycle import RecycleBinViewSet
from .runs import RetentionRunItemViewSet, RetentionRunViewSet

__all__ = [
    "ImmutableRulesViewSet",
    "RecycleBinViewSet",
    "RetentionPolicyViewSet",
    "RetentionRunItemViewSet",
    "RetentionRunViewSet",
]
