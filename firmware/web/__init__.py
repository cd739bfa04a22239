"""The runtime's side of the web service: the ApplianceLink and the server.

- ``link``: ``RuntimeLink``: the web service's ``ApplianceLink`` over a running ``Appliance``.
- ``live``: The live view of a running appliance for the web: calls, queues, agents and ports.
- ``logs``: The last lines of the appliance's log, kept in memory for the web page's log download.
- ``prompts``: Prompt audio from the web: list, play back, upload a recording, synthesise a
  placeholder.
- ``reports``: Reports for the web service, read from the records database (never from the media
  loop).
- ``serve``: Serve the web service from the running appliance: uvicorn on a thread of its own.
"""

