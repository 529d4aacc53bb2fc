# disk fill inside the workdir
# layer: os (resource exhaustion: the kernel layers and limits stop it, not the language layer)
# expect-error: OSError, DiskQuotaExceeded
block = "x" * (8 * 1024 * 1024)
i = 0
while True:
    with open(f"fill_{i}.txt", "w") as f:
        for _ in range(64):
            f.write(block)
    i += 1
