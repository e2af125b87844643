"""The project's exception tree: the CLI turns each into a one-line ``Error: …`` and exit code."""

from __future__ import annotations


class KGError(Exception):
    """Base class of every error the CLI reports as one line (exit code ``exit_code``)."""

    exit_code = 1


class InputError(KGError):
    """A file, folder or argument given by the user cannot be used."""


class NoDocumentsError(InputError):
    """The corpus folder holds no usable document."""


class ValidationError(KGError):
    """The built graph violates the SHACL shapes."""


class QueryError(KGError):
    """A SPARQL query is malformed, unknown, or lacks parameters."""

    exit_code = 2


class EntityNotFoundError(KGError):
    """No entity has the name the user gave; carries the closest names."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f"; closest names: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"no entity named {name}{hint}")
