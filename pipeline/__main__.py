"""Entry point for `python -m pipeline`.

The process ends with os._exit once everything is written and the output streams are flushed: the interpreter's
own teardown (freeing frames, models and native libraries' thread pools) took about a second after a run, time
that a run's budget, which counts from the process's start, would otherwise have to keep back.
"""

import os
import sys

from pipeline.cli.main import main

code = main()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code or 0)
