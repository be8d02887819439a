"""Logging in through a directory (LDAP) beside local accounts.

`settings.py` reads the `WHARF_LDAP_*` variables through `ldap_settings`; when
`WHARF_LDAP_SERVER_URI` is set, `DirectoryBackend` (django-auth-ldap) comes before
`LocalBackend` in `AUTHENTICATION_BACKENDS`. Directory accounts are created at their
first login (`User.source = ldap`), their name and e-mail follow the directory at every
login, and the directory groups named by `WHARF_LDAP_MIRROR_GROUPS` become teams whose
members follow the directory at every login or registry token request
(`accounts.services.teams.sync_directory_teams`). A directory account has no local
password; a local account is never looked up in the directory, so a break-glass admin
keeps working when the directory does not."""
