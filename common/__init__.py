"""Shared plumbing of every layer: one-line user errors, the flags generated from a config, run folders."""
