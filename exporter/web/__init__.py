"""The HTTP edge: app wiring, hooks, pages, access control, listeners, upkeep."""
