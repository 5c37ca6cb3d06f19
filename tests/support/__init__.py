"""Helpers shared by the test suite (locating ../shared, installing Node tools, starting
emulators and Snyk Brokers)."""
