"""The embedded state of nightly runs: an SQLite file of entities, runs and organizations."""
