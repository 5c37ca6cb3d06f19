"""Generating catalog files: templates, inferred values with their provenance, names that are
valid and unique across the estate, the plan of files, its report, and where files are written.

The public API is :func:`plan_generation` (and :func:`generation_plan`, which also says which
repositories were skipped and why), :class:`GeneratedFile` and :class:`Provenance`.
"""

from bridge.generate.infer import Provenance
from bridge.generate.plan import (
    GeneratedFile,
    GenerationPlan,
    Skipped,
    generation_plan,
    plan_generation,
)

__all__ = [
    "GeneratedFile",
    "GenerationPlan",
    "Provenance",
    "Skipped",
    "generation_plan",
    "plan_generation",
]
