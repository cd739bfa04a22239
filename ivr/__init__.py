"""Branchline ivr."""
