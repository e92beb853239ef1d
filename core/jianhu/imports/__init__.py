"""Imports of filled-in forms from the files people send (XLSX, CSV)."""
