"""The sync tests' registry fixture, `wharf_registry`, lives in tests/conftest.py
(the API tests use it too)."""
