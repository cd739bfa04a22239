"""Branchline acd."""
