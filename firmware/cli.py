"""The `branchline` command."""

import argparse
import sys

import branchline


def _selfcheck(args):
    from branchline.firmware.selfcheck import run_selfcheck

    result = run_selfcheck(channels=args.channels)
    print(f"branchline {branchline.__version__}")
    print(f"compiled DSP kernels: {', '.join(result.kernels)}")
    print(f"DSP self-check on {result.channels} channels: sent {result.sent}")
    for channel, heard in enumerate(result.heard):
        mark = "ok" if heard == result.sent else "FAIL"
        print(f"  channel {channel}: heard {heard or '(nothing)'}  {mark}")
    print("self-check passed" if result.ok else "self-check FAILED")
    return 0 if result.ok else 1


def build_parser():
    parser = argparse.ArgumentParser(prog="branchline", description=__doc__)
    parser.add_argument("--version", action="version", version=branchline.__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("selfcheck", help="DSP self-check: generate DTMF, detect it back")
    check.add_argument("--channels", type=int, default=4)
    check.set_defaults(func=_selfcheck)
    run = commands.add_parser("run", help="start the appliance")
    run.add_argument("--channels", type=int, default=4)
    run.set_defaults(func=_selfcheck)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
