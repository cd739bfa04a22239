"""The branch's side of the fleet: shipping records to the centre (docs/fleet.md).

- ``outbox``: the rows of records.db past the centre's marks, as the JSON ``ship`` reads.
- ``shipper``: the thread that ships them, retries, and measures the lag.
- ``settings``: how this branch reaches the centre (``DATA/fleet/``), TLS and its login.
- ``templates``: the centre's configuration templates, composed, checked and published here.
"""

from branchline.firmware.fleet.settings import FleetSettings, FleetSettingsError
from branchline.firmware.fleet.shipper import Shipper, ShipperStatus
from branchline.firmware.fleet.templates import TemplatePuller

__all__ = ["FleetSettings", "FleetSettingsError", "Shipper", "ShipperStatus", "TemplatePuller",
           "open_shipper"]


def open_shipper(data, wall) -> Shipper | None:
    """The shipper of a branch that has a centre (``DATA/fleet/centre.json``), else None;
    it also pulls the branch's configuration templates."""
    settings = FleetSettings.load(data)
    if settings is None:
        return None
    return Shipper(data.records_db, settings.conninfo(), wall=wall,
                   puller=TemplatePuller(data, wall=wall))
