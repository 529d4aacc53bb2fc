# CPU hog: while True
# expect-error: Timeout
while True:
    pass
