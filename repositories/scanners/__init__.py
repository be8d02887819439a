"""Clients of external scanners (no Django imports: plain data in, plain data out)."""
