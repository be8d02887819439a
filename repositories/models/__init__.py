"""Models of the registry's content domain. Projects are the namespaces of repositories."""

from __future__ import annotations

from .gc import GcRun
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
    ImmutableRule,
    RecycleBinEntry,
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

__all__ = [
    "Advisory",
    "AdvisoryPackage",
    "AllowlistEntry",
    "Artifact",
    "ArtifactBlob",
    "Finding",
    "FindingIdentifier",
    "FindingQuerySet",
    "GcRun",
    "ImmutableRule",
    "Membership",
    "OsvImport",
    "Project",
    "ProjectQuerySet",
    "ProjectScanSettings",
    "ProjectTeam",
    "PushedAtSource",
    "RecycleBinEntry",
    "RegistryEvent",
    "Repository",
    "RepositoryQuerySet",
    "RetentionPolicy",
    "RetentionRule",
    "RetentionRun",
    "RetentionRunItem",
    "RuleTemplate",
    "ScanReport",
    "ScannerAdapter",
    "Severity",
    "SyncRun",
    "Tag",
    "TagProtectionSettings",
]
