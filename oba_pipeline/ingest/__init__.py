"""Reading local extracts into the warehouse: readers and pseudonymisation."""
