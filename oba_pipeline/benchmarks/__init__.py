"""Benchmarks from the published national statistics: DfE and ONS files, statistical neighbours, comparators.

The pipeline takes Explore Education Statistics files exactly as downloaded, reads them (`read`),
recognises each by its columns (`recognise`, `formats`), turns it into one long table of published
figures (`parse`, `spend`, `neighbours`, with `geography` and `symbols`), computes each published
measure as DfE computes it and checks it (`measures`), and sets every authority's figures beside
England, its region and its statistical neighbours (`comparators`). `load` does a whole folder;
`home` says which authority is the partnership's.
"""
