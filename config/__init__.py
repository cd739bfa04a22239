"""Branchline config."""
