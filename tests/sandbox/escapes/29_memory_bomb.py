# memory bomb: grow a list of big strings
# layer: os (resource exhaustion: the kernel layers and limits stop it, not the language layer)
# expect-error: MemoryError
chunks = []
while True:
    chunks.append("x" * (50 * 1024 * 1024))
