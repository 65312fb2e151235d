"""Cost per agent: the ledger, the session hooks feeding it, the summary event and reports."""
