"""Screens of the box-office app: forms, questions, help (and the racers panel)."""
