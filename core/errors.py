"""The one exception losslens raises for bad input."""


class DataError(ValueError):
    """Input data that losslens cannot use.

    The message always says what was expected, what came, and how to fix it,
    and names the file, row or column when there is one.
    """
