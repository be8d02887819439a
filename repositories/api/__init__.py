"""REST API of projects and their members (mounted by `portal.api.urls`)."""
