"""The model runtime: loading, batching and task logic. Importable without gRPC."""
