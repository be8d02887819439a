"""Pure vulnerability-matching engine: version orders, OSV range evaluation, severity.

Nothing in this package imports Django or any other part of Wharf, so it is fast to
test (property tests included) and usable from workers, commands and benchmarks alike.
Layer reading, models, pages and imports sit on top of it:

- `repositories.vulns.versions`: one version order per OSV ecosystem (`scheme_for`).
- `repositories.vulns.osv`: the OSV evaluation algorithm and `match()`.
- `repositories.vulns.severity`: CVSS base scores and bands, distribution urgencies.
- `repositories.vulns.names`: package-name normalisation per ecosystem.
"""
