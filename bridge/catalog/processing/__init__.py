"""A whole catalog as Backstage ingests it: Locations followed from one root file, each entity
validated, catalog rules applied, conflicts and dropped entities found, then the lints Backstage
does not do (dangling references, orphan files, references differing only in case).

:func:`~bridge.catalog.processing.engine.process_catalog` is the entry point; reporters live in
:mod:`~bridge.catalog.processing.output`.
"""
