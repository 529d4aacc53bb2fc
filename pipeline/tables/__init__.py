"""Tables in: reading any supported file, joins, samples."""
