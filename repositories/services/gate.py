"""The gate's side in Wharf: judging manifest requests, saving policies, recording refusals.

Hot path (`check_pull`): one query for the project's policy (nothing more for a project
without pull policies), one for the tag or digest with its signature verdict, one for
the latest scan's counts when a severity policy applies; never a registry call. Push
(`judge_push`): the tag's row and, under a quota, the project's usage sums plus what the
pushes let through but not yet in Wharf's rows reserve (`QuotaReservation`). Under a quota
the decision holds the project's policy row locked (SQLite: the write lock every
transaction takes) from reading usage to writing its reservation, so concurrent pushes
of one project are judged one after the other, each seeing the others' reservations.

Refusals are audited: each refused push once; refused pulls once per (minute, image,
reason, client, principal) -- a cluster retrying a blocked image would otherwise write
a chained row per attempt. Every decision counts in `wharf_gate_decisions`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.registry_auth.grants import project_of
from audit.context import Actor
from audit.models import ActorKind, AuditAction
from audit.services import record
from portal.metrics import GATE_DECISIONS, GATE_LATENCY

from ..accessories import kind_of_tag
from ..gate.policy import (
    ALLOW,
    SEVERITIES,
    Decision,
    PullFacts,
    PullPolicy,
    PushFacts,
    Quota,
    decide_pull,
    decide_push,
)
from ..models import (
    Artifact,
    ArtifactBlob,
    GatePolicy,
    ImmutableRule,
    Project,
    QuotaReservation,
    Repository,
    ScanReport,
    SignatureReason,
    Tag,
)
from ..models.gate import BlockSeverity
from .retention import protecting_rule
from .usage import blob_rows, project_usage

log = logging.getLogger(__name__)

_REASONS = {choice.value: str(choice.label) for choice in SignatureReason}
MANIFEST_LIMIT = 4 * 1024 * 1024  # as the registry client's cap
DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
PULL_FIELDS = ("require_signed", "block_severity")
QUOTA_FIELDS = ("quota_bytes", "quota_artifacts")
POLICY_FIELDS = PULL_FIELDS + QUOTA_FIELDS


def image_name(repository: str, reference: str) -> str:
    return f"{repository}@{reference}" if DIGEST.match(reference) else f"{repository}:{reference}"


# --- pulls ---------------------------------------------------------------------------------------


def _pull_policy(project_name: str) -> PullPolicy | None:
    row = (
        GatePolicy.objects.filter(project__name=project_name)
        .values_list("require_signed", "block_severity")
        .first()
    )
    if row is None or not (row[0] or row[1]):
        return None
    return PullPolicy(require_signed=row[0], block_severity=row[1])


def pull_facts(repository: str, reference: str, *, with_scan: bool) -> PullFacts:
    """What Wharf's rows say about `repository`'s manifest `reference` (a tag or a digest)."""
    fields = (
        "id",
        "digest",
        "kind",
        "subject_digest",
        "signature__status",
        "signature__reason",
        "parent__signature__status",
    )
    if DIGEST.match(reference):
        row = (
            Artifact.objects.filter(repository__name=repository, digest=reference)
            .values_list(*fields)
            .first()
        )
        tag_accessory = False
    else:
        prefixed = tuple(f"artifact__{field}" for field in fields)
        row = Tag.objects.filter(repository__name=repository, name=reference).values_list(*prefixed).first()
        tag_accessory = kind_of_tag(reference) is not None
    if row is None:
        return PullFacts(digest=None, accessory=tag_accessory)
    pk, digest, kind, subject, status, reason, parent_status = row
    counts: Mapping[str, int] | None = None
    if with_scan and kind != Artifact.Kind.INDEX:
        counts = (
            ScanReport.objects.filter(artifact_id=pk, status=ScanReport.Status.SUCCEEDED)
            .order_by("-created_at", "-id")
            .values_list("counts", flat=True)
            .first()
        )
    return PullFacts(
        digest=digest,
        accessory=tag_accessory or bool(subject),
        is_index=kind == Artifact.Kind.INDEX,
        signature=status or "unsigned",
        signature_problem=_REASONS.get(reason or "", reason or ""),
        signed_by_parent=parent_status == "signed",
        counts=counts,
    )


def check_pull(repository: str, reference: str) -> Decision:
    """Allow or refuse a GET/HEAD of `repository`'s manifest `reference` by its project's policy."""
    policy = _pull_policy(project_of(repository))
    if policy is None:
        return ALLOW
    facts = pull_facts(repository, reference, with_scan=bool(policy.block_severity))
    return decide_pull(image_name(repository, reference), policy, facts)


# --- pushes --------------------------------------------------------------------------------------


def _manifest_blobs(digest: str, body: bytes) -> list[tuple[str, int, str]]:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    layers = payload.get("layers") if isinstance(payload, dict) else None
    return blob_rows(digest, body, layers if isinstance(layers, list) else [])


@dataclass
class _Reserved:
    """What the live reservations of a project hold that Wharf's rows do not show yet."""

    artifacts: set[str]  # manifest digests
    blobs: dict[str, int]  # blob digest -> size


def _reserved(project: Project, candidates: list[tuple[str, int, str]], digest: str) -> _Reserved:
    """Read the project's live reservations, dropping expired and settled ones (their rows
    arrived). Called with the policy row locked."""
    now = timezone.now()
    QuotaReservation.objects.filter(expires_at__lte=now).delete()
    live = list(QuotaReservation.objects.filter(project=project).values_list("id", "digest", "artifact", "blobs"))
    if not live:
        return _Reserved(set(), {})
    digests = {d for _, d, _, _ in live} | {digest}
    known = set(
        Artifact.objects.filter(repository__project=project, digest__in=digests).values_list("digest", flat=True)
    )
    blob_digests = {str(b[0]) for _, _, _, blobs in live for b in blobs} | {d for d, _, _ in candidates}
    held = set(
        ArtifactBlob.objects.filter(artifact__repository__project=project, digest__in=blob_digests).values_list(
            "digest", flat=True
        )
    )
    reserved = _Reserved(set(), {})
    settled = []
    for pk, reserved_digest, artifact, blobs in live:
        pending = {str(d): int(size) for d, size in blobs if str(d) not in held}
        if artifact and reserved_digest not in known:
            reserved.artifacts.add(reserved_digest)
        elif not pending:
            settled.append(pk)
        reserved.blobs.update(pending)
    if settled:
        QuotaReservation.objects.filter(pk__in=settled).delete()
    return reserved


def push_facts(
    repository: Repository | None,
    project: Project | None,
    reference: str,
    body: bytes,
    quota: Quota,
    *,
    reserve: bool = False,
) -> tuple[PushFacts, QuotaReservation | None]:
    """The facts a PUT is judged on and, with `reserve` (the caller holds the project's lock),
    the reservation to write if it passes (unsaved; None when it adds nothing)."""
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    protected_by, current = None, ""
    if repository is not None and not DIGEST.match(reference):
        current = (
            Tag.objects.filter(repository=repository, name=reference)
            .values_list("artifact__digest", flat=True)
            .first()
            or ""
        )
        if current and current != digest:
            protected_by = protecting_rule(repository, reference)
    if project is None or (quota.bytes is None and quota.artifacts is None) or protected_by is not None:
        return PushFacts(protected_by=protected_by, current_digest=current), None
    in_project = Artifact.objects.filter(repository__project=project)
    known = in_project.filter(digest=digest).exists()
    blobs = _manifest_blobs(digest, body) if quota.bytes is not None else []
    reserved = _reserved(project, blobs, digest) if reserve else _Reserved(set(), {})
    held = set(
        ArtifactBlob.objects.filter(
            artifact__repository__project=project, digest__in=[d for d, _, _ in blobs]
        ).values_list("digest", flat=True)
    )
    new_blobs = {d: size for d, size, _ in blobs if d not in held}
    added_artifact = not known and digest not in reserved.artifacts
    facts = PushFacts(
        used_bytes=project_usage(project).unique_size if quota.bytes is not None else 0,
        added_bytes=sum(size for d, size in new_blobs.items() if d not in reserved.blobs),
        artifacts=in_project.count() if quota.artifacts is not None else 0,
        added_artifacts=1 if added_artifact else 0,
        reserved_bytes=sum(reserved.blobs.values()) if quota.bytes is not None else 0,
        reserved_artifacts=len(reserved.artifacts) if quota.artifacts is not None else 0,
    )
    reservation = None
    if reserve and (added_artifact or new_blobs):
        reservation = QuotaReservation(
            project=project,
            digest=digest,
            artifact=added_artifact,
            blobs=[[d, size] for d, size in new_blobs.items()],
            expires_at=timezone.now() + timedelta(seconds=settings.WHARF_GATE_RESERVATION_SECONDS),
        )
    return facts, reservation


def judge_push(repository_name: str, reference: str, body: bytes) -> tuple[Decision, int | None]:
    """Allow or refuse a PUT of a manifest: immutable tags first, then the project's quotas.
    A push let through under a quota reserves what it adds (the id returned, to `release`
    it if the registry refuses the manifest after all)."""
    repository = Repository.objects.select_related("project").filter(name=repository_name).first()
    project = (
        repository.project
        if repository is not None
        else Project.objects.filter(name=project_of(repository_name)).first()
    )
    if project is None:
        return ALLOW, None
    image = image_name(repository_name, reference)
    row = GatePolicy.objects.filter(project=project).values_list("quota_bytes", "quota_artifacts").first()
    if row is None or (row[0] is None and row[1] is None):
        facts, _ = push_facts(repository, project, reference, body, Quota())
        return decide_push(image, project.name, Quota(), facts), None
    with transaction.atomic():
        # The lock that orders this project's quota decisions (SQLite: BEGIN IMMEDIATE already).
        row = (
            GatePolicy.objects.select_for_update()
            .filter(project=project)
            .values_list("quota_bytes", "quota_artifacts")
            .first()
        )
        quota = Quota(bytes=row[0], artifacts=row[1]) if row else Quota()
        facts, reservation = push_facts(repository, project, reference, body, quota, reserve=True)
        decision = decide_push(image, project.name, quota, facts)
        if decision.allowed and reservation is not None:
            reservation.save()
            return decision, reservation.pk
    return decision, None


def check_push(repository_name: str, reference: str, body: bytes) -> Decision:
    return judge_push(repository_name, reference, body)[0]


def release(reservation_id: int | None) -> None:
    """Drop a reservation whose push did not happen (the registry refused the manifest)."""
    if reservation_id is not None:
        QuotaReservation.objects.filter(pk=reservation_id).delete()


# --- refusals ------------------------------------------------------------------------------------


def gate_actor(subject: str | None, ip: str | None, request_id: str) -> Actor:
    """Who a refused request came from: the token's subject (a user or `robot$...`), else anonymous."""
    if not subject:
        return Actor(kind=ActorKind.ANONYMOUS, name="", ip=ip, request_id=request_id)
    kind = ActorKind.ROBOT if subject.startswith("robot$") else ActorKind.USER
    return Actor(kind=kind, name=subject, ip=ip, request_id=request_id)


@dataclass(frozen=True)
class Judged:
    operation: str  # pull or push
    repository: str
    reference: str
    decision: Decision


def observe(judged: Judged, started: float) -> None:
    outcome = "allowed" if judged.decision.allowed else "refused"
    GATE_DECISIONS.labels(judged.operation, outcome, judged.decision.policy or "-").inc()
    GATE_LATENCY.labels(judged.operation).observe(time.perf_counter() - started)


def record_refusal(judged: Judged, actor: Actor) -> bool:
    """Audit a refusal; a pull refusal only once per (minute, image, reason, client, principal).
    Returns whether an event was written."""
    decision = judged.decision
    project = Project.objects.filter(name=project_of(judged.repository)).first()
    action = AuditAction.GATE_PULL_REFUSED if judged.operation == "pull" else AuditAction.GATE_PUSH_REFUSED
    details: dict[str, Any] = {
        "policy": decision.policy,
        "message": decision.message,
        "reference": judged.reference,
    }
    if judged.operation == "pull":
        minute = int(time.time() // 60)
        key = (
            "gate-refusal:"
            + hashlib.sha256(
                json.dumps(
                    [minute, judged.repository, judged.reference, decision.message, actor.ip, actor.name]
                ).encode()
            ).hexdigest()
        )
        if not cache.add(key, 1, timeout=120):
            return False
        details |= {
            "minute": minute,
            "aggregated": "the first refusal of this image, reason and client in this minute",
        }
    with transaction.atomic():
        record(
            action,
            actor=actor,
            project=project,
            target_type="manifest",
            target_name=image_name(judged.repository, judged.reference)[:255],
            details=details,
        )
    return True


# --- policies ------------------------------------------------------------------------------------


def policy_of(project: Project) -> GatePolicy:
    """The project's policy row, or an unsaved default one (no policy)."""
    found = GatePolicy.objects.filter(project=project).select_related("updated_by").first()
    return found if found is not None else GatePolicy(project=project)


def _clean(changes: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in POLICY_FIELDS:
            errors[field] = _("Not a policy setting.")
        elif field == "require_signed":
            if not isinstance(value, bool):
                errors[field] = _("Must be true or false.")
            else:
                cleaned[field] = value
        elif field == "block_severity":
            value = value or ""
            if value not in BlockSeverity.values:
                errors[field] = _("Choose one of: %(choices)s, or empty for off.") % {"choices": ", ".join(SEVERITIES)}
            else:
                cleaned[field] = value
        else:
            if value in (None, ""):
                cleaned[field] = None
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                errors[field] = _("A whole number, 0 or more (empty: unlimited).")
            elif field == "quota_artifacts" and value > 2_147_483_647:
                errors[field] = _("At most 2147483647.")
            elif value > 2**62:
                errors[field] = _("Too large.")
            else:
                cleaned[field] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def save_policy(
    project: Project, changes: Mapping[str, Any], *, actor: Actor, user: Any = None
) -> GatePolicy:
    """Change some of the project's policy settings; audited with what changed. Who may
    change which field is `access.require_gate_policy_change`, checked by the caller."""
    cleaned = _clean(changes)
    with transaction.atomic():
        policy = GatePolicy.objects.select_for_update().filter(project=project).first() or GatePolicy(
            project=project
        )
        before = {field: getattr(policy, field) for field in POLICY_FIELDS}
        for field, value in cleaned.items():
            setattr(policy, field, value)
        after = {field: getattr(policy, field) for field in POLICY_FIELDS}
        changed = {
            field: {"from": before[field], "to": after[field]}
            for field in POLICY_FIELDS
            if before[field] != after[field]
        }
        if not changed and policy.pk is not None:
            return policy
        policy.updated_by = user if user is not None and getattr(user, "is_authenticated", False) else None
        policy.updated_at = timezone.now()
        policy.save()
        record(
            AuditAction.GATE_POLICY_UPDATE,
            actor=actor,
            project=project,
            target_type="gate_policy",
            target_name=project.name,
            details={"changes": changed},
        )
        name = project.name
        transaction.on_commit(lambda: refresh_marker(name))
    return policy


# --- markers nginx reads ------------------------------------------------------------------------


def marker_directory() -> Path:
    """A file per project the gate guards: with Wharf down, nginx refuses its manifests."""
    return Path(settings.WHARF_GATE_STATE_DIR) / "guarded"


def pull_marker_directory() -> Path:
    """A file per project with pull policies: only their pulls make nginx ask Wharf."""
    return Path(settings.WHARF_GATE_STATE_DIR) / "pull"


def _marked(names: list[str] | None) -> tuple[set[str], set[str]]:
    """(guarded, with pull policies) among `names` (every project when None): a pull policy,
    a quota or an enabled immutable rule guards a project."""
    rules = ImmutableRule.objects.filter(enabled=True)
    policies = GatePolicy.objects.select_related("project")
    if names is not None:
        rules, policies = rules.filter(project__name__in=names), policies.filter(project__name__in=names)
    guarded = set(rules.values_list("project__name", flat=True).distinct())
    pulls: set[str] = set()
    for row in policies:
        if row.is_active:
            guarded.add(row.project.name)
        if row.guards_pulls:
            pulls.add(row.project.name)
    return guarded, pulls


def refresh_marker(project_name: str) -> None:
    """Create or remove one project's marker files (after its policy or immutable rules
    changed). A marker that cannot be written is logged: `gate_config` rewrites them all."""
    guarded, pulls = _marked([project_name])
    try:
        for directory, wanted in ((marker_directory(), guarded), (pull_marker_directory(), pulls)):
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / project_name
            if project_name in wanted:
                path.touch()
            else:
                path.unlink(missing_ok=True)
    except OSError:
        log.error(
            "Could not update the gate's markers for %s: run manage.py gate_config",
            project_name,
            exc_info=True,
        )


def write_markers() -> int:
    """Rewrite every marker (at `gate_config`); returns how many projects are guarded."""
    guarded, pulls = _marked(None)
    for directory, wanted in ((marker_directory(), guarded), (pull_marker_directory(), pulls)):
        directory.mkdir(parents=True, exist_ok=True)
        for path in directory.iterdir():
            if path.name not in wanted:
                path.unlink(missing_ok=True)
        for name in wanted:
            (directory / name).touch()
    return len(guarded)
