"""catalog-bridge: Backstage catalog files and Azure DevOps estates, kept in step."""

__version__ = "0.1.0"
