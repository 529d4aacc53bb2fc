# swallow every exception (KeyboardInterrupt included) in a busy loop
# expect-error: Timeout
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
