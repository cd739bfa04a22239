"""Branchline firmware."""
