"""Branchline dsp."""
