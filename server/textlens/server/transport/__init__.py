"""The gRPC transport over the runtime."""
