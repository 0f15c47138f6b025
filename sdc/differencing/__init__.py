"""Differencing: disclosure by combining outputs, within a session, a request and across releases.

Each output is safe alone, yet two of them (or an output and an earlier release)
may differ by a handful of people: all patients and all patients except those
over 90; age bands 0-9/10-19 and 0-4/5-14; a region table and a practice table of
the same records. The stage works in four steps:

- :mod:`~sdc.differencing.population`: which records each output covers (row
  labels, or a filter expression the gate can apply again);
- :mod:`~sdc.differencing.cells`: each output's published numbers as sums over its
  leaves (cells, bins, steps, design patterns);
- :mod:`~sdc.differencing.atoms`: the finest partition of records all outputs
  induce, by the combined-codes kernel;
- :mod:`~sdc.differencing.detect`: exact Gaussian elimination over the released
  rows finds every small group (1 to t-1 records) whose count or sum follows from
  them, with the combination that gives it; rounded outputs give intervals, and
  HiGHS LPs bound the rest on request. :mod:`~sdc.differencing.suggest` says which
  cells to suppress together.

Entry points: ``Session.check_differencing`` (run by ``finalise`` too), and for the
gate :func:`~sdc.differencing.request.check_request` (a request's own outputs, from
their definitions and evidence or from the data) and the registry check in
:mod:`sdc.release.combined`.
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "DifferencingResult": "sdc.differencing.result",
        "Finding": "sdc.differencing.result",
        "Tracker": "sdc.differencing.tracker",
        "dataset_key": "sdc.differencing.population",
        "evaluate": "sdc.differencing.population",
        "population_entry": "sdc.differencing.population",
    },
)

if TYPE_CHECKING:
    from sdc.differencing.population import dataset_key, evaluate, population_entry
    from sdc.differencing.result import DifferencingResult, Finding
    from sdc.differencing.tracker import Tracker
