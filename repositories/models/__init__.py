"""Models of the registry's content domain. Projects are the namespaces of repositories."""

from __future__ import annotations

from .projects import Membership, Project, ProjectQuerySet

__all__ = ["Membership", "Project", "ProjectQuerySet"]
