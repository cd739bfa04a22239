"""The `branchline` command and its sub-commands.

- ``call``: ``branchline call``: dial into the appliance from the terminal, as a caller would.
- ``config``: `branchline config ...`: check, publish, roll back and show the configuration
  document.
- ``main``: The `branchline` command: run, simulate, selftest, probe, selfcheck, config, call.
- ``selfcheck``: DSP self-check: generate a DTMF sequence on every channel of a block and detect it
  back.
- ``simulate``: ``branchline simulate``: the whole appliance on a virtual clock, as fast as the
  machine goes.
"""

from branchline.firmware.cli.main import (
    PortCheck,
    add_call_command,
    add_config_commands,
    build_parser,
    main,
    run_selftest,
)

__all__ = [
    "PortCheck",
    "add_call_command",
    "add_config_commands",
    "build_parser",
    "main",
    "run_selftest",
]
