"""Reusable test helpers: the real registry binary as a fixture, tiny images built in Python."""
