"""Prints docs/supported-estimators.md (generated from the converter registry)."""

from . import table

print(table(), end="")
