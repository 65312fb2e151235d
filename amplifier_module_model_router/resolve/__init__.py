"""Preferences in, a concrete provider and model out: globs, versions, catalogs, the chain."""
