"""Selections: named rule trees over a database's profiles (or a collection's subprofiles), whose members are
computed by SQL whenever they are counted, listed, exported or sent to; the standard selections of a database."""
