"""Serializers of the scanning endpoints: reports, findings, allowlist entries, OSV
imports, the database status, scan settings and the artifact comparison.

Output only, except the allowlist and scan-settings request bodies. Stored JSON
(counts, notes, links) is read defensively: a row written by an older scanner with
a different shape must not crash a response.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import AllowlistEntry, Finding, OsvImport, ScanReport
from ..models.scanning import Severity

VULNERABILITY_ID_MAX = 255


class SeverityCountsSerializer(serializers.Serializer[dict[str, int]]):
    """`{band: n}` for every severity band."""

    critical = serializers.IntegerField()
    high = serializers.IntegerField()
    medium = serializers.IntegerField()
    low = serializers.IntegerField()
    unknown = serializers.IntegerField()


def _counts(value: Any) -> dict[str, int]:
    value = value if isinstance(value, dict) else {}
    return {band: int(value.get(band, 0) or 0) for band in Severity.values}


class ScanReportSerializer(serializers.ModelSerializer[ScanReport]):
    """A report with its counts; the list and detail share it (counts are columns)."""

    artifact = serializers.CharField(source="artifact.digest", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None)
    counts = serializers.SerializerMethodField()
    fixable_counts = serializers.SerializerMethodField()
    total = serializers.SerializerMethodField()
    fixable = serializers.SerializerMethodField()
    duration = serializers.FloatField(read_only=True, allow_null=True)
    notes = serializers.SerializerMethodField()
    has_sbom = serializers.SerializerMethodField()
    found_nothing = serializers.BooleanField(
        read_only=True,
        help_text=gettext_lazy("A succeeded built-in scan that recognised no operating system and no package: "
        "zero findings here means nothing could be checked, not that the image is clean."),
    )
    children = serializers.SerializerMethodField()

    class Meta:
        model = ScanReport
        fields = [
            "id",
            "artifact",
            "parent",
            "scanner",
            "status",
            "trigger",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration",
            "database_version",
            "scanner_version",
            "distro",
            "packages",
            "ecosystems",
            "counts",
            "fixable_counts",
            "total",
            "fixable",
            "allowlisted",
            "worst_severity",
            "found_nothing",
            "error",
            "notes",
            "has_sbom",
            "children",
        ]
        read_only_fields = fields

    @extend_schema_field(SeverityCountsSerializer)
    def get_counts(self, report: ScanReport) -> dict[str, int]:
        return _counts(report.counts)

    @extend_schema_field(SeverityCountsSerializer)
    def get_fixable_counts(self, report: ScanReport) -> dict[str, int]:
        return _counts(report.fixable_counts)

    def get_total(self, report: ScanReport) -> int:
        return sum(_counts(report.counts).values())

    def get_fixable(self, report: ScanReport) -> int:
        return sum(_counts(report.fixable_counts).values())

    def get_notes(self, report: ScanReport) -> list[str]:
        return [str(note) for note in report.notes] if isinstance(report.notes, list) else []

    def get_has_sbom(self, report: ScanReport) -> bool:
        # `sbom` is deferred in lists; the view annotates whether it is there.
        has = getattr(report, "has_sbom", None)
        return bool(has) if has is not None else report.sbom is not None

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_children(self, report: ScanReport) -> list[dict[str, Any]]:
        """Per-platform reports of an index's summary report: id, digest, platform, status."""
        children = getattr(report, "platform_reports", None)
        if children is None:
            return []
        return [
            {
                "id": child.pk,
                "artifact": child.artifact.digest,
                "platform": child.artifact.platform,
                "status": child.status,
                "worst_severity": child.worst_severity,
            }
            for child in children
        ]


class FindingSerializer(serializers.ModelSerializer[Finding]):
    """One vulnerability in one package; `report` is the platform report for an index."""

    fixable = serializers.BooleanField(read_only=True)
    links = serializers.SerializerMethodField()
    aliases = serializers.SerializerMethodField()
    upstream = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "id",
            "report",
            "vulnerability_id",
            "aliases",
            "upstream",
            "severity",
            "cvss_score",
            "cvss_vector",
            "title",
            "ecosystem",
            "package",
            "package_kind",
            "installed_version",
            "source_name",
            "source_version",
            "fixed_version",
            "fixable",
            "links",
            "layer_digest",
            "path",
            "allowlisted",
        ]
        read_only_fields = fields

    def get_links(self, finding: Finding) -> list[str]:
        return [str(link) for link in finding.links] if isinstance(finding.links, list) else []

    def get_aliases(self, finding: Finding) -> list[str]:
        return [str(alias) for alias in finding.aliases] if isinstance(finding.aliases, list) else []

    def get_upstream(self, finding: Finding) -> list[str]:
        """The ids the finding's advisory was derived from (Debian's: the CVE it is about)."""
        return [str(each) for each in finding.upstream] if isinstance(finding.upstream, list) else []


class AllowlistEntrySerializer(serializers.ModelSerializer[AllowlistEntry]):
    """An allowlist entry as read back; `project` is empty for system-wide entries."""

    project = serializers.CharField(source="project.name", read_only=True, default=None)
    author = serializers.CharField(source="author.username", read_only=True, default=None)
    active = serializers.SerializerMethodField()

    class Meta:
        model = AllowlistEntry
        fields = ["id", "project", "vulnerability_id", "reason", "author", "expires_at", "created_at", "active"]
        read_only_fields = fields

    def get_active(self, entry: AllowlistEntry) -> bool:
        return entry.is_active()


class AllowlistEntryCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """A new entry: the vulnerability id (or alias) to accept, why, and until when."""

    vulnerability_id = serializers.CharField(max_length=VULNERABILITY_ID_MAX)
    reason = serializers.CharField(max_length=2000)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class AllowlistEntryUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    """A change to an entry: its reason and expiry (the id is the entry's identity)."""

    reason = serializers.CharField(max_length=2000, required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class OsvImportSerializer(serializers.ModelSerializer[OsvImport]):
    """One run of `import_osv`."""

    class Meta:
        model = OsvImport
        fields = [
            "id",
            "source",
            "status",
            "started_at",
            "finished_at",
            "seen",
            "created",
            "updated",
            "unchanged",
            "withdrawn",
            "invalid",
            "errors",
            "ecosystems",
            "database_version",
            "message",
            "requested_by",
        ]
        read_only_fields = fields


class VulnerabilityDatabaseSerializer(serializers.Serializer[dict[str, Any]]):
    """How current the advisory database is."""

    advisories = serializers.IntegerField(help_text=gettext_lazy("Advisories stored (withdrawn ones included)."))
    database_version = serializers.CharField(help_text=gettext_lazy("Newest `modified` of all advisories; empty when none."))
    last_import_at = serializers.DateTimeField(allow_null=True, help_text=gettext_lazy("When the latest good import finished."))
    last_import_source = serializers.CharField(allow_null=True)
    age_seconds = serializers.FloatField(allow_null=True, help_text=gettext_lazy("Seconds since the latest good import."))


class ScanSettingsSerializer(serializers.Serializer[dict[str, Any]]):
    """A project's scanning settings."""

    scan_on_push = serializers.BooleanField()


class CompareVulnerabilitySerializer(serializers.Serializer[dict[str, Any]]):
    vulnerability_id = serializers.CharField()
    package = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    cvss_score = serializers.FloatField(allow_null=True)
    from_version = serializers.CharField(allow_null=True, help_text=gettext_lazy("Installed version in `from`."))
    to_version = serializers.CharField(allow_null=True, help_text=gettext_lazy("Installed version in `to`."))
    fixed_version = serializers.CharField()
    allowlisted = serializers.BooleanField()


class ComparePackageSerializer(serializers.Serializer[dict[str, Any]]):
    package = serializers.CharField(help_text=gettext_lazy("The package URL without version and qualifiers, or the name."))
    name = serializers.CharField()
    from_version = serializers.CharField(allow_null=True)
    to_version = serializers.CharField(allow_null=True)


class CompareSideSerializer(serializers.Serializer[dict[str, Any]]):
    reference = serializers.CharField(help_text=gettext_lazy("The tag or digest asked for."))
    digest = serializers.CharField()
    report = serializers.IntegerField(help_text=gettext_lazy("The built-in report compared."))


class CompareSerializer(serializers.Serializer[dict[str, Any]]):
    """What changed between two artifacts' latest successful built-in scans."""

    from_ = CompareSideSerializer()
    to = CompareSideSerializer()
    vulnerabilities_fixed = CompareVulnerabilitySerializer(many=True)
    vulnerabilities_introduced = CompareVulnerabilitySerializer(many=True)
    vulnerabilities_unchanged = CompareVulnerabilitySerializer(many=True)
    packages_added = ComparePackageSerializer(many=True)
    packages_removed = ComparePackageSerializer(many=True)
    packages_upgraded = ComparePackageSerializer(many=True, help_text=gettext_lazy("In both, at another version."))

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        # `from` is a Python keyword: declared as `from_`, serialized as `from`.
        fields["from"] = fields.pop("from_")
        return fields
