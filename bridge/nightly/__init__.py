"""The nightly job: what changed since the previous run, last-known-good entities, the
shrink guard, pipeline reports (JUnit, Azure Pipelines annotations) and sharding."""
