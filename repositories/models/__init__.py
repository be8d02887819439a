"""Models of the registry's content domain. Projects are the namespaces of repositories."""

from __future__ import annotations

from .gate import GatePolicy, QuotaReservation
from .gc import GcRun, GcSchedule
from .labels import ArtifactLabel, Label, LabelQuerySet
from .projects import Membership, Project, ProjectQuerySet, ProjectTeam
from .registry import (
    Artifact,
    ArtifactBlob,
    PushedAtSource,
    RegistryEvent,
    Repository,
    RepositoryQuerySet,
    SyncRun,
    Tag,
)
from .retention import (
    DefaultRetentionPolicy,
    ImmutableRule,
    RecycleBinEntry,
    RetentionDefaultOptOut,
    RetentionPolicy,
    RetentionRule,
    RetentionRun,
    RetentionRunItem,
    RuleTemplate,
    TagProtectionSettings,
)
from .scanning import (
    Advisory,
    AdvisoryPackage,
    AllowlistEntry,
    Finding,
    FindingIdentifier,
    FindingQuerySet,
    OsvImport,
    ProjectScanSettings,
    ScannerAdapter,
    ScanReport,
    Severity,
)
from .signatures import ArtifactSignature, SignatureReason, SignatureStatus, TrustedKey
from .stats import ProjectDailyStats

__all__ = [
    "Advisory",
    "AdvisoryPackage",
    "AllowlistEntry",
    "Artifact",
    "ArtifactBlob",
    "ArtifactLabel",
    "ArtifactSignature",
    "DefaultRetentionPolicy",
    "Finding",
    "FindingIdentifier",
    "FindingQuerySet",
    "GatePolicy",
    "GcRun",
    "GcSchedule",
    "ImmutableRule",
    "Label",
    "LabelQuerySet",
    "Membership",
    "OsvImport",
    "Project",
    "ProjectDailyStats",
    "ProjectQuerySet",
    "ProjectScanSettings",
    "ProjectTeam",
    "PushedAtSource",
    "QuotaReservation",
    "RecycleBinEntry",
    "RegistryEvent",
    "Repository",
    "RepositoryQuerySet",
    "RetentionDefaultOptOut",
    "RetentionPolicy",
    "RetentionRule",
    "RetentionRun",
    "RetentionRunItem",
    "RuleTemplate",
    "ScanReport",
    "ScannerAdapter",
    "Severity",
    "SignatureReason",
    "SignatureStatus",
    "SyncRun",
    "Tag",
    "TagProtectionSettings",
    "TrustedKey",
]
