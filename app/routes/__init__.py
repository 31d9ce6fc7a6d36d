"""Our own small routers; the OGC Features routes come from tipg."""
