"""What server and client agree on: errors, results, limits, status codes, trailers.

The bottom layer (docs/architecture.md): it imports nothing of textlens above it, and
only `status` imports grpc, so the runtime and the client's result types load without
grpc, numpy or torch. `textlens.client` re-exports these names for users.
"""
