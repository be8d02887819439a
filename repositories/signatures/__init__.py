"""Cosign signature verification: a pure engine (`verify`) and PEM key parsing (`keys`).

No Django import here: the service (`repositories.services.signatures`) reads the
signature manifests and blobs and stores the verdicts."""
