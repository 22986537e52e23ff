"""Entry-point wrapper: user errors become one line on stderr and exit code 2."""
from __future__ import annotations

import logging
import sys

from engine.errors import UserError


def run_main(main, argv=None) -> None:
    """Call `main(argv)`; print a UserError as `error: ...` and exit 2, never a traceback."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        main(argv)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: the last checkpoint is kept; rerun with --resume to continue", file=sys.stderr)
        sys.exit(130)
