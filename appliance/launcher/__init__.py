"""The one launcher: knows how to start, wait for and stop every local service of the appliance.

`make run` uses `python -m appliance.launcher run`; the pytest fixtures use the same classes.
Nothing in this package imports Django at module level.
"""
