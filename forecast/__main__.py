import sys

from forecast.cli.main import entry

# the ending without the interpreter's teardown only when this is the program (python -m forecast), not when another
# program runs it and goes on after it (runpy.run_module, a profiler)
entry(fast=sys.modules["__main__"].__dict__ is globals())
