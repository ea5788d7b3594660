"""The datasets layer: sets of objects (listings, globs, prefixes), filters, Hive partitions, sampling, the set
loader, previews and the panel's browsing."""
