"""The connectors: SS 12000 organisers (first sync, deltas, deletions, subscriptions) and population
deliveries picked up from a directory, published to the feed topics through the same intake as a
loaded file (sealed per person, validated and dead-lettered by identify)."""
