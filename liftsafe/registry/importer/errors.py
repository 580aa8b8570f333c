"""Errors raised by the importer."""
from __future__ import annotations


class ImportFileError(ValueError):
    """The file cannot be imported at all (wrong type, encoding, size, missing columns, zip bomb).

    Raised before anything is written; the message names the problem
    (e.g. ``missing required columns: BIN, Borough``).
    """


class MappingError(ValueError):
    """A mapping TOML file is invalid (unknown field, transform or option); names the key."""
