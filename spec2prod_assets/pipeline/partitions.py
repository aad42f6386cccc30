"""One dynamic partition per spec; the key is the component's slug."""

import dagster as dg

specs_partitions = dg.DynamicPartitionsDefinition(name="specs")
