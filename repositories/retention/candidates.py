"""What the engine evaluates: artifacts of repositories with their tags, as plain data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

# Tags that point at another artifact instead of naming a version: cosign's
# `sha256-<hex>.sig` / `.att` / `.sbom`, and the OCI referrers tag schema `sha256-<hex>`.
_REFERENCE_TAG = re.compile(
    r"(sha256)-([0-9a-f]{64})(?:\.(?:sig|att|sbom))?|(sha512)-([0-9a-f]{128})(?:\.(?:sig|att|sbom))?"
)
REFERENCE_PREFIXES = ("sha256-", "sha512-")


def reference_subject(tag: str) -> str | None:
    """The subject digest a signature / referrers tag points at, or None for an ordinary tag.

    >>> reference_subject("sha256-" + "ab" * 32 + ".sig") == "sha256:" + "ab" * 32
    True
    """
    if not tag.startswith(REFERENCE_PREFIXES):
        return None
    match = _REFERENCE_TAG.fullmatch(tag)
    if match is None:
        return None
    if match.group(1):
        return f"{match.group(1)}:{match.group(2)}"
    return f"{match.group(3)}:{match.group(4)}"


# Tag and Artifact are read-only by convention, not `frozen`: a frozen dataclass sets each
# field through `object.__setattr__`, which made building 100,000 of them from the database
# cost five times what plain slots do (measured), a large part of a preview's time.
# `unsafe_hash` keeps them hashable, by value, as frozen ones were.


@dataclass(slots=True, unsafe_hash=True)
class Tag:
    """A tag on an artifact. Treat as read-only.

    `pushed_at`: when the tag was last pushed (moved) onto this artifact; None if unknown.
    `pulled_at`: when it was last pulled by this tag; None if never or unknown.
    `protected_by`: the number (from 1) of the immutable tag rule protecting it, if the
    caller already knows; the engine also applies the immutable rules it is given.
    """

    name: str
    pushed_at: datetime | None = None
    pulled_at: datetime | None = None
    protected_by: int | None = None


@dataclass(slots=True, unsafe_hash=True)
class Artifact:
    """A manifest (image, index, signature, ...) in one repository. Treat as read-only.

    `repository`: path inside the project (`app`, `team-a/api`) -- what repository
    patterns are matched against. `pushed_at`: when the manifest was first pushed.
    `pulled_at`: when it was last pulled by any means (tag or digest); None if never.
    `parents`: digests of image indexes in the same repository that list this manifest.
    `subject`: the OCI `subject` digest for referrers (signatures, SBOMs, attestations).
    `push_time_known`: False when no push of it was seen (it was found by a sync), so
    `pushed_at` is an estimate (the image's created time, or when it was first seen);
    rules use it all the same, and the reasons say so.
    `labels`: the names of the labels on the artifact (rules may select on them).
    `ref`: opaque to the engine; the service puts the database id there so that what an
    evaluation deletes can be looked up without matching (repository, digest) pairs.
    """

    repository: str
    digest: str
    pushed_at: datetime
    pulled_at: datetime | None = None
    tags: tuple[Tag, ...] = ()
    parents: tuple[str, ...] = ()
    subject: str | None = None
    push_time_known: bool = True
    labels: frozenset[str] = frozenset()
    # The caller's own id of the row (Wharf's artifact pk): carried through, never read here.
    ref: int | None = None
