"""The registry token service: Wharf signs the bearer tokens the registry trusts.

- `keys`: the ES256 signing key and its self-signed certificate (and the libtrust `kid`).
- `jwt`: minting a token for a subject and a list of granted accesses.
- `scopes`: parsing the `scope` parameters clients send (hostile input).
- `grants`: what a principal may have of what it asked, from `accounts.permissions`.
- `throttle`: failed Basic logins per account and per address, in the cache.
- `views`: `GET /service/token`.
- `provider`: Wharf's own tokens for its registry client (no HTTP round trip).
"""
