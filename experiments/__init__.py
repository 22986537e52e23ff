"""Measurement scripts: each writes one results/ folder and answers one question (results/README.md).

Run from the repository root as modules: python -m experiments.recipe --help
"""
