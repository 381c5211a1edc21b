"""Events to counts: the ledger, metric and mapping state, exemplars, recent record."""
