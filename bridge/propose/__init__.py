"""``catalog-bridge propose``: catalog files (new ones, or safe fixes of existing ones) offered
to each repository as an Azure DevOps pull request, idempotently.

``plan`` says what each repository gets, ``fixes`` computes safe automatic fixes through the
round-trip writer, ``pullrequests`` is the pull request state machine, ``render`` the diffs,
descriptions and outcome lines, and ``command`` the flow the CLI calls.
"""
