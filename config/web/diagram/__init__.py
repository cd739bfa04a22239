"""The flow diagram: Graphviz dot lays it out, our SVG draws it, the menus report adds traffic.

- ``layout``: dot run bounded in time; node positions, edge routes and label centres.
- ``svg``: the diagram in our own look over that layout.
- ``traffic``: the funnel overlay (edge widths, node colours) for the menus report.
"""
