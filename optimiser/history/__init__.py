"""The run history: what every allocate, whatif, value and simulate run did, in a database."""

from optimiser.history.store import History, HistoryError, Run, RunRecord, history_url

__all__ = ["History", "HistoryError", "Run", "RunRecord", "history_url"]
