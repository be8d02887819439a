"""Service functions: the only code that changes projects and memberships.

Each one validates, makes the change and writes its audit event in one
transaction. Views, API endpoints and tasks check permissions through
`repositories.access` and then call these. Invalid input raises Django's
`ValidationError` with field messages, which forms and the API both render.
"""
