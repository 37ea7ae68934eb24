"""Encrypting files: whole files as sealed streams, and structured files value by value."""
