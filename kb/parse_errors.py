"""The one error every runbook reader raises: a message and the 1-based line it is about."""


class RunbookParseError(ValueError):
    """Input that cannot become a runbook. ``line`` is 1-based."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"
