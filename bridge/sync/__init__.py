"""Syncing Azure DevOps repositories into repository entities, and writing them out."""
