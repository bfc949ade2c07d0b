"""Reads of the core app, one module per sub-domain; import from the module that owns the read."""
