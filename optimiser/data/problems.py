"""Input problems: what is wrong with a snapshot, where, and how to fix it.

Loading never stops at the first problem: every check appends to a
:class:`ProblemList`, and :class:`InputError` carries them all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a snapshot.

    ``line`` is the 1-based line of the file (the header is line 1), or None
    when the problem is about the whole file. ``column`` is the column (or
    TOML key) at fault, or None.
    """

    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.column is not None:
            label = "key" if self.file.endswith(".toml") else "column"
            where += f", {label} {self.column}"
        shown = "" if self.value is None else f" = {_show(self.value)}"
        return f"{where}{shown}: {self.message}"


def _show(value: str) -> str:
    value = str(value)
    if len(value) > 40:
        value = value[:37] + "..."
    return repr(value)


class ProblemList(list):
    """A list of :class:`Problem` with a helper to add one."""

    def add(self, file: str, line: int | None, column: str | None, value, message: str) -> None:
        self.append(Problem(file, line, column, None if value is None else str(value), message))


class InputError(Exception):
    """Bad input (a snapshot that breaks the contract, a plan folder, a what-if change);
    ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem], subject: str = "snapshot"):
        self.problems = list(problems)
        self.subject = subject  # what has the problems: "snapshot", "flow file", ...
        super().__init__(self.report())

    def report(self, limit: int | None = None) -> str:
        shown = self.problems if limit is None else self.problems[:limit]
        noun = "problem" if len(self.problems) == 1 else "problems"
        lines = [f"The {self.subject} has {len(self.problems)} {noun}; nothing was written."]
        lines += [f"  {problem}" for problem in shown]
        if len(shown) < len(self.problems):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more")
        return "\n".join(lines)


SnapshotError = InputError  # the name from before InputError covered every input; the same class
