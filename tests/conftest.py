pytest_plugins = ["voxsim.testing"]
