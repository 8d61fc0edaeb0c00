"""The ``boxoffice`` command line: headless, it reaches the app only through ``launch``."""
