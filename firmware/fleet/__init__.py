"""The branch's side of the fleet: shipping records to the centre (docs/fleet.md).

- ``outbox``: the rows of records.db past the centre's marks, as the JSON ``ship`` reads.
- ``shipper``: the thread that ships them, retries, and measures the lag.
"""

from branchline.firmware.fleet.shipper import Shipper, ShipperStatus

__all__ = ["Shipper", "ShipperStatus"]
