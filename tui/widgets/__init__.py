"""Widgets of the box-office app: one job each (house, roster, event log, header)."""
