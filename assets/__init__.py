"""The sample data files, installed as the package ``core.assets`` (see pyproject.toml).

No code: the package only makes the files reachable with ``importlib.resources``.
"""
