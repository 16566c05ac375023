"""Evaluation: classification metrics and significance tests."""
