"""Trusted signing keys of a project, and each artifact's cosign signature verdict.

`add_key` / `remove_key` own key changes and their audit rows; each change queues
`verify_project` once committed, since every verdict of the project may change.
`verify_artifact` reads an artifact's signature accessories (found by
`accessories.accessories_for`: `sha256-<hex>.sig` tags and OCI 1.1 referrers) from
the registry, hands them to the pure verifiers (`repositories.signatures.verify` for
cosign against the project's keys, `.notation` for Notation JWS envelopes against its CA
certificates, trusted keys too, `algorithm` `x509-ca`) and stores the verdict in
`ArtifactSignature`: signed if either verifies, else cosign's reason when there are cosign
signatures, else Notation's. A push of a signature reaches it through
`after_push` (called by the details task the push notification queues).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..accessories import AccessoryKind, accessories_for, kind_of_type
from ..models import (
    Artifact,
    ArtifactSignature,
    Project,
    SignatureReason,
    SignatureStatus,
    SyncRun,
    Tag,
    TrustedKey,
)
from ..registry import RegistryClient, RegistryError, RegistryUnavailable
from ..registry.manifests import parse_manifest
from ..retention.candidates import reference_subject
from ..signatures import notation
from ..signatures import verify as engine
from ..signatures.keys import (
    CERTIFICATE_ALGORITHM,
    BadKey,
    algorithm_of,
    certificate_fingerprint,
    certificate_pem,
    fingerprint,
    is_certificate,
    load_ca_certificate,
    load_public_key,
    normalized_pem,
)

log = logging.getLogger(__name__)

MAX_SIGNATURE_BLOB = 1 << 20
_M = TypeVar("_M", bound=models.Model)


def _audit(action: AuditAction, key: TrustedKey, actor: Actor) -> None:
    record(
        action,
        actor=actor,
        project=key.project,
        target_type="signing_key",
        target_name=key.name,
        details={"algorithm": key.algorithm, "fingerprint": key.fingerprint},
    )


def _queue_project(project: Project) -> None:
    from ..tasks import verify_project_signatures

    project_id = project.pk
    transaction.on_commit(lambda: verify_project_signatures.delay(project_id))


def add_key(*, project: Project, name: str, public_key: str, actor: Actor) -> TrustedKey:
    """Trust `public_key` (PEM) under `name` in `project`; `ValidationError` keyed by
    field for a bad key, a taken name or a key already trusted. A PEM CA certificate
    joins the project's trust store for Notation signatures instead."""
    try:
        if is_certificate(public_key):
            certificate = load_ca_certificate(public_key)
            pem, algorithm, print_ = (
                certificate_pem(certificate),
                CERTIFICATE_ALGORITHM,
                certificate_fingerprint(certificate),
            )
        else:
            parsed = load_public_key(public_key)
            pem, algorithm, print_ = normalized_pem(parsed), algorithm_of(parsed), fingerprint(parsed)
    except BadKey as exc:
        raise ValidationError({"public_key": str(exc)}) from exc
    key = TrustedKey(
        project=project,
        name=name.strip(),
        public_key=pem,
        algorithm=algorithm,
        fingerprint=print_,
        created_by_id=actor.user_id,
    )
    key.full_clean()
    try:
        with transaction.atomic():
            key.save()
            _audit(AuditAction.SIGNING_KEY_ADD, key, actor)
            _queue_project(project)
    except IntegrityError as exc:  # a concurrent add won the unique constraint
        raise ValidationError({"name": gettext("This project already has a key with this name.")}) from exc
    return key


def remove_key(key: TrustedKey, *, actor: Actor) -> None:
    with transaction.atomic():
        _audit(AuditAction.SIGNING_KEY_REMOVE, key, actor)
        project = key.project
        key.delete()
        _queue_project(project)


def filter_by_signature(queryset: QuerySet[_M], status: str, *, prefix: str = "") -> QuerySet[_M]:
    """Rows of `queryset` (artifacts, or tags with `prefix="artifact__"`) whose artifact's
    verdict is `status`; artifacts without a verdict are unsigned. Empty: no filter."""
    if not status:
        return queryset
    if status == SignatureStatus.UNSIGNED:
        return queryset.filter(
            Q(**{f"{prefix}signature__isnull": True}) | Q(**{f"{prefix}signature__status": status})
        )
    return queryset.filter(**{f"{prefix}signature__status": status})


# --- verification ----------------------------------------------------------------


def _manifest_bytes(
    accessory: Artifact | None, repository: str, digest: str, client: RegistryClient
) -> bytes:
    if accessory is not None and accessory.manifest:
        return bytes(accessory.manifest)
    return client.get_manifest(repository, digest).raw


def _signatures_of(
    repository: str, digests: Iterable[str], rows: dict[str, Artifact], client: RegistryClient
) -> tuple[list[engine.Signature], list[bytes]]:
    """The cosign signatures and the Notation JWS envelopes in the accessory manifests
    `digests`; layers of other kinds (attestations, COSE envelopes) are left out."""
    found: list[engine.Signature] = []
    envelopes: list[bytes] = []
    for digest in digests:
        raw = _manifest_bytes(rows.get(digest), repository, digest, client)
        manifest = parse_manifest(raw, digest=digest)
        for layer in manifest.layers:
            if layer.media_type == engine.SIMPLE_SIGNING_MEDIA_TYPE:
                blob = client.get_blob(repository, layer.digest, max_size=MAX_SIGNATURE_BLOB)
                found.append(engine.LegacySignature(blob, dict(layer.annotations), layer.media_type))
            elif layer.media_type == engine.BUNDLE_MEDIA_TYPE:
                blob = client.get_blob(repository, layer.digest, max_size=MAX_SIGNATURE_BLOB)
                found.append(engine.BundleSignature(blob))
            elif layer.media_type == notation.JWS_MEDIA_TYPE:
                envelopes.append(client.get_blob(repository, layer.digest, max_size=MAX_SIGNATURE_BLOB))
    return found, envelopes


def _trust_store(rows: list[TrustedKey]) -> dict[str, TrustedKey]:
    """The project's CA certificates (Notation), by their DER fingerprint."""
    return {row.fingerprint: row for row in rows if row.algorithm == CERTIFICATE_ALGORITHM}


_NOTATION_REASONS = {
    notation.NotationStatus.OTHER_DIGEST: SignatureReason.OTHER_DIGEST,
    notation.NotationStatus.TAMPERED: SignatureReason.TAMPERED,
    notation.NotationStatus.UNTRUSTED: SignatureReason.UNTRUSTED,
    notation.NotationStatus.NO_TRUST_STORE: SignatureReason.NO_KEYS,
    notation.NotationStatus.MALFORMED: SignatureReason.MALFORMED,
}
_NOTATION_ORDER = tuple(_NOTATION_REASONS)


def _notation_verdict(
    digest: str, envelopes: list[bytes], certificates: dict[str, TrustedKey]
) -> tuple[str, str, str, str]:
    """(status, key name, reason, detail) over `digest`'s Notation envelopes: signed if one
    verifies, else the most telling failure."""
    roots = notation.load_trust_store([row.public_key for row in certificates.values()])
    verdicts = [notation.verify_notation(digest, envelope, roots) for envelope in envelopes]
    for verdict in verdicts:
        if verdict.valid and verdict.trusted_by is not None:
            row = certificates.get(certificate_fingerprint(verdict.trusted_by))
            return SignatureStatus.SIGNED.value, row.name if row else "", "", f"Notation: {verdict.signer}"
    worst = min(verdicts, key=lambda v: _NOTATION_ORDER.index(v.status))
    detail = f"Notation: {worst.signer}: {worst.detail}" if worst.signer else f"Notation: {worst.detail}"
    return SignatureStatus.INVALID.value, "", _NOTATION_REASONS[worst.status].value, detail


def _trusted_keys(project: Project) -> tuple[list[engine.TrustedKey], dict[str, TrustedKey]]:
    rows = [row for row in TrustedKey.objects.filter(project=project) if row.algorithm != CERTIFICATE_ALGORITHM]
    keys = []
    for row in rows:
        try:
            keys.append(engine.TrustedKey(row.name, load_public_key(row.public_key)))
        except BadKey:  # stored keys were checked on the way in; never trust one that no longer parses
            log.warning("Trusted key %s of %s no longer parses", row.name, project.name)
    return keys, {row.name: row for row in rows}


def verify_artifact(artifact: Artifact, client: RegistryClient) -> ArtifactSignature | None:
    """Verify `artifact`'s cosign signatures and store the verdict. Returns the stored
    row, or None for an artifact with no signature and no earlier verdict. Raises
    `RegistryUnavailable` (retry later); other registry failures are a verdict."""
    repository = artifact.repository
    signatures = [
        a.digest
        for a in accessories_for(repository, [artifact.digest]).get(artifact.digest, [])
        if a.kind == AccessoryKind.SIGNATURE
    ]
    rows = {a.digest: a for a in Artifact.objects.filter(repository=repository, digest__in=signatures)}
    keys, key_rows = _trusted_keys(repository.project)
    certificates = _trust_store(list(TrustedKey.objects.filter(project=repository.project)))
    try:
        found, envelopes = _signatures_of(repository.name, signatures, rows, client)
    except RegistryUnavailable:
        raise
    except RegistryError as exc:  # gone, too large or not a manifest: say so, do not retry
        status, key_name, detail = SignatureStatus.INVALID.value, "", str(exc)
        reason: str = SignatureReason.UNREADABLE.value
    else:
        manifest = bytes(artifact.manifest) if artifact.manifest else None
        verdict = engine.verify(artifact.digest, found, keys, subject_manifest=manifest)
        status, key_name, reason, detail = (
            verdict.status.value,
            verdict.key_name,
            verdict.reason.value,
            verdict.detail,
        )
        if envelopes and verdict.status is not engine.Status.SIGNED:
            by_notation = _notation_verdict(artifact.digest, envelopes, certificates)
            if by_notation[0] == SignatureStatus.SIGNED or not found:
                status, key_name, reason, detail = by_notation
                key_rows = {row.name: row for row in certificates.values()}
    if not signatures and not ArtifactSignature.objects.filter(artifact=artifact).exists():
        return None
    row, _ = ArtifactSignature.objects.update_or_create(
        artifact=artifact,
        defaults={
            "status": status,
            "key": key_rows.get(key_name),
            "key_name": key_name,
            "reason": reason,
            "detail": detail[:500],
            "checked_at": timezone.now(),
        },
    )
    return row


def signed_subjects(project: Project) -> list[Artifact]:
    """Artifacts of `project` that have cosign-style signature accessories, or a
    stored verdict (whose signatures may be gone)."""
    pairs: set[tuple[int, str]] = set()
    sig_tags = Tag.objects.filter(repository__project=project, name__regex=r"^sha256-[0-9a-f]{64}\.sig$")
    for repository_id, name in sig_tags.values_list("repository_id", "name"):
        subject = reference_subject(name)
        if subject:
            pairs.add((repository_id, subject))
    referrers = Artifact.objects.filter(repository__project=project).exclude(subject_digest="")
    for repository_id, subject, artifact_type, media_type in referrers.values_list(
        "repository_id", "subject_digest", "artifact_type", "media_type"
    ):
        if kind_of_type(artifact_type, media_type) == AccessoryKind.SIGNATURE:
            pairs.add((repository_id, subject))
    ids = set(
        ArtifactSignature.objects.filter(artifact__repository__project=project).values_list(
            "artifact_id", flat=True
        )
    )
    subjects = list(
        Artifact.objects.filter(repository__project=project, digest__in={d for _, d in pairs}).select_related(
            "repository__project"
        )
    )
    chosen = {a.pk: a for a in subjects if (a.repository_id, a.digest) in pairs}
    missing = ids - chosen.keys()
    if missing:
        chosen |= {
            a.pk: a for a in Artifact.objects.filter(pk__in=missing).select_related("repository__project")
        }
    return list(chosen.values())


def verify_project(project: Project, client: RegistryClient) -> int:
    """Re-verify every artifact of `project` with signatures (after a key change)."""
    count = 0
    for artifact in signed_subjects(project):
        verify_artifact(artifact, client)
        count += 1
    return count


def verify_after_sync(run: SyncRun, client: RegistryClient) -> None:
    """A sync may have found signatures no notification announced: re-verify the
    projects it covered. A registry failure here is logged; the next push or key
    change verifies again."""
    if run.status != SyncRun.Status.SUCCEEDED:
        return
    projects = [run.project] if run.project is not None else list(Project.objects.all())
    for project in projects:
        try:
            verify_project(project, client)
        except RegistryError as exc:
            log.warning("Signature verification after sync %s stopped in %s: %s", run.pk, project.name, exc)
            return


def after_push(artifact: Artifact, tag_names: Iterable[str], client: RegistryClient) -> None:
    """A pushed manifest that signs another (`.sig` tag, or a signature referrer)
    re-verifies its subject; a pushed subject with signatures already here, itself."""
    subjects = {s for s in (reference_subject(n) for n in tag_names if n.endswith(".sig")) if s}
    if (
        artifact.subject_digest
        and kind_of_type(artifact.artifact_type, artifact.media_type) == AccessoryKind.SIGNATURE
    ):
        subjects.add(artifact.subject_digest)
    if not subjects:
        subjects_here = [artifact]
    else:
        subjects_here = list(
            Artifact.objects.filter(repository_id=artifact.repository_id, digest__in=subjects).select_related(
                "repository__project"
            )
        )
    for subject in subjects_here:
        verify_artifact(subject, client)
