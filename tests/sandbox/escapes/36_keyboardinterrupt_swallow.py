# swallow every exception (KeyboardInterrupt included) in a busy loop
# layer: os (resource exhaustion: the kernel layers and limits stop it, not the language layer)
# expect-error: Timeout
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
