"""The gate's entry point: ``sdc.gate.check_folder`` (implemented in :mod:`sdc.release.gate`)."""

from sdc.release.gate import check_folder

__all__ = ["check_folder"]
