"""Branchline hw."""
