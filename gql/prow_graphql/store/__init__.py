"""Where ProwJobs live: the store protocol and its backends (Kubernetes API, memory)."""
