# (e) rc dicts passed positionally (rc_context({...}), sns.set_theme's 7th argument) carry the backend key
# expect-error: PolicyViolation
import matplotlib
with matplotlib.rc_context({"backend": "module://this"}):
    import matplotlib.pyplot as plt
    plt.figure()
