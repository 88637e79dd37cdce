"""Exports: a database's profiles or a collection's subprofiles as a streamed file (``files``), downloaded,
uploaded on a schedule to an (S)FTP or HTTP target (``targets``), or written to a file by a worker for a later
download (``downloads``).

``files`` also holds the one CSV cell writer of the product (formula neutralising), which every other CSV
writer uses. May import ``webapp.platform`` and ``webapp.profiles``.
"""
