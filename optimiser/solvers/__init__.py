"""Solver routes: each translates a Formulation and reports one SolveResult."""

from .result import SolveResult, Status

__all__ = ["SolveResult", "Status"]
