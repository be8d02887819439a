"""REST API of the audit log: per project and system-wide, one shared base."""
