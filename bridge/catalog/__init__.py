"""Backstage catalog files: parsing, validation, linting and reporting."""
