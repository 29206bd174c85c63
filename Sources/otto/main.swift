print("otto")
