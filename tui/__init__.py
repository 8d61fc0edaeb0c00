"""The box-office terminal app and the ``boxoffice`` command."""
