"""Bytes to events: decoding, classification, reasons, labels, export files."""
