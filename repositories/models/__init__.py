"""Models of the registry's content domain. Projects are the namespaces of repositories."""

from __future__ import annotations

from .projects import Membership, Project, ProjectQuerySet
from .registry import Artifact, RegistryEvent, Repository, RepositoryQuerySet, SyncRun, Tag

__all__ = [
    "Artifact",
    "Membership",
    "Project",
    "ProjectQuerySet",
    "RegistryEvent",
    "Repository",
    "RepositoryQuerySet",
    "SyncRun",
    "Tag",
]
