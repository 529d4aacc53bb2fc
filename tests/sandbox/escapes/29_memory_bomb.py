# memory bomb: grow a list of big strings
# expect-error: MemoryError
chunks = []
while True:
    chunks.append("x" * (50 * 1024 * 1024))
