"""The transfer layer: fetching one object's bytes (one stream, parallel parts, resume), the buffers they are
held in, stored checksums, the memory guard, progress and cancel."""
