"""textlens on Ray Serve: the textlens.v1 contract served by N replicas (`textlens[ray]`).

Each replica holds the models, our own batcher and the transport-free core
(`textlens.server.transport.core`), so it answers exactly what the standalone
server answers; Ray Serve's gRPC proxy routes calls made with the generated
stubs to the replicas. Importing this package does not import Ray.
"""
