"""Importing the bank's interchange CSV files (docs/interchange-format.md).

``schema`` describes the files, ``validation`` checks them (the same code for
every database, so problems read the same everywhere), ``writers`` stages and
upserts the clean rows. The entry point is ``customers.services.bank_data_import``.
"""
