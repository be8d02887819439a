"""Vulnerability scanning: the OSV database Wharf matches against, scan reports and
their findings, CVE allowlists, and each project's "scan on push" setting.

The matching itself is the pure engine in `repositories.vulns`; these rows are what
it reads (advisories, indexed by ecosystem and package name) and what it produced
(reports and findings). Writes go through `repositories.services.osv_import` and
`repositories.services.scanning`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..vulns.identifiers import identifiers as names_of
from ..vulns.identifiers import normalize
from .projects import Project
from .registry import Artifact


class Severity(models.TextChoices):
    """Severity bands, the values of `repositories.vulns.severity.Band`."""

    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")
    UNKNOWN = "unknown", _("Unknown")


SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.UNKNOWN: 0,
}


def empty_counts() -> dict[str, int]:
    """`{band: 0}` for every band, the shape of `ScanReport.counts`."""
    return {band.value: 0 for band in Severity}


class OsvImport(models.Model):
    """One run of `import_osv`: where from, what changed, and what was refused.

    States: running → succeeded | failed. `database_version` is the newest
    `modified` timestamp of all advisories after the import, so a report can say
    which state of the database it was matched against.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    source = models.CharField(max_length=1024, help_text=_("The path (zip or directory) imported."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    seen = models.PositiveIntegerField(default=0, help_text=_("Entries read from the source."))
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(
        default=0, help_text=_("Already known at the same or a newer `modified`.")
    )
    withdrawn = models.PositiveIntegerField(default=0, help_text=_("Created or updated as withdrawn."))
    invalid = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text=_("[{entry, reason}] of refused entries (capped).")
    )
    ecosystems = models.JSONField(default=list, blank=True, help_text=_("Ecosystems the source named."))
    database_version = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    message_i18n = models.JSONField(default=dict, blank=True, help_text=_("The message's id and parameters."))
    requested_by = models.CharField(max_length=150, blank=True, help_text=_("Actor name that ran the import."))

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"OSV import #{self.pk} of {self.source} ({self.status})"


class Advisory(models.Model):
    """One OSV record, as last imported (upserted by id when its `modified` is newer)."""

    osv_id = models.CharField(max_length=255, unique=True)
    aliases = models.JSONField(default=list, blank=True)
    upstream = models.JSONField(
        default=list, blank=True, help_text=_("OSV `upstream`: the ids of the records this one was derived from.")
    )
    ecosystems = models.JSONField(default=list, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    details = models.TextField(blank=True, help_text=_("Truncated to a few KiB; `raw` has it whole."))
    severity = models.JSONField(default=list, blank=True)
    database_specific = models.JSONField(default=dict, blank=True)
    references = models.JSONField(default=list, blank=True)
    modified = models.DateTimeField()
    published = models.DateTimeField(null=True, blank=True)
    withdrawn = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["osv_id"]
        verbose_name_plural = "advisories"
        indexes = [models.Index(fields=["-modified"], name="advisory_modified")]

    def __str__(self) -> str:
        return self.osv_id

    def for_matching(self, affected: list[dict[str, Any]]) -> dict[str, Any]:
        """The OSV record the engine reads, with only the `affected[]` entries loaded."""
        return {
            "id": self.osv_id,
            "aliases": self.aliases,
            "upstream": self.upstream,
            "summary": self.summary,
            "details": self.details,
            "severity": self.severity,
            "database_specific": self.database_specific,
            "references": self.references,
            "affected": affected,
        }


class AdvisoryPackage(models.Model):
    """One `affected[]` entry of an advisory, under the (ecosystem, normalised name)
    the engine matches on (`repositories.vulns.names.normalize_name`), so a scan
    loads only the advisories for the packages it found."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="packages")
    ecosystem = models.CharField(max_length=100)
    name = models.CharField(max_length=255)
    affected = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["ecosystem", "name"], name="advisorypkg_eco_name")]

    def __str__(self) -> str:
        return f"{self.ecosystem}/{self.name} ({self.advisory_id})"


# The `ScanReport.ecosystems` key of packages that no OSV ecosystem covers.
UNMATCHED = "unmatched"


class ScanReport(models.Model):
    """One scan of one artifact by one scanner.

    States: queued → running → succeeded | failed. A report is claimed by moving it
    from queued to running with a conditional UPDATE, so two workers never run the
    same one; imported reports (Trivy) are created succeeded. A failed report keeps
    the reason in `error`; counts and findings are only written on success.

    For an index, the parent's report is a summary: each platform's image gets its
    own report (`parent` points at the summary) and the summary's counts are their
    sum. Counts leave out allowlisted findings.
    """

    class Scanner(models.TextChoices):
        BUILTIN = "builtin", _("Built-in")
        TRIVY = "trivy", _("Trivy")
        HARBOR_ADAPTER = "harbor-adapter", _("Harbor scanner adapter")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        USER = "user", _("User")
        API = "api", _("API")
        PUSH = "push", _("Push")
        SCHEDULE = "schedule", _("Schedule")
        IMPORT = "import", _("Import")

    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="scan_reports")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    scanner = models.CharField(max_length=16, choices=Scanner.choices, default=Scanner.BUILTIN)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.USER)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    database_version = models.CharField(max_length=40, blank=True)
    scanner_version = models.CharField(max_length=100, blank=True)
    distro = models.CharField(max_length=100, blank=True, help_text=_("e.g. `Debian:12`."))
    packages = models.PositiveIntegerField(default=0, help_text=_("Packages found (built-in scanner)."))
    ecosystems = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("{OSV ecosystem: packages found in it}; packages no advisory can name count under `unmatched`."),
    )
    counts = models.JSONField(default=empty_counts, help_text=_("{band: n} of findings not allowlisted."))
    fixable_counts = models.JSONField(default=empty_counts, help_text=_("{band: n} of those with a fix."))
    allowlisted = models.PositiveIntegerField(default=0, help_text=_("Findings marked by the allowlist."))
    worst_severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    error = models.TextField(blank=True)
    error_i18n = models.JSONField(default=dict, blank=True, help_text=_("The error's message id and parameters."))
    notes = models.JSONField(default=list, blank=True)
    sbom = models.JSONField(null=True, blank=True, help_text=_("CycloneDX JSON (built-in scanner)."))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["artifact", "scanner", "-created_at"], name="scanreport_artifact"),
            models.Index(fields=["status", "created_at"], name="scanreport_status"),
        ]

    def __str__(self) -> str:
        return f"scan #{self.pk} of {self.artifact_id} ({self.scanner}, {self.status})"

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def fixable(self) -> int:
        return sum(self.fixable_counts.values())

    @property
    def found_nothing(self) -> bool:
        """A succeeded built-in scan that recognised no operating system and no package.

        Nothing could be matched against the advisories, so zero findings says nothing
        about the image (a scratch image, a static binary, an unknown package manager):
        pages show "no packages found", never "clean". Only the built-in scanner counts
        packages, so a Trivy or adapter report is never taken for one of these.
        A scan whose packages all lack an ecosystem (an unsupported distribution's OS
        packages, a jar known by file name only) matched nothing either.
        """
        if (
            self.status == self.Status.SUCCEEDED
            and self.scanner == self.Scanner.BUILTIN
            and self.packages
            and self.ecosystems
            and set(self.ecosystems) == {UNMATCHED}
        ):
            return True
        return (
            self.status == self.Status.SUCCEEDED
            and self.scanner == self.Scanner.BUILTIN
            and self.packages == 0
            and not self.distro
            and self.total == 0
        )

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class FindingQuerySet(models.QuerySet["Finding"]):
    def named(self, identifiers: Iterable[str]) -> FindingQuerySet:
        """Findings whose id, an alias or an upstream id is one of `identifiers`
        (exactly, ignoring case), found through the `findingidentifier_value` index."""
        values = sorted({name for name in map(normalize, identifiers) if name})
        return self.filter(pk__in=FindingIdentifier.objects.filter(value__in=values).values("finding_id"))

    def matching_id(self, text: str) -> FindingQuerySet:
        """The "vulnerability id" filter of pages and API: part of the finding's own id
        (ignoring case), or exactly any of its names (`named`), so `CVE-2024-1234`
        also finds the `DEBIAN-CVE-2024-1234` and `GHSA-…` findings that name it."""
        text = text.strip()
        if not normalize(text):
            return self
        exact = FindingIdentifier.objects.filter(value=normalize(text)).values("finding_id")
        return self.filter(Q(vulnerability_id__icontains=text) | Q(pk__in=exact))


class Finding(models.Model):
    """One vulnerability in one installed package, as a report found it.

    `allowlisted` is decided when the report is written (system-wide and project
    allowlist entries not expired then); such findings stay listed but are not
    counted. Every name of the finding (id, aliases, upstream ids) also has a
    `FindingIdentifier` row: write findings with
    `repositories.services.scanning.store_findings`, which adds them.
    """

    report = models.ForeignKey(ScanReport, on_delete=models.CASCADE, related_name="findings")
    vulnerability_id = models.CharField(max_length=255)
    aliases = models.JSONField(default=list, blank=True)
    upstream = models.JSONField(
        default=list, blank=True, help_text=_("The advisory's `upstream` ids, e.g. the CVE a Debian record is about.")
    )
    ecosystem = models.CharField(max_length=100, blank=True)
    package = models.CharField(max_length=255)
    package_kind = models.CharField(max_length=16, blank=True, help_text=_("purl type: deb, apk, pypi, npm…"))
    installed_version = models.CharField(max_length=255, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    source_version = models.CharField(max_length=255, blank=True)
    fixed_version = models.CharField(max_length=255, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.UNKNOWN)
    cvss_score = models.FloatField(null=True, blank=True)
    cvss_vector = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255, blank=True)
    links = models.JSONField(default=list, blank=True)
    layer_digest = models.CharField(max_length=100, blank=True)
    path = models.CharField(max_length=1024, blank=True)
    allowlisted = models.BooleanField(default=False)

    objects = FindingQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["report", "severity"], name="finding_report_severity"),
            models.Index(fields=["vulnerability_id"], name="finding_vulnerability"),
        ]

    def __str__(self) -> str:
        return f"{self.vulnerability_id} in {self.package} {self.installed_version}"

    @property
    def fixable(self) -> bool:
        return bool(self.fixed_version)

    @property
    def names(self) -> list[str]:
        """Every name of this finding, normalised (`repositories.vulns.identifiers`):
        what its `FindingIdentifier` rows hold."""
        return names_of(self.vulnerability_id, _strings(self.aliases), _strings(self.upstream))


def _strings(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class FindingIdentifier(models.Model):
    """One name of a finding (its id, an alias or an upstream id), normalised
    (`repositories.vulns.identifiers.normalize`: trimmed and upper-cased).

    JSON containment answers "which findings name CVE-X" on PostgreSQL only, and
    without an index; this table answers it on every database through one b-tree
    lookup, for allowlists (exact ids) and the id filters alike. Rows are written
    with their finding and go with it.
    """

    # No index of its own: the unique constraint's index starts with `finding`.
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="identifiers", db_index=False)
    value = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["finding", "value"], name="findingidentifier_unique"),
        ]
        indexes = [models.Index(fields=["value", "finding"], name="findingidentifier_value")]

    def __str__(self) -> str:
        return f"{self.value} ({self.finding_id})"


class AllowlistEntryQuerySet(models.QuerySet["AllowlistEntry"]):
    def active_for(self, project: Project | None, at: Any = None) -> AllowlistEntryQuerySet:
        """System-wide entries plus `project`'s, not expired at `at` (default now)."""
        at = at or timezone.now()
        scope = (
            Q(project__isnull=True) | Q(project=project) if project is not None else Q(project__isnull=True)
        )
        return self.filter(scope).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))


class AllowlistEntry(models.Model):
    """A vulnerability id a team has accepted: system-wide (`project` empty) or for one
    project, optionally until `expires_at`. Matches a finding's id or any alias."""

    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="allowlist_entries"
    )
    vulnerability_id = models.CharField(max_length=255)
    reason = models.TextField(max_length=2000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AllowlistEntryQuerySet.as_manager()

    class Meta:
        ordering = ["vulnerability_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "vulnerability_id"],
                name="allowlist_unique_project_vuln",
                violation_error_message=_("This vulnerability is already on this allowlist."),
            ),
            models.UniqueConstraint(
                fields=["vulnerability_id"],
                condition=Q(project__isnull=True),
                name="allowlist_unique_system_vuln",
                violation_error_message=_("This vulnerability is already on the system allowlist."),
            ),
        ]

    def __str__(self) -> str:
        scope = self.project.name if self.project is not None else "system"
        return f"{self.vulnerability_id} ({scope})"

    def is_active(self, at: Any = None) -> bool:
        return self.expires_at is None or self.expires_at > (at or timezone.now())


class ProjectScanSettings(models.Model):
    """A project's scanning settings, kept apart from `Project` so scanning owns its
    own table. A project without a row has the defaults (no scan on push)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="scan_settings")
    scan_on_push = models.BooleanField(
        default=False, help_text=_("Scan each image with the built-in scanner when it is pushed.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "project scan settings"

    def __str__(self) -> str:
        return f"scan settings of {self.project_id}"

    @classmethod
    def scan_on_push_for(cls, project_id: int) -> bool:
        return cls.objects.filter(project_id=project_id, scan_on_push=True).exists()


class ScannerAdapter(models.Model):
    """A Harbor Pluggable Scanner API adapter (Trivy's, Clair's, ...) that system admins
    registered, with the metadata it reported when registered or last refreshed.

    `auth_header` is a secret: the `Authorization` value the adapter expects from its
    caller, stored as given because it has to be sent as is. It is never shown again
    after creation (the API and pages only say whether there is one: `has_auth`).
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text=_("The adapter's base URL, e.g. `http://trivy-adapter:8080`."))
    auth_header = models.CharField(
        max_length=1000, blank=True, help_text=_("Secret: the Authorization header value the adapter expects.")
    )
    enabled = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True, help_text=_("What `GET /api/v1/metadata` answered."))
    metadata_fetched_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                name="scanner_adapter_unique_name",
                violation_error_message=_("A scanner adapter with this name exists already."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the auth header
        return f"<ScannerAdapter {self.name!r} {self.url!r}>"

    @property
    def has_auth(self) -> bool:
        return bool(self.auth_header)

    @property
    def scanner(self) -> dict[str, Any]:
        """The `scanner` part of the metadata (`name`, `vendor`, `version`)."""
        scanner = self.metadata.get("scanner") if isinstance(self.metadata, dict) else None
        return scanner if isinstance(scanner, dict) else {}
