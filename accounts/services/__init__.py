"""Service functions for users and API tokens; each writes its audit event."""
