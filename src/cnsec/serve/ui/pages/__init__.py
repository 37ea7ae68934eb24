"""The dashboard's pages: each module is a part of the app (``router``, ``mount``), found by discovery."""
