"""Pure value types shared by every layer: ARNs, clock, ids, errors. No I/O."""
