"""The gate in the data path: what Wharf answers when a client asks for a manifest.

Clients reach the registry through nginx (`nginx.py` writes its config). Blobs and
everything else stream straight to the registry; manifest requests go past Wharf:

- `GET`/`HEAD /v2/<name>/manifests/<reference>`: nginx asks Wharf (`auth_request`,
  `/service/gate/pull`) whether the pull may proceed. The answer is read from indexed
  rows only (policy, tag or artifact, signature verdict, latest scan), never from the
  registry.
- `PUT /v2/<name>/manifests/<reference>`: nginx hands the request to Wharf
  (`/service/gate/push/...`), which reads the manifest (at most 4 MiB), refuses it
  when it would overwrite an immutable tag or go over the project's quota, and
  otherwise forwards it to the registry and relays the answer.

`policy.py` holds the decisions as pure functions of plain facts (this package imports
no models); `repositories.services.gate` reads the facts and records refusals.
"""
