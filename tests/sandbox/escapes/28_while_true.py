# CPU hog: while True
# layer: os (resource exhaustion: the kernel layers and limits stop it, not the language layer)
# expect-error: Timeout
while True:
    pass
