"""Pure decisions of the gate: plain facts in, `Decision` out (no Django).

Messages are what a `docker pull` or `skopeo` user reads after `denied:`, so each one
names the image and the policy that refused it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from repositories.text import gettext

SEVERITIES = ("critical", "high", "medium", "low")  # strongest first; "unknown" never blocks
_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES), start=1)}


class Refusal:
    """The policy names refusals carry (audit details, metrics labels)."""

    SIGNED = "only_signed"
    VULNERABLE = "vulnerable"
    IMMUTABLE = "immutable_tag"
    QUOTA_STORAGE = "quota_storage"
    QUOTA_ARTIFACTS = "quota_artifacts"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    policy: str = ""  # a `Refusal` name when refused
    message: str = ""

    @classmethod
    def allow(cls) -> Decision:
        return cls(True)


ALLOW = Decision.allow()


@dataclass(frozen=True)
class PullPolicy:
    require_signed: bool = False
    block_severity: str = ""  # one of SEVERITIES, or "" (off)


@dataclass(frozen=True)
class PullFacts:
    """What Wharf's rows say about the manifest a client asks for.

    `digest` is None when Wharf knows no such tag or digest in the repository (not
    yet notified or synced). `signature` is the verdict of `ArtifactSignature`
    ("signed", "invalid", "unsigned"), `signed_by_parent` true when the index that
    holds this platform manifest is signed (cosign signs the index a tag names).
    `counts` is the latest succeeded scan's `{severity: n}` (allowlisted findings
    already left out), None when it was never scanned.
    """

    digest: str | None
    accessory: bool = False
    is_index: bool = False
    signature: str = "unsigned"
    signature_problem: str = ""
    signed_by_parent: bool = False
    counts: Mapping[str, int] | None = None


def severity_label(threshold: str) -> str:
    return f"block {threshold}" if threshold == "critical" else f"block {threshold} and above"


def blocking_counts(counts: Mapping[str, int], threshold: str) -> list[tuple[str, int]]:
    """`(severity, n)` of the bands at or above `threshold` that count something, strongest first."""
    floor = _RANK[threshold]
    return [
        (band, int(counts.get(band, 0)))
        for band in SEVERITIES
        if _RANK[band] >= floor and counts.get(band, 0)
    ]


def _vulnerabilities(found: list[tuple[str, int]]) -> str:
    parts = [f"{n} {band}" for band, n in found]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{text} {'vulnerability' if sum(n for _, n in found) == 1 else 'vulnerabilities'}"


def decide_pull(image: str, policy: PullPolicy, facts: PullFacts) -> Decision:
    """Whether `image` (`repo:tag` or `repo@digest`, as the client asked) may be pulled.

    Signatures, attestations and SBOMs (accessories) always pass: `cosign verify` must
    be able to read them. An image Wharf does not know cannot be judged, so under a
    pull policy it is refused, as an image never scanned is under a severity policy.
    """
    if not (policy.require_signed or policy.block_severity) or facts.accessory:
        return ALLOW
    named = image if facts.digest is None or "@" in image else f"{image} ({facts.digest})"
    if facts.digest is None:
        which = " and ".join(
            label
            for label, on in (
                ("only signed images", policy.require_signed),
                (
                    severity_label(policy.block_severity) if policy.block_severity else "",
                    bool(policy.block_severity),
                ),
            )
            if on
        )
        return Decision(
            False,
            Refusal.SIGNED if policy.require_signed else Refusal.VULNERABLE,
            f"image {named} is not known to Wharf yet, so it cannot be checked (policy: {which})",
        )
    if policy.require_signed and facts.signature != "signed" and not facts.signed_by_parent:
        if facts.signature == "invalid":
            why = f"its signature is not valid: {facts.signature_problem or 'invalid'}"
        else:
            why = "it is not signed by a key the project trusts"
        return Decision(False, Refusal.SIGNED, f"image {named}: {why} (policy: only signed images)")
    if policy.block_severity and not facts.is_index:
        label = severity_label(policy.block_severity)
        if facts.counts is None:
            return Decision(
                False,
                Refusal.VULNERABLE,
                f"image {named} has not been scanned for vulnerabilities (policy: {label})",
            )
        found = blocking_counts(facts.counts, policy.block_severity)
        if found:
            return Decision(
                False, Refusal.VULNERABLE, f"image {named} has {_vulnerabilities(found)} (policy: {label})"
            )
    return ALLOW


@dataclass(frozen=True)
class PushFacts:
    """What a manifest PUT would change, from Wharf's rows and the manifest itself.

    `protected_by`: the immutable rule protecting the tag, when the reference is a tag
    that already exists on another digest (None otherwise). Usage figures are the
    project's unique bytes and artifact count now, and what this manifest adds: the
    bytes of its blobs the project does not hold yet and 1 if its digest is new there.
    `reserved_*`: what pushes already let through but not yet in Wharf's rows will add
    (counted like usage; what this push shares with them is not added twice).
    """

    protected_by: int | None = None
    current_digest: str = ""
    used_bytes: int = 0
    added_bytes: int = 0
    artifacts: int = 0
    added_artifacts: int = 0
    reserved_bytes: int = 0
    reserved_artifacts: int = 0


@dataclass(frozen=True)
class Quota:
    bytes: int | None = None
    artifacts: int | None = None


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def decide_push(image: str, project: str, quota: Quota, facts: PushFacts) -> Decision:
    """Whether a manifest PUT of `image` (`repo:tag` or `repo@digest`) may proceed."""
    if facts.protected_by is not None:
        return Decision(
            False,
            Refusal.IMMUTABLE,
            f"tag {image} is immutable and already points at {facts.current_digest}; push under a new tag "
            f"(policy: immutable rule {facts.protected_by})",
        )
    if (
        quota.artifacts is not None
        and facts.added_artifacts
        and facts.artifacts + facts.reserved_artifacts + facts.added_artifacts > quota.artifacts
    ):
        pending = f", pushes in progress add {facts.reserved_artifacts}" if facts.reserved_artifacts else ""
        return Decision(
            False,
            Refusal.QUOTA_ARTIFACTS,
            f"pushing {image} would exceed project {project}'s quota of {quota.artifacts} artifacts "
            f"(it holds {facts.artifacts}{pending}) (policy: artifact quota)",
        )
    if (
        quota.bytes is not None
        and facts.added_bytes
        and facts.used_bytes + facts.reserved_bytes + facts.added_bytes > quota.bytes
    ):
        pending = f", pushes in progress add {human_size(facts.reserved_bytes)}" if facts.reserved_bytes else ""
        return Decision(
            False,
            Refusal.QUOTA_STORAGE,
            f"pushing {image} would exceed project {project}'s storage quota of {human_size(quota.bytes)}: "
            f"it uses {human_size(facts.used_bytes)}{pending} and this image adds {human_size(facts.added_bytes)} "
            f"(policy: storage quota)",
        )
    return ALLOW


_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024**2, "mb": 1000**2, "mib": 1024**2}
_UNITS |= {"g": 1024**3, "gb": 1000**3, "gib": 1024**3, "t": 1024**4, "tb": 1000**4, "tib": 1024**4}


def parse_size(text: str) -> int | None:
    """`"10 GiB"`, `"500MB"`, `"1048576"` in bytes; empty is None (unlimited). ValueError if unreadable."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned:
        return None
    number = cleaned.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ").strip()
    unit = (
        cleaned[len(cleaned.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")) :].strip().lower()
    )
    if unit not in _UNITS or not number:
        raise ValueError(gettext("Write a size such as 500 MiB, 10 GiB or a number of bytes, not %(text)r.") % {"text": text})
    try:
        value = float(number)
    except ValueError:
        raise ValueError(
            gettext("Write a size such as 500 MiB, 10 GiB or a number of bytes, not %(text)r.") % {"text": text}
        ) from None
    if value < 0 or value != value or value * _UNITS[unit] > 2**62:
        raise ValueError(gettext("The size must be between 0 and 4 EiB."))
    return int(value * _UNITS[unit])
