"""Branchline: an IVR/ACD appliance for bank branches."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("branchline")
except PackageNotFoundError:  # running from a tree that was never installed
    __version__ = "0+unknown"
