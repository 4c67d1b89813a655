//! Consumers: input partitioned by terminators, the consumer FIFO, and input-side limits.
