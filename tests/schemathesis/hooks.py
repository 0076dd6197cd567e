"""Loaded by schemathesis before a run (see schemathesis.toml)."""

from hypothesis.internal import lambda_sources

_describe = lambda_sources._lambda_description


def _describe_or_give_up(f):
    # Hypothesis names a filter's lambda by parsing the file it is in. On
    # CPython 3.11.7 that parse can fail deep in a stack with "SystemError:
    # AST constructor recursion depth mismatch" (a CPython bug, fixed in
    # later releases), which schemathesis reports as an error of the run.
    # The name only labels the strategy, so go without it.
    try:
        return _describe(f)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _describe_or_give_up
