"""Helpers shared by the test suite (locating ../shared, installing Node tools)."""
