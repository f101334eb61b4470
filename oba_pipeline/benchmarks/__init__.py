"""Benchmarks from the published national statistics: DfE and ONS files, statistical neighbours, comparators.

The pipeline takes Explore Education Statistics files exactly as downloaded, recognises each by its
columns (`recognise`), reads it into one long table of published figures (`parse`, `spend`,
`neighbours`), re-derives what DfE derives and checks it (`rates`), and sets every authority's figures
beside England, its region and its statistical neighbours (`comparators`).
"""
