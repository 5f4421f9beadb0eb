"""The textlens model server: runtime (no gRPC), transport (gRPC) and training."""
