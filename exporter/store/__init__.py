"""Where counted uuids and counter values are kept: one interface, several backends."""
