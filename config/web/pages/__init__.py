"""The admin pages: server-rendered HTML over the same objects the API uses.

- ``flow``: What the flow page shows, worked out from the caller's draft: no HTML here.
- ``live``: What the live and report pages show, from the link's snapshot and KPI report. No HTML.
- ``menus``: The menus report page: the funnel on the diagram and as a table, containment,
  reasons for a person, repeat calls, two versions side by side.
- ``queues``: What the queue and agent forms show: the settings of the ACD an admin changes most.
- ``render``: The admin pages: server-rendered HTML (jinja2) over the same objects the API uses.
"""

from branchline.config.web.pages.render import (
    NAV,
    router,
)

__all__ = [
    "NAV",
    "router",
]
