"""Command line: `python -m dashboards --home DIR --host 127.0.0.1 --port 8050` serves the dashboard."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from dashboards.app import serve
from dashboards.auth import MissingSecretError
from oba_pipeline.config import Home


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description="Serve the OBA dashboard.")
    parser.add_argument("--home", default=None, help="OBA home folder (default: $OBA_HOME or .oba-home)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8050, help="port to listen on (default 8050)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve(Home.from_env(args.home), host=args.host, port=args.port)
    except MissingSecretError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()
