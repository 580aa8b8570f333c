"""Generic registry importer: CSV / CSV.GZ / XLSX files driven by a declarative TOML mapping.

Public interface (other modules code against exactly this)::

    from liftsafe.registry.importer import run_import, ImportFileError
    run = run_import(path, "nyc-dob", user=None, dry_run=False, progress=False)  # -> ImportRun

``mapping`` names ``liftsafe/registry/mappings/<name>.toml`` or is the path
of a mapping file (``./my-source.toml``). Everything
source-specific (columns, null tokens, value maps, unit conversions, date
formats, organisation aliases, areas, lifecycle events) lives in that file;
the engine in :mod:`.engine` is generic. A malformed file raises
:class:`ImportFileError` before anything is written.
"""
from .errors import ImportFileError, MappingError
from .engine import REPORT_KEYS, report_rows, run_import
from .mapping import available_mappings, load_mapping

__all__ = ["run_import", "report_rows", "REPORT_KEYS", "ImportFileError", "MappingError", "load_mapping", "available_mappings"]
