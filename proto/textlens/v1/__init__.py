"""Generated gRPC stubs of the textlens.v1 contract. Do not edit: run `make proto`."""
